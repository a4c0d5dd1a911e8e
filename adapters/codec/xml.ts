/**
 * The gateway's own XML form (schemas/README.md) ⇄ the canonical object, driven by the binding
 * derived from each type's schema.
 *
 * Decoding refuses what a B2B document never needs before the parser sees it (any DTD, so no
 * entity expansion of any kind; characters XML forbids; more elements than the limit), runs
 * fast-xml-parser's validator (it is the only thing that catches `<a>1</b>`), then parses with
 * values kept as text and builds the canonical object from the binding. It never judges the
 * content: a value of the wrong shape is handed on in a form the schema validator refuses, at
 * the right JSON pointer, so XML and JSON partners get the same errors.
 */
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import type { X2jOptions } from 'fast-xml-parser';
import type { CanonicalDocument } from '../../gateway/core/document.ts';
import { GatewayError } from '../../gateway/core/errors.ts';
import type { ErrorDetail } from '../../gateway/core/errors.ts';
import type { SchemaRegistry } from '../../schemas/registry.ts';
import type { BindingNode, ObjectBinding } from './binding.ts';
import { propertyName } from './binding.ts';
import type { CodecLimits } from './common.ts';
import {
  MAX_NAME_LENGTH,
  NON_XML_CHAR,
  codePointLabel,
  escapeXmlText,
  failure,
  inputText,
  isForbiddenKey,
  resolveLimits,
} from './common.ts';

export const NAKADACHI_NAMESPACE = 'urn:nakadachi:1';

export type XmlDecodeResult =
  | { ok: true; value: unknown; /** the root element: the type to validate against */ type: string }
  | { ok: false; error: ErrorDetail };

export interface XmlEncodeOptions {
  /** Indented output for people; compact (the default) for partners. */
  pretty?: boolean;
}

/** fast-xml-parser's ordered output: one single-key object per child, plus ':@' for attributes. */
export type XmlNode = Record<string, unknown>;

export const TEXT = '#text';
export const ATTRIBUTES = ':@';
export const ATTRIBUTE_PREFIX = '@_';
const XMLNS = '@_xmlns';

/** Thrown inside the tree walk only; decodeXml turns it into the result. */
class DecodeFailure extends Error {
  readonly detail: ErrorDetail;
  constructor(detail: ErrorDetail) {
    super(detail.message);
    this.detail = detail;
  }
}

/**
 * Entities: with any DTD refused up front, the only references left are the five XML built-ins
 * and character references, and that is all this decodes. Anything else is an undeclared entity,
 * which the XML spec makes a fatal error; `&#0;` and other non-characters are refused too.
 */
