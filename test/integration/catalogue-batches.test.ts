/**
 * ItemNotices that share a transaction (a batch, a file drop, concurrent requests): their new
 * items go in together, in one statement (insertNewItems, gathered by group commit) — and every
 * batch still means exactly what its documents would mean sent one by one: a revision of an item
 * created earlier in the batch, a second offer under the same GTIN and a released item all get
 * the answer they get alone.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { itemNotice, readReceipts, type SeenEntry } from '../support/batches.ts';
import type { TestDocument } from '../support/documents.ts';
import {
  registerPartner,
  startTestGateway,
  type RegisteredPartner,
  type TestGateway,
} from '../support/gateway.ts';
import { queuedFor } from '../support/outbox.ts';

let gateway: TestGateway;
let seller: RegisteredPartner;

beforeAll(async () => {
  gateway = await startTestGateway({ BATCH_BODY_LIMIT_BYTES: '1048576' });
  seller = await registerPartner(gateway, { id: 'CAT-BATCHER', roles: ['seller'] });
  await registerPartner(gateway, { id: 'CAT-WATCHER', roles: ['buyer'] });
  const subscribed = await gateway.admin('PUT', '/admin/v1/partners/CAT-WATCHER/feeds/items', {
    mode: 'immediate',
    categories: ['batch/immediate'],
  });
  expect(subscribed.status).toBe(200);
});
afterAll(() => gateway.close());

async function postNdjson(documents: readonly TestDocument[]): Promise<SeenEntry[]> {
  const response = await gateway.app.request('/v1/batches', {
    method: 'POST',
    headers: {
      authorization: `Bearer ${seller.apiKey}`,
      'content-type': 'application/x-ndjson',
    },
    body: documents.map((d) => JSON.stringify(d)).join('\n') + '\n',
  });
  expect(response.status).toBe(200);
  return readReceipts(await response.text(), 'ndjson');
}

const notice = (body: Record<string, unknown> = {}) => itemNotice(seller.id, body);

async function offerRows(itemIds: readonly string[]) {
  return gateway.database.db
    .selectFrom('offers')
    .innerJoin('items', 'items.id', 'offers.item_id')
    .select([
      'items.id',
      'items.gtin',
      'items.change_txid',
      'offers.seller_item_id',
      'offers.list_price_minor',
      'offers.regions',
    ])
    .where('items.id', 'in', itemIds)
    .orderBy('offers.seller_item_id')
    .execute();
}

describe('new items in one batch', () => {
  it('go in together, each with its offer as sent', async () => {
    const documents = Array.from({ length: 20 }, (_, i) =>
      notice({
        listPrice: { amount: String(1000 + i), currency: 'JPY' },
        regions: i % 2 === 0 ? ['JP'] : ['JP', 'DE'],
      }),
    );
    const entries = await postNdjson(documents);
    expect(entries.map((e) => e.status)).toEqual(Array(20).fill('accepted'));
    const itemIds = entries.map((e) => e.assigned.itemId!);
    expect(new Set(itemIds).size).toBe(20);

    const rows = await offerRows(itemIds);
    expect(rows).toHaveLength(20);
    for (const [i, document] of documents.entries()) {
      const row = rows.find((r) => r.id === itemIds[i]);
      expect(row).toMatchObject({
        seller_item_id: (document.body as { sellerItemId: string }).sellerItemId,
        list_price_minor: BigInt(1000 + i),
        regions: i % 2 === 0 ? ['JP'] : ['JP', 'DE'],
      });
    }
    // The batch's documents shared transactions (group commit), not one each.
    expect(new Set(rows.map((r) => r.change_txid)).size).toBeLessThan(20);
  });

  it('tell immediate subscribers of each new item', async () => {
    const entries = await postNdjson([
      notice({ category: 'batch/immediate' }),
      notice({ category: 'batch/other' }),
      notice({ category: 'batch/immediate' }),
    ]);
    expect(entries.map((e) => e.status)).toEqual(['accepted', 'accepted', 'accepted']);
    const told = (await queuedFor(gateway.database.db, 'CAT-WATCHER', 'ItemFeed')).flatMap((d) =>
      (d.body.items as { itemId: string }[]).map((item) => item.itemId),
    );
    expect(told).toContain(entries[0]!.assigned.itemId);
    expect(told).toContain(entries[2]!.assigned.itemId);
    expect(told).not.toContain(entries[1]!.assigned.itemId);
  });
});

describe('a batch that depends on itself means what it means one by one', () => {
  it('revises an item created earlier in the same batch', async () => {
    const first = notice({ listPrice: { amount: '5000', currency: 'JPY' } });
    const sellerItemId = (first.body as { sellerItemId: string }).sellerItemId;
    const revision = notice({ sellerItemId, listPrice: { amount: '4500', currency: 'JPY' } });
    const entries = await postNdjson([notice(), first, notice(), revision, notice()]);
    expect(entries.map((e) => e.status)).toEqual(Array(5).fill('accepted'));
    expect(entries[3]!.assigned.itemId).toBe(entries[1]!.assigned.itemId);
    const rows = await offerRows([entries[1]!.assigned.itemId!]);
    expect(rows).toMatchObject([{ seller_item_id: sellerItemId, list_price_minor: 4500n }]);
  });

  it('answers a second notice under the same GTIN as it does one by one', async () => {
    const gtinOf = (n: number) => `49${String(Date.now() + n).slice(-11)}`;
    const trio = (gtin: string) => [notice({ gtin }), notice(), notice({ gtin })];
    const outcome = (entries: readonly SeenEntry[]) => ({
      statuses: entries.map((e) => e.status),
      codes: entries.map((e) => e.codes),
      sameItem: entries[2]!.assigned.itemId === entries[0]!.assigned.itemId,
    });
    const together = outcome(await postNdjson(trio(gtinOf(0))));
    const oneByOne: SeenEntry[] = [];
    for (const document of trio(gtinOf(1))) oneByOne.push(...(await postNdjson([document])));
    expect(together).toEqual(outcome(oneByOne));
    expect(together.statuses.slice(0, 2)).toEqual(['accepted', 'accepted']);
  });

  it('refuses a released item alone, and takes the rest', async () => {
    const entries = await postNdjson([notice(), notice({ releaseDate: '2020-01-01' }), notice()]);
    expect(entries.map((e) => e.status)).toEqual(['accepted', 'rejected', 'accepted']);
    expect(entries[1]!.codes).toContain('BUSINESS_RULE');
    expect(
      (await offerRows([entries[0]!.assigned.itemId!, entries[2]!.assigned.itemId!])).length,
    ).toBe(2);
  });

  it('takes the rest of a batch around a refused document in shared transactions, not one each', async () => {
    const documents = Array.from({ length: 24 }, (_, i) =>
      notice(i === 9 ? { releaseDate: '2020-01-01' } : {}),
    );
    const entries = await postNdjson(documents);
    expect(entries.map((e) => e.status)).toEqual(
      documents.map((_, i) => (i === 9 ? 'rejected' : 'accepted')),
    );
    const accepted = entries.filter((e) => e.status === 'accepted');
    const rows = await offerRows(accepted.map((e) => e.assigned.itemId!));
    expect(rows).toHaveLength(23);
    // One each would be 23 transactions.
    expect(new Set(rows.map((r) => r.change_txid)).size).toBeLessThanOrEqual(8);
  });
});
