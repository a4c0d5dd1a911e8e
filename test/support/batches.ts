/**
 * Batches under test (POST /v1/batches and file drop): documents to put in them, a batch that
 * mixes every kind of outcome with the entry each must get, and a reader for receipts in all
 * three formats that checks every Receipt against its schema.
 */
import { createHash } from 'node:crypto';
import { expect } from 'vitest';
import { decodeDocument } from '../../adapters/codec/index.ts';
import type { BatchFormat } from '../../adapters/codec/batch-split.ts';
import { newId } from '../../gateway/core/ids.ts';
import { createSchemaRegistry, type SchemaRegistry } from '../../schemas/registry.ts';
import { exampleDocument, exampleText, type TestDocument } from './documents.ts';

let registry: SchemaRegistry | undefined;

export function sha256(bytes: string | Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** A fresh ItemNotice (own messageId and seller item id) from `sender`, as a JSON object. */
export function itemNotice(sender: string, body: Record<string, unknown> = {}): TestDocument {
  return exampleDocument('ItemNotice', sender, {
    sellerItemId: newId('SKU'),
    gtin: undefined,
    ...body,
  });
}

/**
 * A fresh ItemNotice in XML without the declaration; `inherit` drops its namespace so that it
 * takes the one of the enclosing `<Batch>`.
 */
export function itemNoticeXml(sender: string, options: { inherit?: boolean } = {}): string {
  const xml = exampleText('ItemNotice', 'xml')
    .replace(/^<\?xml[^?]*\?>\s*/, '')
    .replace(/<MessageId>[^<]*</, `<MessageId>${newId(sender)}<`)
    .replace(/<Sender>[^<]*</, `<Sender>${sender}<`)
    .replace(/<SellerItemId>[^<]*</, `<SellerItemId>${newId('SKU')}<`)
    .replace(/\s*<Gtin>[^<]*<\/Gtin>/, '')
    .trim();
  return options.inherit === true ? xml.replace(' xmlns="urn:nakadachi:1"', '') : xml;
}

export interface Expected {
  status: 'accepted' | 'rejected';
  /** The error code of a rejection. */
  code?: string;
  /** False: an unsigned Rejection (no readable messageId). */
  receipt: boolean;
  /** The receipt must be the very one of this earlier position (1-based). */
  replayOf?: number;
}

export interface MixedBatch {
  /** The documents' exact texts, in order. */
  documents: string[];
  expected: Expected[];
  /** A document accepted before the batch (position 7 repeats it). */
  earlier: string;
}

/** Every outcome a batch position can have, in JSON: valid, invalid, unreadable, duplicates. */
export function mixedJsonBatch(sender: string): MixedBatch {
  const valid = JSON.stringify(itemNotice(sender));
  const invalid = itemNotice(sender);
  delete invalid.body.name;
  const reused = JSON.parse(valid) as TestDocument;
  reused.body.quantityAvailable = 1;
  const earlier = JSON.stringify(itemNotice(sender));
  const otherSender = itemNotice('SOMEONE-ELSE');
  return {
    earlier,
    documents: [
      valid,
      JSON.stringify(invalid),
      '{"header": not json}', // brackets balanced: it spoils only itself, in an array too
      valid,
      JSON.stringify(reused),
      JSON.stringify(itemNotice(sender)),
      earlier,
      JSON.stringify(otherSender),
    ],
    expected: [
      { status: 'accepted', receipt: true },
      { status: 'rejected', code: 'SCHEMA_VIOLATION', receipt: true },
      { status: 'rejected', code: 'MALFORMED_DOCUMENT', receipt: false },
      { status: 'accepted', receipt: true, replayOf: 1 },
      { status: 'rejected', code: 'MESSAGE_ID_REUSED', receipt: true },
      { status: 'accepted', receipt: true },
      { status: 'accepted', receipt: true },
      { status: 'rejected', code: 'SENDER_MISMATCH', receipt: true },
    ],
  };
}

/** One entry of a receipts document, normalised across the formats. */
export interface SeenEntry {
  kind: 'receipt' | 'rejection';
  status: string;
  position?: number;
  receiptId?: string;
  messageId?: string;
  digest?: string;
  codes: string[];
  assigned: Record<string, string>;
}

function fromReceipt(value: unknown, format: 'xml' | 'json', text?: string): SeenEntry {
  registry ??= createSchemaRegistry();
  const decoded = decodeDocument(text ?? JSON.stringify(value), format, registry);
  if (!decoded.ok) throw new Error(`not a valid Receipt: ${JSON.stringify(decoded.errors)}`);
  expect(decoded.document.header.type).toBe('Receipt');
  const body = decoded.document.body as Record<string, any>;
  return {
    kind: 'receipt',
    status: body.status,
    receiptId: body.receiptId,
    messageId: body.messageId,
    digest: body.digest,
    codes: (body.errors as { code: string }[]).map((e) => e.code),
    assigned: Object.fromEntries(
      (body.assigned as { name: string; value: string }[]).map((a) => [a.name, a.value]),
    ),
  };
}

function fromJson(value: Record<string, any>): SeenEntry {
  if ('header' in value) return fromReceipt(value, 'json');
  expect(Object.keys(value).sort()).toEqual(['errors', 'position', 'status']);
  return {
    kind: 'rejection',
    status: value.status,
    position: value.position,
    codes: (value.errors as { code: string }[]).map((e) => e.code),
    assigned: {},
  };
}

/** The entries of a receipts document in `format`, each Receipt validated by its schema. */
export function readReceipts(text: string, format: BatchFormat): SeenEntry[] {
  switch (format) {
    case 'json':
      return (JSON.parse(text) as Record<string, any>[]).map(fromJson);
    case 'ndjson':
    case 'csv':
      expect(text === '' || text.endsWith('\n')).toBe(true);
      return text
        .split('\n')
        .filter((line) => line !== '')
        .map((line) => fromJson(JSON.parse(line)));
    case 'xml': {
      expect(text).toMatch(
        /^<\?xml version="1.0" encoding="UTF-8"\?>\n<Receipts xmlns="urn:nakadachi:1">/,
      );
      expect(text.trimEnd().endsWith('</Receipts>')).toBe(true);
      const entries: SeenEntry[] = [];
      for (const match of text.matchAll(/<(Receipt|Rejection)[\s>][\s\S]*?<\/\1>/g)) {
        if (match[1] === 'Receipt') {
          entries.push(fromReceipt(undefined, 'xml', match[0]));
          continue;
        }
        entries.push({
          kind: 'rejection',
          status: /<Status>([^<]*)</.exec(match[0])![1]!,
          position: Number(/<Position>([^<]*)</.exec(match[0])![1]),
          codes: [...match[0].matchAll(/<Code>([^<]*)</g)].map((m) => m[1]!),
          assigned: {},
        });
      }
      return entries;
    }
  }
}

/** Each entry as expected: status, code, signed or not, replays, and the digest of its bytes. */
export function expectEntries(
  entries: readonly SeenEntry[],
  documents: readonly string[],
  expected: readonly Expected[],
): void {
  expect(entries).toHaveLength(expected.length);
  expected.forEach((want, i) => {
    const entry = entries[i]!;
    const where = `position ${i + 1}`;
    expect(entry.kind, where).toBe(want.receipt ? 'receipt' : 'rejection');
    expect(entry.status, where).toBe(want.status);
    if (want.code !== undefined) expect(entry.codes, where).toContain(want.code);
    if (entry.kind === 'rejection') expect(entry.position, where).toBe(i + 1);
    if (want.replayOf !== undefined) {
      expect(entry.receiptId, where).toBe(entries[want.replayOf - 1]!.receiptId);
    } else if (entry.kind === 'receipt') {
      expect(entry.digest, where).toBe(sha256(documents[i]!));
    }
  });
}
