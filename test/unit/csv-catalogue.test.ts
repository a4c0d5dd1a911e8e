/**
 * CSV catalogues: the streaming row splitter keeps each row's exact bytes whatever the chunking
 * (quoted delimiters and line breaks included), refuses what it cannot read at the right place,
 * and each row decodes, with its header, to the ItemNotice it names — errors naming the column.
 */
import { Readable } from 'node:stream';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeCsvRow, splitCsv } from '../../adapters/csv/csv.ts';
import type { BatchItem } from '../../gateway/core/batches/batches.service.ts';
import { createSchemaRegistry } from '../../schemas/registry.ts';

const registry = createSchemaRegistry();
const NOW = () => new Date('2036-01-05T09:00:00Z');

const HEADER =
  'sellerItemId,name,category,releaseDate,listPrice.amount,listPrice.currency,quantityAvailable,regions,attributes.colour';
const ROWS = [
  'AZ-1,Aozora One,audio/headphones,2036-09-01,31000,JPY,500,JP|US,black',
  '"AZ-2","Aozora Two, ""quoted"" edition",audio/headphones,2036-09-01,32000.00,JPY,20,,"white\nand grey"',
  'AZ-3,Aozora Three,audio,2036-10-01,9800,JPY,5,DE,',
];
const CSV = `\uFEFF${HEADER}\r\n${ROWS.join('\r\n')}\r\n\r\n`;

async function split(text: string, chunk: number, max = 10_000): Promise<BatchItem[]> {
  const bytes = Buffer.from(text, 'utf8');
  const chunks: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += chunk) chunks.push(bytes.subarray(i, i + chunk));
  const items: BatchItem[] = [];
  for await (const item of splitCsv(Readable.from(chunks), max)) items.push(item);
  return items;
}

describe('splitting', () => {
  it('yields each data row with its exact bytes, and the header to decode it with', async () => {
    const items = await split(CSV, 7);
    expect(items).toHaveLength(3);
    items.forEach((item, i) => {
      expect(item.kind).toBe('document');
      if (item.kind !== 'document') return;
      expect(Buffer.from(item.bytes).toString('utf8')).toBe(ROWS[i]);
      expect(Buffer.from(item.decodeAs ?? []).toString('utf8')).toBe(`${HEADER}\n${ROWS[i]}`);
    });
  });

  it('cuts the same rows whatever the chunk size', async () => {
    const whole = await split(CSV, CSV.length);
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 64 }), async (size) => {
        expect(await split(CSV, size)).toEqual(whole);
      }),
      { numRuns: 30 },
    );
  });

  it('refuses an oversize row at its position and goes on', async () => {
    const long = `${HEADER}\n${ROWS[0]}\nBIG,${'x'.repeat(300)},a,2036-01-01,1,JPY,1,,\n${ROWS[2]}\n`;
    const items = await split(long, 16, 200);
    expect(items.map((i) => i.kind)).toEqual(['document', 'refused', 'document']);
    expect(items[1]).toMatchObject({ code: 'PAYLOAD_TOO_LARGE' });
  });

  it('breaks the whole file on an unknown column, and on an unclosed quote', async () => {
    expect(await split('sellerItemId,price\nA,1\n', 5)).toEqual([
      {
        kind: 'broken',
        code: 'MALFORMED_DOCUMENT',
        message: expect.stringContaining('unknown column "price"'),
      },
    ]);
    const unclosed = await split(`${HEADER}\n${ROWS[0]}\n"AZ-9,never closed\n`, 5);
    expect(unclosed.map((i) => i.kind)).toEqual(['document', 'broken']);
    expect(await split('', 5)).toEqual([
      expect.objectContaining({ kind: 'broken', message: 'the file has no header row' }),
    ]);
  });

  it('takes semicolons and tabs as the header uses them', async () => {
    const items = await split('sellerItemId;name\nA;Alpha\n', 4);
    expect(items).toHaveLength(1);
    const tabbed = await split('sellerItemId\tname\nA\tAlpha, with a comma\n', 4);
    expect(tabbed).toHaveLength(1);
  });
});

describe('decoding a row', () => {
  it('is the ItemNotice the row names, from the partner that sent it', async () => {
    const items = await split(CSV, 100);
    const decoded = items.map((item) =>
      item.kind === 'document'
        ? decodeCsvRow(item.decodeAs ?? item.bytes, 'SELLER-A', registry, NOW)
        : undefined,
    );
    expect(decoded[0]).toMatchObject({
      ok: true,
      document: {
        header: { type: 'ItemNotice', sender: 'SELLER-A', sentAt: '2036-01-05T09:00:00.000Z' },
        body: {
          sellerItemId: 'AZ-1',
          name: 'Aozora One',
          category: 'audio/headphones',
          releaseDate: '2036-09-01',
          listPrice: { amount: '31000', currency: 'JPY' },
          quantityAvailable: 500,
          regions: ['JP', 'US'],
          attributes: [{ name: 'colour', value: 'black' }],
        },
      },
    });
    expect(decoded[1]).toMatchObject({
      ok: true,
      document: {
        body: {
          name: 'Aozora Two, "quoted" edition',
          listPrice: { amount: '32000.00', currency: 'JPY' },
          attributes: [{ name: 'colour', value: 'white\nand grey' }],
        },
      },
    });
    const first = decoded[0];
    expect(first?.ok && first.document.header.messageId).toMatch(/^CSV-[0-9a-f]{32}$/);
  });

  it('names the row by its bytes: the same row the same messageId, a changed row another', () => {
    const row = (price: string) =>
      Buffer.from(`${HEADER}\nAZ-1,Aozora One,audio,2036-09-01,${price},JPY,500,,`, 'utf8');
    const id = (bytes: Buffer) => {
      const result = decodeCsvRow(bytes, 'SELLER-A', registry, NOW);
      return result.ok ? result.document.header.messageId : undefined;
    };
    expect(id(row('31000'))).toBe(id(row('31000')));
    expect(id(row('31000'))).not.toBe(id(row('30000')));
  });

  it('names the column of a value the schema refuses', () => {
    const bad = Buffer.from(
      `${HEADER}\nAZ-1,Aozora,Audio Stuff,2036-09-01,31 000,JPY,many,,`,
      'utf8',
    );
    const result = decodeCsvRow(bad, 'SELLER-A', registry, NOW);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.code).toBe('SCHEMA_VIOLATION');
    expect(result.errors.map((e) => [e.path, e.message.split(':')[0]])).toEqual(
      expect.arrayContaining([
        ['/body/category', 'column category'],
        ['/body/listPrice/amount', 'column listPrice.amount'],
        ['/body/quantityAvailable', 'column quantityAvailable'],
      ]),
    );
  });

  it('takes a messageId and sentAt column when given', () => {
    const given = Buffer.from(
      'messageId,sentAt,sellerItemId,name,category,releaseDate,listPrice.amount,listPrice.currency,quantityAvailable\n' +
        'S-1,2036-01-01T00:00:00Z,AZ-1,A,audio,2036-09-01,1,JPY,1',
      'utf8',
    );
    expect(decodeCsvRow(given, 'SELLER-A', registry, NOW)).toMatchObject({
      ok: true,
      document: { header: { messageId: 'S-1', sentAt: '2036-01-01T00:00:00Z' } },
    });
  });
});
