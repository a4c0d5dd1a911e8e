/**
 * The statements that write many rows at once take them as one JSON parameter (db/prepared.ts):
 * money in minor units goes there as a string, so an amount beyond 2^53 keeps every digit — on
 * the new items', the new reservations' and the bids' statements alike.
 */
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newId } from '../../gateway/core/ids.ts';
import { itemNotice, readReceipts, type SeenEntry } from '../support/batches.ts';
import { exampleDocument, type TestDocument } from '../support/documents.ts';
import {
  registerPartner,
  startTestGateway,
  type RegisteredPartner,
  type TestGateway,
} from '../support/gateway.ts';

let gateway: TestGateway;
let seller: RegisteredPartner;
let buyer: RegisteredPartner;

beforeAll(async () => {
  gateway = await startTestGateway();
  seller = await registerPartner(gateway, { id: 'BIG-SELLER', roles: ['seller'] });
  buyer = await registerPartner(gateway, { id: 'BIG-BUYER', roles: ['buyer'] });
});
afterAll(() => gateway.close());

async function postBatch(
  partner: RegisteredPartner,
  documents: readonly TestDocument[],
): Promise<SeenEntry[]> {
  const response = await gateway.app.request('/v1/batches', {
    method: 'POST',
    headers: { authorization: `Bearer ${partner.apiKey}`, 'content-type': 'application/x-ndjson' },
    body: documents.map((d) => JSON.stringify(d)).join('\n') + '\n',
  });
  expect(response.status).toBe(200);
  const entries = readReceipts(await response.text(), 'ndjson');
  expect(entries.map((e) => e.status)).toEqual(documents.map(() => 'accepted'));
  return entries;
}

/**
 * The amounts stored in `column` of the rows, in no order, and how many transactions wrote the
 * rows (one when they went in together, by one statement).
 */
async function stored(
  table: 'offers' | 'reservations' | 'bids',
  column: 'list_price_minor' | 'max_unit_price_minor' | 'unit_price_minor',
  ids: readonly string[],
) {
  const key = table === 'offers' ? 'item_id' : 'id';
  const { rows } = await sql<{ amount: string; writer: string }>`
    select ${sql.ref(column)}::text as amount, xmin::text as writer from ${sql.table(table)}
     where ${sql.ref(key)} in (${sql.join(ids)})`.execute(gateway.database.db);
  return {
    amounts: rows.map((r) => BigInt(r.amount)),
    transactions: new Set(rows.map((r) => r.writer)).size,
  };
}

describe('amounts beyond 2^53 in statements that write many rows', () => {
  const price = { amount: '999999999999999.99', currency: 'EUR' };
  const minor = 99_999_999_999_999_999n;
  const lower = { amount: '999999999999999.98', currency: 'EUR' };

  it('keep every digit on new items, reservations and bids', async () => {
    expect(minor > BigInt(Number.MAX_SAFE_INTEGER)).toBe(true);

    const items = await postBatch(seller, [
      itemNotice(seller.id, { listPrice: price }),
      itemNotice(seller.id, { listPrice: price }),
    ]);
    const itemIds = items.map((e) => e.assigned.itemId!);
    expect(await stored('offers', 'list_price_minor', itemIds)).toEqual({
      amounts: [minor, minor],
      transactions: 1,
    });

    const reservation = () =>
      exampleDocument('PurchaseReservation', buyer.id, {
        itemId: itemIds[0],
        maxUnitPrice: price,
        buyerReference: newId('REF'),
      });
    const reservations = await postBatch(buyer, [reservation(), reservation()]);
    const reservationIds = reservations.map((e) => e.assigned.reservationId!);
    expect(await stored('reservations', 'max_unit_price_minor', reservationIds)).toEqual({
      amounts: [minor, minor],
      transactions: 1,
    });

    const bids = await postBatch(
      seller,
      reservationIds.map((reservationId) =>
        exampleDocument('OrderBid', seller.id, { reservationId, unitPrice: lower }),
      ),
    );
    const bidIds = bids.map((e) => e.assigned.bidId!);
    expect(await stored('bids', 'unit_price_minor', bidIds)).toEqual({
      amounts: [minor - 1n, minor - 1n],
      transactions: 1,
    });
  });
});
