/**
 * UBL documents as a namespace-resolved element tree, and back to text.
 *
 * Parsing goes through the codec's safe parse (size, DTD, entity, depth and element limits, the
 * validator) with attributes kept; prefixes are then resolved from the xmlns declarations in
 * scope, so `cbc:ID`, `ns2:ID` and a default-namespace `ID` are the same element. Mapping paths
 * never see the document's own prefixes.
 */
import type { ErrorDetail } from '../../gateway/core/errors.ts';
import type { CodecLimits } from '../codec/common.ts';
import { escapeXmlAttribute, escapeXmlText, failure, NON_XML_CHAR } from '../codec/common.ts';
import {
  ATTRIBUTE_PREFIX,
  ATTRIBUTES,
  nameOf,
  parseXmlDocument,
  TEXT,
  type XmlNode,
} from '../codec/xml.ts';

const UBL_SCHEMA = 'urn:oasis:names:specification:ubl:schema:xsd:';

export const CAC = `${UBL_SCHEMA}CommonAggregateComponents-2`;
export const CBC = `${UBL_SCHEMA}CommonBasicComponents-2`;
export const EXT = `${UBL_SCHEMA}CommonExtensionComponents-2`;

/** The prefixes mapping files write; the document's own prefixes do not matter. */
export const MAPPING_PREFIXES: Readonly<Record<string, string>> = { cac: CAC, cbc: CBC, ext: EXT };

/** `urn:oasis:names:specification:ubl:schema:xsd:Order-2` for `Order`. */
export function documentNamespace(root: string): string {
  return `${UBL_SCHEMA}${root}-2`;
}

/** The root name a UBL document namespace names, if it is one. */
export function rootOfNamespace(namespace: string): string | undefined {
  const match = /^urn:oasis:names:specification:ubl:schema:xsd:([A-Za-z]+)-2$/.exec(namespace);
  const root = match?.[1];
  return root === undefined || root.startsWith('Common') ? undefined : root;
}

export interface UblElement {
  /** Namespace URI ('' for none). */
  ns: string;
  /** Local name. */
  name: string;
  /** Unqualified attributes (UBL's own are all unqualified). */
  attributes: Map<string, string>;
  children: UblElement[];
  /** Character content; whitespace between child elements is layout and is dropped. */
  text: string;
}

export function element(ns: string, name: string): UblElement {
  return { ns, name, attributes: new Map(), children: [], text: '' };
}

export type ParsedUbl = { ok: true; root: UblElement } | { ok: false; error: ErrorDetail };

class NamespaceError extends Error {}

export function parseUbl(input: string | Uint8Array, limits?: Partial<CodecLimits>): ParsedUbl {
  const parsed = parseXmlDocument(input, limits, 'all');
  if (!parsed.ok) return parsed;
  try {
    return { ok: true, root: toElement(parsed.root, new Map([['xml', XML_NS]])) };
  } catch (error) {
    if (error instanceof NamespaceError) return failure('MALFORMED_DOCUMENT', error.message);
    throw error;
  }
}

const XML_NS = 'http://www.w3.org/XML/1998/namespace';
const XMLNS_ATTRIBUTE = `${ATTRIBUTE_PREFIX}xmlns`;

function toElement(node: XmlNode, inherited: ReadonlyMap<string, string>): UblElement {
  const qname = nameOf(node);
  const raw = (node[ATTRIBUTES] ?? {}) as Record<string, string>;
  let scope = inherited;
  const attributes = new Map<string, string>();
  for (const [key, value] of Object.entries(raw)) {
    const name = key.slice(ATTRIBUTE_PREFIX.length);
    if (key === XMLNS_ATTRIBUTE || name.startsWith('xmlns:')) {
      if (scope === inherited) scope = new Map(inherited);
      (scope as Map<string, string>).set(name === 'xmlns' ? '' : name.slice(6), value);
    } else if (!name.includes(':')) {
      attributes.set(name, value);
    }
  }
  const colon = qname.indexOf(':');
  const prefix = colon === -1 ? '' : qname.slice(0, colon);
  const ns = scope.get(prefix);
  if (ns === undefined) {
    throw new NamespaceError(`namespace prefix "${prefix}" of <${qname}> is not declared`);
  }
  const out = element(ns, qname.slice(colon + 1));
  out.attributes = attributes;
  let text = '';
  for (const child of node[qname] as XmlNode[]) {
    if (nameOf(child) === TEXT) text += child[TEXT] as string;
    else out.children.push(toElement(child, scope));
  }
  out.text = out.children.length > 0 && /^[ \t\r\n]*$/.test(text) ? '' : text;
  return out;
}

// --- writing --------------------------------------------------------------------------------

const PREFIX_OF: ReadonlyMap<string, string> = new Map(
  Object.entries(MAPPING_PREFIXES).map(([prefix, ns]) => [ns, prefix]),
);

/**
 * The document as UTF-8 XML text: the root in its document namespace as the default, `cac:` and
 * `cbc:` declared once on the root. A character XML cannot carry is a bug in the caller (every
 * canonical value was checked on its way in) and throws.
 */
export function serializeUbl(root: UblElement, options: { pretty?: boolean } = {}): string {
  const indent = options.pretty === true ? '  ' : undefined;
  const declarations = ` xmlns="${root.ns}" xmlns:cac="${CAC}" xmlns:cbc="${CBC}"`;
  const out: string[] = ['<?xml version="1.0" encoding="UTF-8"?>'];
  if (indent !== undefined) out.push('\n');
  write(root, 0, declarations);
  return out.join('');

  function write(node: UblElement, depth: number, extra: string): void {
    const prefix = node.ns === root.ns ? '' : PREFIX_OF.get(node.ns);
    if (prefix === undefined) throw new Error(`no prefix for namespace ${node.ns}`);
    const name = prefix === '' ? node.name : `${prefix}:${node.name}`;
    const pad = indent === undefined ? '' : indent.repeat(depth);
    let open = `${pad}<${name}${extra}`;
    for (const [key, value] of node.attributes)
      open += ` ${key}="${checked(escapeXmlAttribute(value))}"`;
    if (node.children.length === 0) {
      out.push(
        node.text === '' ? `${open}/>` : `${open}>${checked(escapeXmlText(node.text))}</${name}>`,
      );
      if (indent !== undefined) out.push('\n');
      return;
    }
    out.push(`${open}>`);
    if (indent !== undefined) out.push('\n');
    for (const child of node.children) write(child, depth + 1, '');
    out.push(`${pad}</${name}>`);
    if (indent !== undefined) out.push('\n');
  }
}

function checked(text: string): string {
  if (NON_XML_CHAR.test(text)) throw new Error('a value holds a character XML cannot carry');
  return text;
}
