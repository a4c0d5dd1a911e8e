/**
 * Streaming splitters for batches: bytes in (any chunking), one item per document out, each with
 * the document's exact bytes, so the log and the digest hold what the partner sent. Memory is
 * bounded by the largest document (limits.maxDocumentBytes): an oversize document is skipped
 * without being buffered and refused at its position, whatever the size of the batch.
 *
 *  - NDJSON: one document per line; blank lines are skipped. A broken line spoils only itself.
 *  - JSON: an array's top-level elements are the documents (a small tokenizer that tracks strings
 *    and brackets, nothing else: the codec judges each element); anything else is one document.
 *  - XML: the children of a root `<Batch>` are the documents; any other root is one document.
 *    DOCTYPE and other markup declarations are refused anywhere, as the codec refuses them.
 *
 * When the structure itself is broken (unbalanced brackets or tags, text between documents), the
 * rest cannot be cut reliably: a `broken` item ends the sequence instead of guessing.
 */
import type { BatchItem } from '../../gateway/core/batches/batches.service.ts';
import type { InboundFormat } from '../../gateway/core/document.ts';
import type { Partner } from '../../gateway/core/partners/partners.ts';
import { splitCsv } from '../csv/csv.ts';
import type { ErrorCode } from '../../gateway/core/errors.ts';
import { DEFAULT_CODEC_LIMITS } from './common.ts';
import { formatFromContentType } from './index.ts';
import { NAKADACHI_NAMESPACE } from './xml.ts';

/** csv: a seller's catalogue, one ItemNotice per row (adapters/csv). */
export type BatchFormat = 'xml' | 'json' | 'ndjson' | 'csv';

const NDJSON_TYPES = /^application\/(x-ndjson|ndjson|jsonl|x-jsonlines)\s*(;|$)/i;
const CSV_TYPE = /^text\/csv\s*(?:;\s*charset\s*=\s*"?utf-?8"?\s*)?$/i;

/**
 * What each document of a batch is, for the partner that sent it: a UBL partner's XML is UBL, a
 * CSV batch holds catalogue rows (only CSV partners send them: undefined otherwise).
 */
export function batchDocumentFormat(
  format: BatchFormat,
  partner: Pick<Partner, 'inboundFormat'>,
): { format: InboundFormat; contentType: string } | undefined {
  switch (format) {
    case 'csv':
      return partner.inboundFormat === 'csv'
        ? { format: 'csv', contentType: 'text/csv' }
        : undefined;
    case 'xml':
      return {
        format: partner.inboundFormat === 'ubl' ? 'ubl' : 'xml',
        contentType: 'application/xml',
      };
    default:
      return { format: 'json', contentType: 'application/json' };
  }
}

/**
 * The batch format a Content-Type names: application/x-ndjson (also application/ndjson,
 * application/jsonl) for NDJSON, otherwise whatever names XML or JSON for one document.
 */
export function batchFormatFromContentType(contentType: string): BatchFormat | undefined {
  if (CSV_TYPE.test(contentType.trim())) return 'csv';
  if (NDJSON_TYPES.test(contentType.trim())) {
    // The same charset rule as for one document: UTF-8 or nothing said.
    return formatFromContentType(contentType.trim().replace(NDJSON_TYPES, 'application/json$2'))
      ? 'ndjson'
      : undefined;
  }
  return formatFromContentType(contentType);
}

export interface SplitLimits {
  /** Largest document; larger ones are refused at their position. */
  maxDocumentBytes: number;
  /** Deepest bracket or element nesting the splitter follows before it calls the input broken. */
  maxNesting: number;
}

export const DEFAULT_SPLIT_LIMITS: Readonly<SplitLimits> = Object.freeze({
  maxDocumentBytes: DEFAULT_CODEC_LIMITS.maxBytes,
  // Far above any valid document (the codec allows 32); only bounds the splitter's own stack.
  maxNesting: 256,
});

export function splitBatch(
  source: AsyncIterable<Uint8Array>,
  format: BatchFormat,
  limits: Readonly<SplitLimits> = DEFAULT_SPLIT_LIMITS,
): AsyncGenerator<BatchItem> {
  switch (format) {
    case 'ndjson':
      return splitNdjson(source, limits);
    case 'json':
      return splitJson(source, limits);
    case 'xml':
      return splitXml(source, limits);
    case 'csv':
      return splitCsv(source, limits.maxDocumentBytes);
  }
}

