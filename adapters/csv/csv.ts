/**
 * CSV catalogues for sellers: a header row naming canonical ItemNotice fields, then one
 * ItemNotice per row, through the batch path (POST /v1/batches, file drop) like any batch.
 *
 *   sellerItemId,name,category,releaseDate,listPrice.amount,listPrice.currency,quantityAvailable,regions,attributes.colour
 *   AZ-HP-1,"Aozora Headphones, black",audio/headphones,2036-09-01,31000,JPY,500,JP|US,black
 *
 * Columns: the ItemNotice body fields (listPrice as listPrice.amount and listPrice.currency,
 * regions separated by '|', one `attributes.<name>` column per attribute), and optionally
 * messageId and sentAt. Without a messageId column a row's messageId is derived from its bytes,
 * so a file dropped again replays its receipts and a changed row is a new notice. The delimiter
 * is the header's: comma, semicolon or tab. RFC 4180 quoting (a quoted field may hold the
 * delimiter, quotes doubled, and line breaks).
 *
 * Splitting is streamed: each row's exact bytes are what the log keeps and the receipt digests;
 * the decoder reads the header with it (BatchItem.decodeAs), so each row stands on its own.
 */
import { createHash } from 'node:crypto';
import type { BatchItem } from '../../gateway/core/batches/batches.service.ts';
import type { CanonicalDocument } from '../../gateway/core/document.ts';
import type { ErrorCode, ErrorDetail } from '../../gateway/core/errors.ts';
import type { SchemaRegistry } from '../../schemas/registry.ts';
import { inputText, NON_XML_CHAR, safeMessage } from '../codec/common.ts';

/** Columns that are not an ItemNotice body field as such. */
const SPECIAL = new Set(['messageId', 'sentAt', 'listPrice.amount', 'listPrice.currency']);
const BODY_COLUMNS = new Set([
  'sellerItemId',
  'itemId',
  'gtin',
  'name',
  'description',
  'category',
  'releaseDate',
  'quantityAvailable',
  'regions',
]);
const ATTRIBUTE = /^attributes\.(.{1,64})$/;

export const CSV_COLUMNS = [...BODY_COLUMNS, ...SPECIAL, 'attributes.<name>'];

/** The first problem with a header row's column names, if any. */
export function headerProblem(columns: readonly string[]): string | undefined {
  const seen = new Set<string>();
  for (const column of columns) {
    if (seen.has(column)) return `column ${column} appears twice`;
    seen.add(column);
    if (!BODY_COLUMNS.has(column) && !SPECIAL.has(column) && !ATTRIBUTE.test(column)) {
      return `unknown column "${column}": columns are ${CSV_COLUMNS.join(', ')}`;
    }
  }
  if (!seen.has('listPrice.amount') !== !seen.has('listPrice.currency')) {
    return 'listPrice needs both listPrice.amount and listPrice.currency';
  }
  return undefined;
}

function delimiterOf(headerLine: string): string {
  for (const candidate of [',', ';', '\t']) if (headerLine.includes(candidate)) return candidate;
  return ',';
}

/** RFC 4180 records of a text (with its delimiter); unterminated quotes are an error. */
export function parseRecords(text: string, delimiter: string): string[][] | string {
  const records: string[][] = [];
  let record: string[] = [];
  let field = '';
  let quoted = false;
  let i = 0;
  while (i < text.length) {
    const char = text[i] ?? '';
    if (quoted) {
      if (char === '"' && text[i + 1] === '"') {
        field += '"';
        i += 2;
        continue;
      }
      if (char === '"') quoted = false;
      else field += char;
      i += 1;
      continue;
    }
    if (char === '"' && field === '') quoted = true;
    else if (char === delimiter) {
      record.push(field);
      field = '';
    } else if (char === '\n' || char === '\r') {
      record.push(field);
      records.push(record);
      record = [];
      field = '';
      if (char === '\r' && text[i + 1] === '\n') i += 1;
    } else field += char;
    i += 1;
  }
  if (quoted) return 'a quoted field is not closed';
  if (field !== '' || record.length > 0) {
    record.push(field);
    records.push(record);
  }
  return records.filter((r) => r.some((f) => f.trim() !== ''));
}

// --- splitting ----------------------------------------------------------------------------