const ENTITY = /&(?:#x([0-9A-Fa-f]{1,6})|#([0-9]{1,7})|([A-Za-z][A-Za-z0-9._-]*));/g;
const BUILT_IN_ENTITIES: ReadonlyMap<string, string> = new Map([
  ['lt', '<'],
  ['gt', '>'],
  ['amp', '&'],
  ['quot', '"'],
  ['apos', "'"],
]);

function replaceEntity(match: string, hex?: string, dec?: string, name?: string): string {
  if (name !== undefined) {
    const value = BUILT_IN_ENTITIES.get(name);
    if (value === undefined) throw new EntityError(`undeclared entity ${match}`);
    return value;
  }
  const code = hex !== undefined ? parseInt(hex, 16) : parseInt(dec ?? '', 10);
  const char = code <= 0x10ffff ? String.fromCodePoint(code) : '';
  if (char === '' || NON_XML_CHAR.test(char)) {
    throw new EntityError(`character reference ${match} is not an XML character`);
  }
  return char;
}

class EntityError extends Error {}

const entityDecoder: NonNullable<X2jOptions['entityDecoder']> = {
  decode: (text) => {
    if (!text.includes('&')) return text;
    const decoded = text.replace(ENTITY, replaceEntity);
    // The validator lets some broken references through (`&1;`); a '&' left over is one.
    if (decoded.includes('&') && text.replace(ENTITY, '').includes('&')) {
      throw new EntityError('"&" must start an entity or character reference');
    }
    return decoded;
  },
  reset: () => undefined,
  setExternalEntities: () => undefined,
  addInputEntities: () => undefined,
  setXmlVersion: () => undefined,
};

/**
 * Which attributes the parser keeps: the gateway's own form uses none but its namespace; partner
 * formats (UBL) need them all (prefix declarations, currencyID, unitCode, schemeID).
 */
export type XmlAttributes = 'namespace' | 'all';

/** One parser per depth limit and attribute mode; parsers hold only options, so sharing them is safe. */
const parsers = new Map<string, XMLParser>();

function parserFor(maxDepth: number, attributes: XmlAttributes): XMLParser {
  const key = `${maxDepth}:${attributes}`;
  let parser = parsers.get(key);
  if (parser === undefined) {
    parser = new XMLParser({
      preserveOrder: true, // repeated elements stay in order and never merge into one key
      ignoreAttributes: attributes === 'all' ? false : (name) => name !== 'xmlns',
      attributeNamePrefix: ATTRIBUTE_PREFIX,
      parseTagValue: false,
      parseAttributeValue: false,
      trimValues: false, // text is verbatim; whitespace between elements is dropped by the walk
      ignoreDeclaration: true,
      ignorePiTags: true,
      processEntities: true,
      entityDecoder,
      jPath: false, // no path strings built per element
      // It refuses a start tag with more than this many open ancestors (the root is depth 1).
      maxNestedTags: maxDepth - 1,
    });
    parsers.set(key, parser);
  }
  return parser;
}

// Any `<!` other than a comment or CDATA: DOCTYPE, ENTITY, ELEMENT, ATTLIST, NOTATION.
const MARKUP_DECLARATION = /<!(?!--|\[CDATA\[)/;
const XML_DECLARATION_ENCODING = /^<\?xml\s[^?]*?encoding\s*=\s*["']([^"']*)["']/;

export function decodeXml(
  input: string | Uint8Array,
  registry: SchemaRegistry,
  limits?: Partial<CodecLimits>,
): XmlDecodeResult {
  const parsed = parseXmlDocument(input, limits, 'namespace');
  if (!parsed.ok) return parsed;
  try {
    return buildDocument(parsed, registry);
  } catch (error) {
    if (error instanceof DecodeFailure) return { ok: false, error: error.detail };
    throw error;
  }
}

/** A well-formed document's one root element, as fast-xml-parser gives it. */
export type ParsedXml =
  { ok: true; root: XmlNode; rootName: string; text: string } | { ok: false; error: ErrorDetail };

/**
 * The safe parse every XML form goes through: size, encoding, DTD and character checks before
 * the parser sees anything, the element-count and depth limits, the validator, then exactly one
 * root element (with nothing after a self-closing one). Values stay text.
 */
export function parseXmlDocument(
  input: string | Uint8Array,
  limits: Partial<CodecLimits> | undefined,
  attributes: XmlAttributes,
): ParsedXml {
  const { maxBytes, maxDepth, maxElements } = resolveLimits(limits);
  const read = inputText(input, maxBytes);
  if (!read.ok) return read;
  const text = read.text;

  const encoding = XML_DECLARATION_ENCODING.exec(text)?.[1];
  if (encoding !== undefined && !/^utf-?8$/i.test(encoding)) {
    return failure('MALFORMED_DOCUMENT', `encoding "${encoding}" is not supported; use UTF-8`);
  }
  const declaration = MARKUP_DECLARATION.exec(text);
  if (declaration !== null) {
    const isDtd = /^<!(?:DOCTYPE|ENTITY)/i.test(
      text.slice(declaration.index, declaration.index + 9),
    );
    return failure(
      'MALFORMED_DOCUMENT',
      `${isDtd ? 'DOCTYPE and ENTITY declarations are' : 'markup declarations are'} not allowed ${at(text, declaration.index)}`,
    );
  }
  const badChar = NON_XML_CHAR.exec(text);
  if (badChar !== null) {
    return failure(
      'MALFORMED_DOCUMENT',
      `character ${codePointLabel(badChar[0])} is not allowed in XML ${at(text, badChar.index)}`,
    );
  }
  if (countStartTags(text, maxElements) > maxElements) {
    return failure('MALFORMED_DOCUMENT', `document has more than ${maxElements} elements`);
  }

  const valid = XMLValidator.validate(text);
  if (valid !== true) {
    const { msg, line, col } = valid.err;
    return failure('MALFORMED_DOCUMENT', `${msg} (line ${line}, column ${col})`);
  }

  let nodes: XmlNode[];
  try {
    nodes = parserFor(maxDepth, attributes).parse(text) as XmlNode[];
  } catch (error) {
    return failure('MALFORMED_DOCUMENT', parserMessage(error, maxDepth));
  }
  try {
    const root = singleRoot(nodes, text);
    return { ok: true, root, rootName: nameOf(root), text };
  } catch (error) {
    if (error instanceof DecodeFailure) return { ok: false, error: error.detail };
    throw error;
  }
}

/** Start tags, counted without parsing (bounded by `limit`); comments/PIs/end tags excluded. */
function countStartTags(text: string, limit: number): number {
  let count = 0;
  for (let i = text.indexOf('<'); i !== -1 && count <= limit; i = text.indexOf('<', i + 1)) {
    const next = text.charCodeAt(i + 1);
    if (next !== 0x2f && next !== 0x21 && next !== 0x3f) count++; // '/', '!', '?'
  }
  return count;
}

function parserMessage(error: unknown, maxDepth: number): string {
  if (error instanceof EntityError) return error.message;
  const message = error instanceof Error ? error.message : String(error);
  if (message.includes('Maximum nested tags')) return `elements are nested deeper than ${maxDepth}`;
  if (message.includes('[SECURITY]')) return 'element name is not allowed';
  return `XML could not be parsed: ${message}`;
}

function singleRoot(nodes: XmlNode[], text: string): XmlNode {
  let root: XmlNode | undefined;
  for (const node of nodes) {
    if (nameOf(node) === TEXT) continue; // whitespace around the root (the validator checked it)
    if (root !== undefined) throw malformed('a document has exactly one root element', '');
    root = node;
  }
  if (root === undefined) throw malformed('a document needs a root element', '');
  // The validator does not see text after a self-closing root (`<R/>x`): check that case here.
  if ((root[nameOf(root)] as XmlNode[]).length === 0) checkEpilog(text);
  return root;
}

function buildDocument(
  parsed: Extract<ParsedXml, { ok: true }>,
  registry: SchemaRegistry,
): XmlDecodeResult {
  const { root, rootName: type } = parsed;
  checkName(type, '');
  const attributes = root[ATTRIBUTES] as Record<string, unknown> | undefined;
  if (attributes?.[XMLNS] !== NAKADACHI_NAMESPACE) {
    throw malformed(`the root element must be in the namespace ${NAKADACHI_NAMESPACE}`, '');
  }
  const binding = registry.binding(type);
  if (binding === undefined) {
    return failure('UNSUPPORTED_DOCUMENT_TYPE', `unknown document type <${type}>`, '/header/type');
  }
  return { ok: true, value: buildObject(root[type] as XmlNode[], binding, ''), type };
}

function buildValue(children: XmlNode[], binding: BindingNode, path: string): unknown {
  switch (binding.kind) {
    case 'object':
      return buildObject(children, binding, path);
    case 'array':
      return buildArray(children, binding.item, binding.items, path);
    default:
      return buildScalar(children, binding.kind);
  }
}

function buildObject(children: XmlNode[], binding: ObjectBinding, path: string): unknown {
  // A plain object is safe: the three names that could reach its prototype are refused below.
  const out: Record<string, unknown> = {};
  let text = '';
  let elements = false;
  for (const child of children) {
    const name = nameOf(child);
    if (name === TEXT) {
      text += significantText(child);
      continue;
    }
    elements = true;
    const property = binding.byElement.get(name);
    const key = property?.name ?? unknownElementKey(name, binding, path);
    const childPath = `${path}/${key}`;
    if (Object.hasOwn(out, key))
      throw malformed(`element <${name}> appears more than once`, childPath);
    checkNamespace(child, childPath);
    const grandChildren = child[name] as XmlNode[];
    out[key] =
      property === undefined
        ? unboundValue(grandChildren)
        : buildValue(grandChildren, property.node, childPath);
  }
  return mixedContent(text, elements, path) ?? out;
}

function buildArray(children: XmlNode[], item: string, items: BindingNode, path: string): unknown {
  const out: unknown[] = [];
  let text = '';
  for (const child of children) {
    const name = nameOf(child);
    if (name === TEXT) {
      text += significantText(child);
      continue;
    }
    const childPath = `${path}/${out.length}`;
    if (name !== item) {
      checkName(name, childPath);
      throw malformed(`unexpected element <${name}>; the items here are <${item}>`, childPath);
    }
    checkNamespace(child, childPath);
    out.push(buildValue(child[name] as XmlNode[], items, childPath));
  }
  return mixedContent(text, out.length > 0, path) ?? out;
}

function buildScalar(children: XmlNode[], kind: 'string' | 'integer' | 'boolean'): unknown {
  let text = '';
  for (const child of children) {
    // Elements where text belongs: an object is a value the validator refuses for any leaf.
    if (nameOf(child) !== TEXT) return {};
    text += child[TEXT] as string;
  }
  if (kind === 'integer') return INTEGER.test(text) ? toSafeInteger(text) : text;
  if (kind === 'boolean') return text === 'true' ? true : text === 'false' ? false : text;
  return text;
}

// Canonical integers only: no sign on zero, no leading zeros, no '+', no spaces.
const INTEGER = /^(?:0|-?[1-9][0-9]{0,15})$/;

function toSafeInteger(text: string): number | string {
  const value = Number(text);
  return Number.isSafeInteger(value) ? value : text;
}

/** Whitespace between elements is layout; other text in an element with children is content. */
function significantText(node: XmlNode): string {
  const text = node[TEXT] as string;
  return XML_WHITESPACE.test(text) ? '' : text;
}

// XML's whitespace, not JavaScript's: a no-break space between elements is content.
const XML_WHITESPACE = /^[ \t\r\n]*$/;

/**
 * Text alone where an object or array belongs is returned as a string (the validator refuses
 * it by type); text mixed with elements has no canonical form at all.
 */
function mixedContent(text: string, elements: boolean, path: string): string | undefined {
  if (text === '') return undefined;
  if (elements) throw malformed('text is not allowed between elements here', path);
  return text;
}

/**
 * An element the schema does not know becomes the property it would be, so the validator
 * reports additionalProperties at the right pointer; its content does not matter.
 */
function unknownElementKey(name: string, binding: ObjectBinding, path: string): string {
  checkName(name, path);
  const key = propertyName(name);
  if (isForbiddenKey(key)) throw malformed(`element name <${name}> is not allowed`, path);
  const known = binding.byName.get(key);
  // `<messageId>` would otherwise pass as the property `messageId`.
  if (known !== undefined) {
    throw malformed(
      `unknown element <${name}>; did you mean <${known.element}>?`,
      `${path}/${key}`,
    );
  }
  return key;
}

function unboundValue(children: XmlNode[]): unknown {
  return children.some((child) => nameOf(child) !== TEXT) ? {} : buildScalar(children, 'string');
}

function checkName(name: string, path: string): void {
  if (name.length > MAX_NAME_LENGTH) throw malformed('element name is too long', path);
  if (name.includes(':')) {
    throw malformed(
      `namespace prefixes are not supported (<${name}>); use the default namespace`,
      path,
    );
  }
}

/** `xmlns` on an inner element would move it out of our namespace. */
function checkNamespace(node: XmlNode, path: string): void {
  const attributes = node[ATTRIBUTES] as Record<string, unknown> | undefined;
  if (attributes !== undefined && attributes[XMLNS] !== NAKADACHI_NAMESPACE) {
    throw malformed(`elements must stay in the namespace ${NAKADACHI_NAMESPACE}`, path);
  }
}

/** After the root's `/>`: only whitespace, comments and processing instructions. */
function checkEpilog(text: string): void {
  let i = text.length;
  for (;;) {
    while (i > 0 && isXmlSpace(text.charCodeAt(i - 1))) i--;
    if (text.endsWith('-->', i)) i = text.lastIndexOf('<!--', i - 3);
    else if (text.endsWith('?>', i)) i = text.lastIndexOf('<?', i - 2);
    else break;
    if (i < 0) throw malformed('content after the root element', '');
  }
  const tagStart = text.lastIndexOf('<', i - 1);
  // The root's end tag: the validator has checked what follows it.
  if (text.charCodeAt(tagStart + 1) === 0x2f) return;
  // Otherwise what is left must end with the root's own `/>`, and that tag is the first element.
  if (!text.endsWith('/>', i) || tagStart !== /<(?![?!])/.exec(text)?.index) {
    throw malformed('content after the root element', '');
  }
}

function isXmlSpace(code: number): boolean {
  return code === 0x20 || code === 0x09 || code === 0x0a || code === 0x0d;
}

/** The element name of an ordered node, or '#text'. */
export function nameOf(node: XmlNode): string {
  for (const key in node) {
    if (key !== ATTRIBUTES) return key;
  }
  return TEXT;
}

function malformed(message: string, path: string): DecodeFailure {
  return new DecodeFailure(failure('MALFORMED_DOCUMENT', message, path).error);
}

/** "(line 3, column 7)" for an index into the text; computed only for errors. */
function at(text: string, index: number): string {
  let line = 1;
  let lineStart = 0;
  for (let i = text.indexOf('\n'); i !== -1 && i < index; i = text.indexOf('\n', i + 1)) {
    line++;
    lineStart = i + 1;
  }
  return `(line ${line}, column ${index - lineStart + 1})`;
}

function encodeError(message: string): GatewayError {
  return new GatewayError('INTERNAL', `cannot encode document as XML: ${message}`);
}

/**
 * Canonical object → XML, elements in schema order, written as text from the type's binding
 * (element names come from the schema; values through escapeXmlText). The document is assumed
 * valid: a property the schema does not know, a value of the wrong kind or a character XML cannot
 * carry is a bug in the caller and throws. (Building a DOM with xmlbuilder2 and serialising it
 * cost ~12% of the gateway's CPU per document, for the receipt alone.)
 */
export function encodeXml(
  doc: CanonicalDocument,
  registry: SchemaRegistry,
  options: XmlEncodeOptions = {},
): string {
  const type = doc.header.type;
  const binding = registry.binding(type);
  if (binding === undefined) throw encodeError(`unknown document type "${type}"`);
  const newline = options.pretty === true ? '\n' : '';
  const root = `${type} xmlns="${NAKADACHI_NAMESPACE}"`;
  const inner = objectContent(doc, binding, '', 1, options.pretty === true);
  return `<?xml version="1.0" encoding="UTF-8"?>${newline}${
    inner === '' ? `<${root}/>` : `<${root}>${newline}${inner}</${type}>`
  }`;
}

/** The child elements of an object, each on its own line when pretty. */
function objectContent(
  value: unknown,
  binding: ObjectBinding,
  path: string,
  depth: number,
  pretty: boolean,
): string {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw encodeError(`${path || '/'} must be an object`);
  }
  const record = value as Record<string, unknown>;
  for (const key in record) {
    if (!binding.byName.has(key)) throw encodeError(`${path}/${key} is not in the schema`);
  }
  let out = '';
  for (const property of binding.properties) {
    const child = record[property.name];
    if (child !== undefined) {
      out += elementOf(
        property.element,
        child,
        property.node,
        `${path}/${property.name}`,
        depth,
        pretty,
      );
    }
  }
  return out;
}

/** An element holding child elements (`inner`), or empty. */
function block(name: string, inner: string, pad: string, newline: string): string {
  return inner === ''
    ? `${pad}<${name}/>${newline}`
    : `${pad}<${name}>${newline}${inner}${pad}</${name}>${newline}`;
}

function elementOf(
  name: string,
  value: unknown,
  binding: BindingNode,
  path: string,
  depth: number,
  pretty: boolean,
): string {
  const pad = pretty ? '  '.repeat(depth) : '';
  const newline = pretty ? '\n' : '';
  switch (binding.kind) {
    case 'object': {
      const inner = objectContent(value, binding, path, depth + 1, pretty);
      return block(name, inner, pad, newline);
    }
    case 'array': {
      if (!Array.isArray(value)) throw encodeError(`${path} must be an array`);
      let inner = '';
      value.forEach((item, i) => {
        inner += elementOf(binding.item, item, binding.items, `${path}/${i}`, depth + 1, pretty);
      });
      return block(name, inner, pad, newline);
    }
    case 'string':
      if (typeof value !== 'string') throw encodeError(`${path} must be a string`);
      if (NON_XML_CHAR.test(value)) throw encodeError(`${path} holds a character XML cannot carry`);
      return value === ''
        ? `${pad}<${name}/>${newline}`
        : `${pad}<${name}>${escapeXmlText(value)}</${name}>${newline}`;
    case 'integer':
      if (!Number.isSafeInteger(value)) throw encodeError(`${path} must be an integer`);
      return `${pad}<${name}>${String(value)}</${name}>${newline}`;
    case 'boolean':
      if (typeof value !== 'boolean') throw encodeError(`${path} must be a boolean`);
      return `${pad}<${name}>${String(value)}</${name}>${newline}`;
  }
}