/** The bytes of one document, gathered across chunks; past the limit only counted. */
class Capture {
  private parts: Buffer[] = [];
  private size = 0;
  readonly max: number;
  constructor(max: number) {
    this.max = max;
  }
  get oversize(): boolean {
    return this.size > this.max;
  }
  add(chunk: Buffer, start: number, end: number): void {
    if (end <= start) return;
    this.size += end - start;
    // Copies: a chunk may be a view into a buffer its producer reuses.
    if (this.size <= this.max) this.parts.push(Buffer.from(chunk.subarray(start, end)));
    else this.parts = [];
  }
  /** The bytes so far, and a fresh start. */
  take(): Buffer {
    const bytes = this.parts.length === 1 ? this.parts[0]! : Buffer.concat(this.parts);
    this.parts = [];
    this.size = 0;
    return bytes;
  }
}

const LF = 0x0a;
const CR = 0x0d;

function isSpace(byte: number): boolean {
  return byte === 0x20 || byte === 0x09 || byte === LF || byte === CR;
}

function blank(bytes: Buffer): boolean {
  for (const byte of bytes) if (!isSpace(byte)) return false;
  return true;
}

function asBuffer(chunk: Uint8Array): Buffer {
  return Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length);
}

function tooLarge(max: number): BatchItem {
  return {
    kind: 'refused',
    code: 'PAYLOAD_TOO_LARGE',
    message: `document is larger than ${max} bytes`,
  };
}

function broken(
  message: string,
  offset: number,
  code: ErrorCode = 'MALFORMED_DOCUMENT',
): BatchItem {
  return {
    kind: 'broken',
    code,
    message: `the batch cannot be read past byte ${offset}: ${message}`,
  };
}

const EMPTY: BatchItem = {
  kind: 'broken',
  code: 'MALFORMED_DOCUMENT',
  message: 'the batch is empty',
};

