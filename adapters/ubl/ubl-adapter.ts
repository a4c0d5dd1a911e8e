/**
 * The UBL partner format: a partner's UBL 2.x document → canonical documents, and canonical
 * outbound documents → UBL 2.1, through the mapping files.
 *
 * Reading: the safe XML parse, then the root must be a UBL document in its own namespace (any
 * prefix) with a UBLVersionID of 2.0–2.4 if it gives one; the mapping is chosen by root element,
 * dialect (CustomizationID) and `when`; the result is validated against the canonical schema like
 * any other document. A document in the gateway's own namespace is decoded as the gateway's XML,
 * so a UBL partner may still send the types UBL has no document for.
 *
 * Writing: the outbound mapping of the type, put in schema order and checked against the
 * declared structure; a type without one (or a `needs` not met) has no UBL form and the caller
 * falls back to the gateway's XML.
 */
import type { CanonicalDocument } from '../../gateway/core/document.ts';
import { GatewayError, type ErrorCode, type ErrorDetail } from '../../gateway/core/errors.ts';
import type { SchemaRegistry } from '../../schemas/registry.ts';
import type { CodecLimits } from '../codec/common.ts';
import { failure } from '../codec/common.ts';
import { decodeDocument } from '../codec/index.ts';
import { NAKADACHI_NAMESPACE } from '../codec/xml.ts';
import {
  decodeWithMapping,
  encodeWithMapping,
  getAt,
  mappingApplies,
  type EncodeOptions,
  type EngineContext,
} from './engine.ts';
import { loadMappings, type Mapping, type MappingSet } from './mapping.ts';
import { sortToSchema, structureProblems } from './structure.ts';
import { compilePath, readValue } from './ubl-path.ts';
import { parseUbl, rootOfNamespace, serializeUbl, type UblElement } from './ubl-xml.ts';

export type UblDecodeResult =
  | {
      ok: true;
      document: CanonicalDocument;
      /** Present when the bytes were UBL: every canonical document they mean, in order. */
      derived?: CanonicalDocument[];
    }
  | { ok: false; code: ErrorCode; errors: ErrorDetail[]; decoded?: unknown };

export interface UblAdapter {
  readonly mappings: MappingSet;
  decode(bytes: Uint8Array | string, context: EngineContext): Promise<UblDecodeResult>;
  /**
   * The UBL text of an outbound document, or undefined when UBL has no form for it. With
   * `aliases`, the parties of those partners are written with their own identifier as the
   * EndpointID (see EncodeOptions).
   */
  encode(doc: CanonicalDocument, options?: UblWriteOptions): string | undefined;
  /** Any mapping, either direction (tests, `convert`): the UBL text, checked against the structure. */
  encodeWith(doc: CanonicalDocument, mapping: Mapping, options?: UblWriteOptions): string;
  /** Whether the document has a form under this mapping (an empty feed has none). */
  hasForm(doc: CanonicalDocument, mapping: Mapping): boolean;
}

export interface UblWriteOptions extends EncodeOptions {
  pretty?: boolean;
}

const VERSION = compilePath('/cbc:UBLVersionID');
const CUSTOMIZATION = compilePath('/cbc:CustomizationID');
const SUPPORTED_VERSION = /^2\.[0-4]$/;

