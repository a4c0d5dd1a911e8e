/**
 * The receipts of a batch, one entry per position in the batch's own format:
 *
 *  - JSON: an array; NDJSON and CSV: one line per entry (line n answers document n — for CSV,
 *    data row n, the line after the header's n-th);
 *  - XML: `<Receipts xmlns="urn:nakadachi:1">` holding one element per entry.
 *
 * An entry is the document's signed Receipt, exactly as `POST /v1/documents` returns it (accepted,
 * replayed, or rejected with the document's messageId), or — for a position whose messageId could
 * not be read (not a document, too large, the unreadable rest) — an unsigned Rejection:
 * `{ "position", "status": "rejected", "errors": [{ path, code, message }] }` /
 * `<Rejection><Position/><Status/><Errors><Error><Path/><Code/><Message/></Error></Errors></Rejection>`.
 */
import { create } from 'xmlbuilder2';
import type { BatchEntry } from '../../gateway/core/batches/batches.service.ts';
import type { CanonicalDocument } from '../../gateway/core/document.ts';
import type { ErrorDetail } from '../../gateway/core/errors.ts';
import type { SchemaRegistry } from '../../schemas/registry.ts';
import type { BatchFormat } from './batch-split.ts';
import { encodeDocument } from './index.ts';
import { NAKADACHI_NAMESPACE } from './xml.ts';

export interface RejectionEntry {
  position: number;
  status: 'rejected';
  errors: readonly ErrorDetail[];
}

/** An entry as JSON: what the JSON forms carry, and what the file-drop journal keeps. */
export type EntryJson = CanonicalDocument | RejectionEntry;

export function entryJson(entry: BatchEntry): EntryJson {
  if (entry.kind === 'receipt') return entry.receipt;
  return {
    position: entry.position,
    status: 'rejected',
    errors: entry.errors.map(({ path, code, message }) => ({ path, code, message })),
  };
}

export function isRejectionEntry(value: EntryJson): value is RejectionEntry {
  return !('header' in value);
}

export const RECEIPTS_CONTENT_TYPES: Readonly<Record<BatchFormat, string>> = {
  xml: 'application/xml; charset=utf-8',
  json: 'application/json; charset=utf-8',
  ndjson: 'application/x-ndjson; charset=utf-8',
  csv: 'application/x-ndjson; charset=utf-8',
};

/** How a receipts document is put together: open, each entry (with its separator), close. */
export interface ReceiptsLayout {
  open: string;
  entry(value: EntryJson, first: boolean): string;
  close: string;
}

const XML_DECLARATION = /^<\?xml[^?]*\?>\s*/;

export function receiptsLayout(format: BatchFormat, registry: SchemaRegistry): ReceiptsLayout {
  switch (format) {
    case 'ndjson':
    case 'csv':
      return { open: '', entry: (value) => `${JSON.stringify(value)}\n`, close: '' };
    case 'json':
      return {
        open: '[',
        entry: (value, first) => `${first ? '\n' : ',\n'}${JSON.stringify(value)}`,
        close: '\n]\n',
      };
    case 'xml':
      return {
        open: `<?xml version="1.0" encoding="UTF-8"?>\n<Receipts xmlns="${NAKADACHI_NAMESPACE}">\n`,
        entry: (value) => `${entryXml(value, registry)}\n`,
        close: '</Receipts>\n',
      };
  }
}

function entryXml(value: EntryJson, registry: SchemaRegistry): string {
  if (!isRejectionEntry(value)) {
    return encodeDocument(value, 'xml', registry).replace(XML_DECLARATION, '');
  }
  const root = create().ele(NAKADACHI_NAMESPACE, 'Rejection');
  root.ele('Position').txt(String(value.position));
  root.ele('Status').txt(value.status);
  const errors = root.ele('Errors');
  for (const error of value.errors) {
    const item = errors.ele('Error');
    // An empty path is an empty element, as in a Receipt.
    const path = item.ele('Path');
    if (error.path !== '') path.txt(error.path);
    item.ele('Code').txt(error.code);
    item.ele('Message').txt(error.message);
  }
  return root.end({ headless: true, wellFormed: true });
}