const QUOTE = 0x22;
const LF = 0x0a;
const CR = 0x0d;
const BOM = [0xef, 0xbb, 0xbf];
const DELIMITERS = [0x2c, 0x3b, 0x09]; // , ; tab

/** Where the splitter stands in a record: quotes mean something only at a field's start. */
type Position = 'field-start' | 'unquoted' | 'quoted' | 'quote-in-quoted';

function trimLineEnd(bytes: Buffer): Buffer {
  let end = bytes.length;
  while (end > 0 && (bytes[end - 1] === LF || bytes[end - 1] === CR)) end -= 1;
  return bytes.subarray(0, end);
}

function blank(bytes: Buffer): boolean {
  for (const byte of bytes)
    if (byte !== 0x20 && byte !== 0x09 && byte !== CR && byte !== LF) return false;
  return true;
}

/**
 * The data rows of a CSV catalogue, one item each, in order. A header that names unknown
 * columns breaks the whole file (nothing can be read right); an oversize row is refused at its
 * position; an unclosed quote breaks the rest.
 */
export async function* splitCsv(
  source: AsyncIterable<Uint8Array>,
  maxRowBytes: number,
): AsyncGenerator<BatchItem> {
  let header: Buffer | undefined;
  let delimiters = DELIMITERS; // any of them until the header says which
  let parts: Buffer[] = [];
  let size = 0;
  let position: Position = 'field-start';

  function* finish(): Generator<BatchItem> {
    const oversize = size > maxRowBytes;
    const row = trimLineEnd(Buffer.concat(parts));
    parts = [];
    size = 0;
    if (oversize) {
      yield {
        kind: 'refused',
        code: 'PAYLOAD_TOO_LARGE',
        message: `row is larger than ${maxRowBytes} bytes`,
      };
      return;
    }
    if (blank(row)) return;
    if (header === undefined) {
      // A byte order mark says nothing the header needs (it may have come in pieces).
      header = BOM.every((b, i) => row[i] === b) ? row.subarray(3) : row;
      const text = header.toString('utf8');
      const delimiter = delimiterOf(text);
      delimiters = [delimiter.charCodeAt(0)];
      const records = parseRecords(text, delimiter);
      const problem =
        typeof records === 'string'
          ? records
          : headerProblem((records[0] ?? []).map((c) => c.trim()));
      if (problem !== undefined) yield broken('MALFORMED_DOCUMENT', `header row: ${problem}`);
      return;
    }
    yield {
      kind: 'document',
      bytes: row,
      decodeAs: Buffer.concat([header, Buffer.from('\n'), row]),
    };
  }

  function take(piece: Buffer): void {
    size += piece.length;
    // Copies: a chunk may be a view into a buffer its producer reuses. Past the limit: counted only.
    if (size <= maxRowBytes + 2) parts.push(Buffer.from(piece));
  }

  for await (const chunk of source) {
    const bytes = Buffer.isBuffer(chunk)
      ? chunk
      : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length);
    let start = 0;
    for (let i = 0; i < bytes.length; i++) {
      const byte = bytes[i] ?? 0;
      const delimiter = delimiters.includes(byte);
      switch (position) {
        case 'quoted':
          if (byte === QUOTE) position = 'quote-in-quoted';
          continue;
        case 'quote-in-quoted':
          // A second quote is an escaped quote; anything else closed the field.
          if (byte === QUOTE) {
            position = 'quoted';
            continue;
          }
          break;
        case 'field-start':
          if (byte === QUOTE) {
            position = 'quoted';
            continue;
          }
          break;
        case 'unquoted':
          break;
      }
      if (byte === LF) {
        take(bytes.subarray(start, i + 1));
        start = i + 1;
        position = 'field-start';
        for (const item of finish()) {
          yield item;
          if (item.kind === 'broken') return;
        }
      } else position = delimiter ? 'field-start' : 'unquoted';
    }
    take(bytes.subarray(start));
  }
  if (position === 'quoted') {
    yield broken('MALFORMED_DOCUMENT', 'a quoted field is not closed before the end of the file');
    return;
  }
  for (const item of finish()) yield item;
  if (header === undefined) yield broken('MALFORMED_DOCUMENT', 'the file has no header row');
}