export function createUblAdapter(
  registry: SchemaRegistry,
  mappings: MappingSet = loadMappings(registry),
  limits?: Partial<CodecLimits>,
): UblAdapter {
  function fail(code: ErrorCode, message: string, path = ''): UblDecodeResult {
    return { ok: false, code, errors: [failure(code, message, path).error] };
  }

  function chooseMapping(root: UblElement): Mapping | undefined {
    const customization = readValue(root, root, CUSTOMIZATION);
    return mappings.inboundFor(root.name, customization).find((m) => mappingApplies(m, root));
  }

  async function decode(
    bytes: Uint8Array | string,
    context: EngineContext,
  ): Promise<UblDecodeResult> {
    const parsed = parseUbl(bytes, limits);
    if (!parsed.ok)
      return { ok: false, code: parsed.error.code as ErrorCode, errors: [parsed.error] };
    const { root } = parsed;
    if (root.ns === NAKADACHI_NAMESPACE) return decodeDocument(bytes, 'xml', registry, limits);
    if (rootOfNamespace(root.ns) !== root.name) {
      return fail(
        'MALFORMED_DOCUMENT',
        `<${root.name}> in namespace "${root.ns || '(none)'}" is not a UBL 2 document: its namespace must be urn:oasis:names:specification:ubl:schema:xsd:${root.name}-2`,
      );
    }
    const version = readValue(root, root, VERSION);
    if (version !== undefined && !SUPPORTED_VERSION.test(version)) {
      return fail(
        'MALFORMED_DOCUMENT',
        `cbc:UBLVersionID ${version} is not supported: the gateway reads UBL 2.0 to 2.4`,
      );
    }
    const mapping = chooseMapping(root);
    if (mapping === undefined) {
      const readable = mappings.inboundRoots.includes(root.name);
      return fail(
        'UNSUPPORTED_DOCUMENT_TYPE',
        readable
          ? `this ${root.name} matches none of its mappings (${mappings
              .inboundFor(root.name, undefined)
              .map((m) => m.name)
              .join(', ')})`
          : `UBL ${root.name} is not read by this gateway: it reads ${mappings.inboundRoots.join(', ')}`,
        '/header/type',
      );
    }
    const binding = registry.binding(mapping.canonical);
    if (binding === undefined)
      throw new GatewayError('INTERNAL', `no binding for ${mapping.canonical}`);
    const outcome = await decodeWithMapping(root, mapping, binding, context);
    if (!outcome.ok) {
      return { ok: false, code: outcome.code, errors: outcome.errors, decoded: outcome.partial };
    }
    const errors: ErrorDetail[] = [];
    const documents: CanonicalDocument[] = [];
    for (const [i, candidate] of outcome.documents.entries()) {
      const checked = registry.validate(candidate);
      if (checked.ok) {
        documents.push(checked.document);
        continue;
      }
      for (const error of checked.errors) {
        const source = outcome.sources.get(`${i}:${error.path}`);
        errors.push(
          source === undefined ? error : { ...error, message: `${error.message} (${source})` },
        );
      }
    }
    if (errors.length > 0) {
      return { ok: false, code: 'SCHEMA_VIOLATION', errors, decoded: outcome.documents[0] };
    }
    const [first] = documents;
    if (first === undefined) return fail('SCHEMA_VIOLATION', `${mapping.ubl} holds no document`);
    return { ok: true, document: first, derived: documents };
  }

  /** False when the document lacks what the mapping needs (an empty feed: no lines). */
  function hasForm(doc: CanonicalDocument, mapping: Mapping): boolean {
    if (mapping.needs === undefined) return true;
    const needed = getAt(doc, mapping.needs);
    return Array.isArray(needed) && needed.length > 0;
  }

  function encodeWith(doc: CanonicalDocument, mapping: Mapping, options: UblWriteOptions = {}) {
    const root = encodeWithMapping(doc, mapping, options);
    sortToSchema(root);
    const problems = structureProblems(root);
    if (problems.length > 0) {
      throw new GatewayError(
        'INTERNAL',
        `${doc.header.type} as UBL ${mapping.ubl} breaks the declared structure: ${problems.join('; ')}`,
      );
    }
    return serializeUbl(root, options);
  }

  return {
    mappings,
    decode,
    encodeWith,
    hasForm,
    encode(doc, options) {
      const mapping = mappings.outboundFor(doc.header.type);
      if (mapping === undefined || !hasForm(doc, mapping)) return undefined;
      return encodeWith(doc, mapping, options);
    },
  };
}
