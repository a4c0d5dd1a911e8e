/**
 * One entry point for both wire forms: bytes → canonical document (decoded, then validated by
 * the registry) and back. Callers see the same result shape whatever the format.
 */
import type { CanonicalDocument, WireFormat } from '../../gateway/core/document.ts';
import type { ErrorCode, ErrorDetail } from '../../gateway/core/errors.ts';
import type { SchemaRegistry } from '../../schemas/registry.ts';
import type { CodecLimits } from './common.ts';
import { decodeJson, encodeJson } from './json.ts';
import type { XmlEncodeOptions } from './xml.ts';
import { decodeXml, encodeXml } from './xml.ts';

export type { CodecLimits } from './common.ts';
export { DEFAULT_CODEC_LIMITS } from './common.ts';

export type DecodeDocumentResult =
  | { ok: true; document: CanonicalDocument }
  /**
   * code: MALFORMED_DOCUMENT, PAYLOAD_TOO_LARGE, UNSUPPORTED_DOCUMENT_TYPE or SCHEMA_VIOLATION.
   * `decoded` is the decoded but invalid value when decoding itself succeeded (the caller may
   * still read the header's messageId from it to address a rejection receipt).
   */
  | { ok: false; code: ErrorCode; errors: ErrorDetail[]; decoded?: unknown };

export function decodeDocument(
  input: string | Uint8Array,
  format: WireFormat,
  registry: SchemaRegistry,
  limits?: Partial<CodecLimits>,
): DecodeDocumentResult {
  let value: unknown;
  let type: string | undefined;
  if (format === 'xml') {
    const decoded = decodeXml(input, registry, limits);
    if (!decoded.ok) return fail(decoded.error);
    value = decoded.value;
    type = decoded.type;
  } else {
    const decoded = decodeJson(input, limits);
    if (!decoded.ok) return fail(decoded.error);
    value = decoded.value;
  }
  const result = registry.validate(value, type);
  if (result.ok) return result;
  const unsupported = result.errors.some((e) => e.code === 'UNSUPPORTED_DOCUMENT_TYPE');
  return {
    ok: false,
    code: unsupported ? 'UNSUPPORTED_DOCUMENT_TYPE' : 'SCHEMA_VIOLATION',
    errors: result.errors,
    decoded: value,
  };
}

function fail(error: ErrorDetail): DecodeDocumentResult {
  return { ok: false, code: error.code as ErrorCode, errors: [error] };
}

export function encodeDocument(
  doc: CanonicalDocument,
  format: WireFormat,
  registry: SchemaRegistry,
  options?: XmlEncodeOptions,
): string {
  return format === 'xml' ? encodeXml(doc, registry, options) : encodeJson(doc);
}

// type/subtype, then parameters; RFC 9110 token characters.
const MEDIA_TYPE = /^([a-z0-9!#$%&'*+.^_`|~-]+)\/([a-z0-9!#$%&'*+.^_`|~-]+)\s*(?:;(.*))?$/;
const CHARSET = /(?:^|;)\s*charset\s*=\s*"?([^";\s]*)"?/;

/**
 * The wire format a Content-Type names: application/xml, text/xml, application/*+xml,
 * application/json, application/*+json, with any parameters; undefined for anything else,
 * including a charset other than UTF-8 (the decoders read UTF-8 only).
 */
export function formatFromContentType(
  contentType: string | null | undefined,
): WireFormat | undefined {
  if (contentType === null || contentType === undefined) return undefined;
  const match = MEDIA_TYPE.exec(contentType.trim().toLowerCase());
  if (match === null) return undefined;
  const [, type, subtype = '', parameters] = match;
  const charset = parameters === undefined ? undefined : CHARSET.exec(parameters)?.[1];
  if (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8') return undefined;
  if (type === 'application' && (subtype === 'xml' || subtype.endsWith('+xml'))) return 'xml';
  if (type === 'text' && subtype === 'xml') return 'xml';
  if (type === 'application' && (subtype === 'json' || subtype.endsWith('+json'))) return 'json';
  return undefined;
}