async function* splitNdjson(
  source: AsyncIterable<Uint8Array>,
  limits: Readonly<SplitLimits>,
): AsyncGenerator<BatchItem> {
  const line = new Capture(limits.maxDocumentBytes);
  let any = false;
  function finish(): BatchItem | undefined {
    if (line.oversize) {
      line.take();
      return tooLarge(line.max);
    }
    let bytes = line.take();
    if (bytes.length > 0 && bytes[bytes.length - 1] === CR) bytes = bytes.subarray(0, -1);
    return blank(bytes) ? undefined : { kind: 'document', bytes };
  }
  for await (const raw of source) {
    const chunk = asBuffer(raw);
    let start = 0;
    for (let end = chunk.indexOf(LF, start); end !== -1; end = chunk.indexOf(LF, start)) {
      line.add(chunk, start, end);
      const item = finish();
      if (item !== undefined) {
        any = true;
        yield item;
      }
      start = end + 1;
    }
    line.add(chunk, start, chunk.length);
  }
  const last = finish();
  if (last !== undefined) yield last;
  else if (!any) yield EMPTY;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;

/** The whole input as one document (a file or body that is not a batch). */
async function* wholeInput(
  first: Capture,
  rest: AsyncIterator<Uint8Array>,
): AsyncGenerator<BatchItem> {
  for (let next = await rest.next(); next.done !== true; next = await rest.next()) {
    const chunk = asBuffer(next.value);
    first.add(chunk, 0, chunk.length);
  }
  const oversize = first.oversize;
  const bytes = first.take();
  yield oversize ? tooLarge(first.max) : { kind: 'document', bytes };
}

async function* splitJson(
  source: AsyncIterable<Uint8Array>,
  limits: Readonly<SplitLimits>,
): AsyncGenerator<BatchItem> {
  const iterator = source[Symbol.asyncIterator]();
  // Until the first significant byte: kept, in case the input is one document.
  const head = new Capture(limits.maxDocumentBytes);
  const element = new Capture(limits.maxDocumentBytes);
  const stack: number[] = [];
  let state = 'start' as 'start' | 'before' | 'element' | 'after-comma' | 'after';
  let inString = false;
  let escaped = false;
  let offset = 0;

  function endElement(): BatchItem {
    if (element.oversize) {
      element.take();
      return tooLarge(element.max);
    }
    let bytes = element.take();
    let end = bytes.length;
    while (end > 0 && isSpace(bytes[end - 1]!)) end--;
    if (end < bytes.length) bytes = bytes.subarray(0, end);
    return { kind: 'document', bytes };
  }
  const missing: BatchItem = {
    kind: 'refused',
    code: 'MALFORMED_DOCUMENT',
    message: 'an array element is missing (two commas, or a comma before "]")',
  };

  for (let next = await iterator.next(); next.done !== true; next = await iterator.next()) {
    const chunk = asBuffer(next.value);
    let segment = 0; // where the element's bytes start in this chunk
    for (let i = 0; i < chunk.length; i++) {
      const byte = chunk[i]!;
      switch (state) {
        case 'start':
          if (isSpace(byte) || isBom(byte, offset + i)) continue;
          if (byte !== OPEN_BRACKET) {
            head.add(chunk, 0, chunk.length);
            yield* wholeInput(head, iterator);
            return;
          }
          head.take();
          state = 'before';
          continue;
        case 'before':
        case 'after-comma':
          if (isSpace(byte)) continue;
          if (byte === CLOSE_BRACKET) {
            if (state === 'after-comma') yield missing;
            state = 'after';
            continue;
          }
          if (byte === COMMA) {
            yield missing;
            state = 'after-comma';
            continue;
          }
          state = 'element';
          segment = i;
          break; // this byte starts the element: read it below
        case 'after':
          if (isSpace(byte)) continue;
          yield broken('content after the closing "]"', offset + i);
          return;
        case 'element':
          break;
      }
      // state === 'element'
      if (inString) {
        if (escaped) escaped = false;
        else if (byte === BACKSLASH) escaped = true;
        else if (byte === QUOTE) inString = false;
        continue;
      }
      if (byte === QUOTE) inString = true;
      else if (byte === OPEN_BRACE || byte === OPEN_BRACKET) {
        if (stack.length >= limits.maxNesting) {
          yield broken(`nested deeper than ${limits.maxNesting}`, offset + i);
          return;
        }
        stack.push(byte === OPEN_BRACE ? CLOSE_BRACE : CLOSE_BRACKET);
      } else if (byte === CLOSE_BRACE || byte === CLOSE_BRACKET) {
        if (stack.length > 0) {
          if (stack.pop() !== byte) {
            yield broken(
              `"${String.fromCharCode(byte)}" does not match its opening bracket`,
              offset + i,
            );
            return;
          }
        } else if (byte === CLOSE_BRACKET) {
          element.add(chunk, segment, i);
          yield endElement();
          state = 'after';
        } else {
          yield broken('"}" without a matching "{"', offset + i);
          return;
        }
      } else if (byte === COMMA && stack.length === 0) {
        element.add(chunk, segment, i);
        yield endElement();
        state = 'after-comma';
      }
    }
    if (state === 'element') element.add(chunk, segment, chunk.length);
    else if (state === 'start') head.add(chunk, 0, chunk.length);
    offset += chunk.length;
  }
  if (state === 'start')
    yield EMPTY; // nothing but whitespace
  else if (state !== 'after') yield broken('unexpected end: the array is not closed', offset);
}

/**
 * XML: a small tokenizer that knows tags, comments, CDATA and processing instructions, and keeps
 * a stack of open element names (bounded by maxNesting) so that a mismatched end tag is caught
 * where it stands instead of swallowing the documents after it. It does not judge a document's
 * content: the codec does, on each document's bytes.
 */
type XmlState =
  | 'text'
  | 'lt' // after '<'
  | 'start-name'
  | 'attributes'
  | 'end-name'
  | 'end-tail' // `</name  >`
  | 'bang' // after '<!'
  | 'comment'
  | 'cdata'
  | 'pi';

const LT = 0x3c;
const GT = 0x3e;
const SLASH = 0x2f;
const BANG = 0x21;
const QUESTION = 0x3f;
const APOSTROPHE = 0x27;
const DASH = 0x2d;
const CLOSE_SQUARE = 0x5d;
const MAX_NAME_BYTES = 200;
const MAX_ROOT_TAG_BYTES = 4096;
const MAX_DECLARATION_BYTES = 256;
const NAMESPACE_INSERT = Buffer.from(` xmlns="${NAKADACHI_NAMESPACE}"`);

function isBom(byte: number, at: number): boolean {
  return at < 3 && (byte === 0xef || byte === 0xbb || byte === 0xbf);
}

async function* splitXml(
  source: AsyncIterable<Uint8Array>,
  limits: Readonly<SplitLimits>,
): AsyncGenerator<BatchItem> {
  const iterator = source[Symbol.asyncIterator]();
  // Everything up to the root's decision: the whole input when it is one document.
  const head = new Capture(limits.maxDocumentBytes);
  const doc = new Capture(limits.maxDocumentBytes);
  const open: string[] = [];
  let state: XmlState = 'text';
  let offset = 0;
  let rootSeen = false;
  let namespaced = false; // <Batch xmlns="urn:nakadachi:1">: its children inherit it
  let capturing = false;
  let name = '';
  let rootTag = '';
  let quote = 0;
  let selfClosing = false;
  let bang = '';
  let tail = 0; // the last two bytes: '-->', ']]>', '?>'
  let declaration = '';

  /** The '<' was not a document's start after all: drop what a chunk end already copied. */
  function cancelCapture(): void {
    capturing = false;
    doc.take();
  }

  function endDocument(): BatchItem {
    capturing = false;
    if (doc.oversize) {
      doc.take();
      return tooLarge(doc.max);
    }
    const bytes = doc.take();
    return { kind: 'document', bytes, decodeAs: namespaced ? inheritNamespace(bytes) : undefined };
  }

  for (let next = await iterator.next(); next.done !== true; next = await iterator.next()) {
    const chunk = asBuffer(next.value);
    if (!rootSeen) head.add(chunk, 0, chunk.length);
    let segment = 0; // where the current document's bytes start in this chunk
    for (let i = 0; i < chunk.length; i++) {
      const byte = chunk[i]!;
      const at = offset + i;
      switch (state) {
        case 'text':
          if (byte === LT) {
            state = 'lt';
            // A child of <Batch> starts at its '<'; a comment, PI or `</Batch>` cancels that.
            if (open.length === 1) {
              capturing = true;
              segment = i;
            }
          } else if (open.length <= 1 && !isSpace(byte) && !isBom(byte, at)) {
            yield broken(
              open.length === 0 ? 'text outside the root element' : 'text between documents',
              at,
            );
            return;
          }
          continue;
        case 'lt':
          if (byte === SLASH) {
            state = 'end-name';
            name = '';
          } else if (byte === BANG) {
            state = 'bang';
            bang = '';
          } else if (byte === QUESTION) {
            state = 'pi';
            tail = 0;
            declaration = '';
          } else if (rootSeen && open.length === 0) {
            yield broken('content after the root element', at);
            return;
          } else {
            state = 'start-name';
            name = String.fromCharCode(byte);
            continue;
          }
          if (open.length === 1 && state !== 'bang') cancelCapture();
          continue;
        case 'end-name':
        case 'end-tail':
          if (byte !== GT) {
            if (isSpace(byte)) state = 'end-tail';
            else if (state === 'end-tail') {
              yield broken(`malformed end tag </${name}>`, at);
              return;
            } else if (name.length >= MAX_NAME_BYTES) {
              yield broken('element name is too long', at);
              return;
            } else name += String.fromCharCode(byte);
            continue;
          }
          {
            const expected = open.pop();
            if (expected !== name) {
              yield broken(
                expected === undefined
                  ? `end tag </${name}> without a start tag`
                  : `end tag </${name}> where </${expected}> belongs`,
                at,
              );
              return;
            }
          }
          state = 'text';
          if (capturing && open.length === 1) {
            doc.add(chunk, segment, i + 1);
            yield endDocument();
          }
          continue;
        case 'start-name':
          if (byte !== GT && byte !== SLASH && !isSpace(byte)) {
            if (name.length >= MAX_NAME_BYTES) {
              yield broken('element name is too long', at);
              return;
            }
            name += String.fromCharCode(byte);
            continue;
          }
          state = 'attributes';
          quote = 0;
          selfClosing = false;
          if (!rootSeen) rootTag = `<${name}`;
          break; // this byte belongs to the attributes: read it below
        case 'bang':
          bang += String.fromCharCode(byte);
          if (bang === '--') {
            state = 'comment';
            tail = 0;
            if (open.length === 1) cancelCapture();
          } else if (bang === '[CDATA[') {
            if (open.length < 2) {
              yield broken('CDATA outside a document', at);
              return;
            }
            state = 'cdata';
            tail = 0;
          } else if (!'--'.startsWith(bang) && !'[CDATA['.startsWith(bang)) {
            yield broken('DOCTYPE, ENTITY and other markup declarations are not allowed', at);
            return;
          }
          continue;
        case 'comment':
        case 'cdata': {
          const closer = state === 'comment' ? DASH : CLOSE_SQUARE;
          if (byte === GT && tail === ((closer << 8) | closer)) state = 'text';
          tail = ((tail << 8) | byte) & 0xffff;
          continue;
        }
        case 'pi':
          if (byte === GT && tail === QUESTION) {
            state = 'text';
            const encoding = rootSeen
              ? undefined
              : /^xml\s[^]*?encoding\s*=\s*["']([^"']*)["']/.exec(declaration)?.[1];
            if (encoding !== undefined && !/^utf-?8$/i.test(encoding)) {
              yield broken(`encoding "${encoding}" is not supported; use UTF-8`, at);
              return;
            }
            continue;
          }
          tail = byte;
          if (declaration.length < MAX_DECLARATION_BYTES) declaration += String.fromCharCode(byte);
          continue;
        case 'attributes':
          break;
      }

      // state === 'attributes'
      if (!rootSeen) {
        rootTag += String.fromCharCode(byte);
        if (rootTag.length > MAX_ROOT_TAG_BYTES) {
          yield broken('the root start tag is too long', at);
          return;
        }
      }
      if (quote !== 0) {
        if (byte === quote) quote = 0;
        continue;
      }
      if (byte === QUOTE || byte === APOSTROPHE) {
        quote = byte;
        continue;
      }
      if (byte !== GT) {
        selfClosing = byte === SLASH;
        continue;
      }
      state = 'text';
      if (!rootSeen) {
        rootSeen = true;
        if (name !== 'Batch') {
          // One document: the whole input, prolog included, as a single POST would send it.
          yield* wholeInput(head, iterator);
          return;
        }
        head.take();
        const namespace = /\sxmlns\s*=\s*(["'])(.*?)\1/.exec(rootTag)?.[2];
        if (namespace !== undefined && namespace !== NAKADACHI_NAMESPACE) {
          yield broken(`<Batch> must be in the namespace ${NAKADACHI_NAMESPACE}`, at);
          return;
        }
        namespaced = namespace !== undefined;
        if (!selfClosing) open.push(name); // `<Batch/>`: an empty batch
      } else if (selfClosing) {
        if (capturing && open.length === 1) {
          doc.add(chunk, segment, i + 1);
          yield endDocument();
        }
      } else if (open.length >= limits.maxNesting) {
        yield broken(`elements nested deeper than ${limits.maxNesting}`, at);
        return;
      } else {
        open.push(name);
      }
    }
    if (capturing) doc.add(chunk, segment, chunk.length);
    offset += chunk.length;
  }
  if (!rootSeen) {
    yield blank(head.take()) ? EMPTY : broken('no root element', offset);
  } else if (open.length > 0 || state !== 'text') {
    yield broken(`unexpected end: <${open[open.length - 1] ?? name}> is not closed`, offset);
  }
}

/**
 * The bytes the decoder reads for a child of a namespaced <Batch>: its start tag gains the
 * inherited default namespace, unless it declares one itself.
 */
function inheritNamespace(bytes: Buffer): Buffer | undefined {
  let end = 0;
  let quote = 0;
  for (; end < bytes.length; end++) {
    const byte = bytes[end]!;
    if (quote !== 0) {
      if (byte === quote) quote = 0;
    } else if (byte === QUOTE || byte === APOSTROPHE) quote = byte;
    else if (byte === GT) break;
  }
  const startTag = bytes.toString('latin1', 0, end);
  if (/\sxmlns\s*=/.test(startTag)) return undefined;
  let nameEnd = 1;
  while (nameEnd < end && !isSpace(bytes[nameEnd]!) && bytes[nameEnd] !== SLASH) nameEnd++;
  return Buffer.concat([bytes.subarray(0, nameEnd), NAMESPACE_INSERT, bytes.subarray(nameEnd)]);
}
