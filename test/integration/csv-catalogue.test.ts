/**
 * A seller's CSV catalogue through POST /v1/batches and through file drop: one ItemNotice per
 * row in order, each row's bytes digested and logged as sent, the receipts one NDJSON line per
 * data row with the failures in their place; the same file again replays its receipts. Only a
 * partner registered to send CSV may.
 */
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readReceipts, sha256 } from '../support/batches.ts';
import {
  dropFile,
  prepareDropFolders,
  receiptOfFile,
  scanDropFolders,
  tempRoot,
} from '../support/file-drop.ts';
import {
  registerPartner,
  startTestGateway,
  type RegisteredPartner,
  type TestGateway,
} from '../support/gateway.ts';

let gateway: TestGateway;
let root: string;
let seller: RegisteredPartner;
let other: RegisteredPartner;

beforeAll(async () => {
  root = tempRoot();
  gateway = await startTestGateway({ FILE_DROP_ROOT: root });
  seller = await registerPartner(gateway, { id: 'CSV-SELLER', roles: ['seller'], format: 'csv' });
  other = await registerPartner(gateway, { id: 'JSON-SELLER', roles: ['seller'] });
});

afterAll(async () => {
  await gateway.close();
  fs.rmSync(root, { recursive: true, force: true });
});

const HEADER =
  'sellerItemId,name,category,releaseDate,listPrice.amount,listPrice.currency,quantityAvailable,regions,attributes.colour';

function catalogue(prefix: string): { text: string; rows: string[] } {
  const rows = [
    `${prefix}-1,"Aozora One, black",audio/headphones,2036-09-01,31000,JPY,500,JP|US,black`,
    `${prefix}-2,Aozora Two,Audio Gear,2036-09-01,32000,JPY,20,,white`,
    `${prefix}-3,Aozora Three,audio,2036-10-01,9800.5,JPY,5,DE,`,
    `${prefix}-4,Aozora Four,audio,2036-10-01,9800,JPY,5,DE,red`,
  ];
  return { text: `${HEADER}\n${rows.join('\n')}\n`, rows };
}

/** Row 2 has a bad category, row 3 yen with decimals; rows 1 and 4 are good. */
function expectCatalogueReceipts(text: string, rows: string[]) {
  const entries = readReceipts(text, 'csv');
  expect(entries.map((e) => [e.status, e.codes[0]])).toEqual([
    ['accepted', undefined],
    ['rejected', 'SCHEMA_VIOLATION'],
    ['rejected', 'AMOUNT_PRECISION'],
    ['accepted', undefined],
  ]);
  entries.forEach((entry, i) => expect(entry.digest, `row ${i + 1}`).toBe(sha256(rows[i]!)));
  return entries;
}

function postCatalogue(partner: RegisteredPartner, text: string) {
  return gateway.app.request('/v1/batches', {
    method: 'POST',
    headers: {
      authorization: `Bearer ${partner.apiKey}`,
      'content-type': 'text/csv; charset=utf-8',
    },
    body: text,
  });
}

describe('POST /v1/batches with text/csv', () => {
  it('takes one ItemNotice per row, with one receipt line per row', async () => {
    const { text, rows } = catalogue('B');
    const response = await postCatalogue(seller, text);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^application\/x-ndjson/);
    const body = await response.text();
    const entries = expectCatalogueReceipts(body, rows);
    expect(entries[0]?.assigned.itemId).toMatch(/^ITM-/);

    const offers = await gateway.database.db
      .selectFrom('offers')
      .select(['seller_item_id', 'list_price_minor'])
      .where('seller_id', '=', 'CSV-SELLER')
      .orderBy('seller_item_id')
      .execute();
    expect(offers).toEqual([
      { seller_item_id: 'B-1', list_price_minor: 31000n },
      { seller_item_id: 'B-4', list_price_minor: 9800n },
    ]);
    const logged = await gateway.database.db
      .selectFrom('message_log')
      .select(['body', 'detail'])
      .where('message_id', '=', entries[0]!.messageId!)
      .executeTakeFirstOrThrow();
    expect(Buffer.from(logged.body!).toString('utf8')).toBe(rows[0]);
    expect(logged.detail).toMatchObject({ canonical: [{ body: { name: 'Aozora One, black' } }] });

    // The same catalogue again: the same receipts, nothing revised twice.
    const again = readReceipts(await (await postCatalogue(seller, text)).text(), 'csv');
    expect([again[0]?.receiptId, again[3]?.receiptId]).toEqual([
      entries[0]?.receiptId,
      entries[3]?.receiptId,
    ]);
    expect(again[1]?.status).toBe('rejected');
  });

  it('refuses the whole file on a header it cannot read', async () => {
    const response = await postCatalogue(seller, 'sellerItemId,price\nX,1\n');
    expect(response.status).toBe(400);
    expect(await response.text()).toContain('unknown column');
  });

  it('refuses CSV from a partner not registered for it', async () => {
    const response = await postCatalogue(other, catalogue('N').text);
    expect(response.status).toBe(415);
    expect(await response.text()).toContain('not registered to send CSV');
  });
});

describe('file drop of a .csv catalogue', () => {
  it('gets a receipt file with one line per row', async () => {
    await prepareDropFolders(root, ['CSV-SELLER']);
    const { text, rows } = catalogue('F');
    dropFile(root, 'CSV-SELLER', 'spring.csv', text);
    await scanDropFolders(gateway, root, ['CSV-SELLER']);
    expectCatalogueReceipts(await receiptOfFile(root, 'CSV-SELLER', 'spring.csv', 2000), rows);
  });
});