function broken(code: ErrorCode, message: string): BatchItem {
  return { kind: 'broken', code, message };
}

// --- decoding -----------------------------------------------------------------------------

export type CsvDecodeResult =
  | { ok: true; document: CanonicalDocument; derived: CanonicalDocument[] }
  | { ok: false; code: ErrorCode; errors: ErrorDetail[]; decoded?: unknown };

function fail(code: ErrorCode, message: string): CsvDecodeResult {
  return { ok: false, code, errors: [{ path: '', code, message: safeMessage(message) }] };
}

/** The column a canonical pointer came from, for messages. */
function columnOf(pointer: string): string | undefined {
  const match = /^\/body\/(listPrice)\/(amount|currency)|^\/body\/([A-Za-z]+)/.exec(pointer);
  if (match === null) return pointer.startsWith('/header/') ? pointer.slice(8) : undefined;
  return match[1] !== undefined ? `${match[1]}.${match[2] ?? ''}` : match[3];
}

/**
 * A header row and one data row → an ItemNotice from `sender`, validated like any document;
 * problems at the canonical pointer, naming the column.
 */
export function decodeCsvRow(
  input: Uint8Array,
  sender: string,
  registry: SchemaRegistry,
  now: () => Date = () => new Date(),
): CsvDecodeResult {
  const read = inputText(input, Number.MAX_SAFE_INTEGER);
  if (!read.ok) return { ok: false, code: read.error.code as ErrorCode, errors: [read.error] };
  const bad = NON_XML_CHAR.exec(read.text);
  if (bad !== null) return fail('MALFORMED_DOCUMENT', 'the row holds a control character');
  const newline = read.text.indexOf('\n');
  const delimiter = delimiterOf(newline === -1 ? read.text : read.text.slice(0, newline));
  const records = parseRecords(read.text, delimiter);
  if (typeof records === 'string') return fail('MALFORMED_DOCUMENT', records);
  const [columns = [], row = [], ...rest] = records;
  if (rest.length > 0 || records.length < 2) {
    return fail(
      'MALFORMED_DOCUMENT',
      'one CSV document is a header row and one data row: send a catalogue of several rows to /v1/batches or drop it as a file',
    );
  }
  const names = columns.map((c) => c.trim());
  const problem = headerProblem(names);
  if (problem !== undefined) return fail('MALFORMED_DOCUMENT', problem);
  if (row.length > names.length) {
    return fail(
      'MALFORMED_DOCUMENT',
      `the row has ${row.length} fields, the header ${names.length}`,
    );
  }

  const body: Record<string, unknown> = {};
  const header: Record<string, unknown> = { type: 'ItemNotice', sender };
  const attributes: { name: string; value: string }[] = [];
  const money: Record<string, string> = {};
  names.forEach((name, i) => {
    const value = (row[i] ?? '').trim();
    if (value === '') return;
    const attribute = ATTRIBUTE.exec(name)?.[1];
    if (attribute !== undefined) attributes.push({ name: attribute, value });
    else if (name === 'messageId' || name === 'sentAt') header[name] = value;
    else if (name === 'listPrice.amount') money.amount = value;
    else if (name === 'listPrice.currency') money.currency = value;
    else if (name === 'quantityAvailable')
      body[name] = /^(0|[1-9]\d{0,14})$/.test(value) ? Number(value) : value;
    else if (name === 'regions') body[name] = value.split(/[|\s]+/).filter((r) => r !== '');
    else body[name] = value;
  });
  if (money.amount !== undefined || money.currency !== undefined) body.listPrice = money;
  if (attributes.length > 0) body.attributes = attributes;
  // The row's own bytes name it: the same row again is the same notice (its receipt replayed).
  header.messageId ??= `CSV-${createHash('sha256').update(input).digest('hex').slice(0, 32)}`;
  header.sentAt ??= now().toISOString();
  const document = { header, body };

  const checked = registry.validate(document, 'ItemNotice');
  if (checked.ok) return { ok: true, document: checked.document, derived: [checked.document] };
  return {
    ok: false,
    code: 'SCHEMA_VIOLATION',
    errors: checked.errors.map((error) => {
      const column = columnOf(error.path);
      return column === undefined
        ? error
        : { ...error, message: `column ${column}: ${error.message}` };
    }),
    decoded: document,
  };
}
