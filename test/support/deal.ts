/**
 * A deal for tests that read the log back (search, timelines, the console): two sellers carry an
 * item, a buyer reserves it, both bid, the judge awards one, both sides confirm and the tenders
 * go out — every document through the API, the judge called directly after the bidding deadline
 * is moved into the past.
 */
import { sql } from 'kysely';
import { judgeDueReservations } from '../../gateway/core/trading/trading.service.ts';
import { exampleDocument, postDocument, receiptOf } from './documents.ts';
import { registerPartner, type RegisteredPartner, type TestGateway } from './gateway.ts';

export const DEAL_CAST = [
  ['SELLER-1', 'seller'],
  ['SELLER-2', 'seller'],
  ['BUYER-1', 'buyer'],
  ['SETTLE-1', 'settlement'],
  ['CARRIER-1', 'carrier'],
] as const;

export type DealParties = Record<(typeof DEAL_CAST)[number][0], RegisteredPartner>;

export async function registerDealParties(gateway: TestGateway): Promise<DealParties> {
  const parties: Partial<DealParties> = {};
  for (const [id, role] of DEAL_CAST) {
    parties[id] = await registerPartner(gateway, { id, roles: [role] });
  }
  return parties as DealParties;
}

export interface Deal {
  itemId: string;
  reservationId: string;
  dealId: string;
  /** messageId of every document the parties sent, in order. */
  sent: string[];
}

export async function makeDeal(gateway: TestGateway, parties: DealParties): Promise<Deal> {
  const sent: string[] = [];
  const send = async (from: RegisteredPartner, type: string, body: Record<string, unknown>) => {
    const doc = exampleDocument(type, from.id, body);
    const response = await postDocument(gateway.app, from.apiKey, doc);
    const receipt = await receiptOf(response);
    if (response.status !== 200) {
      throw new Error(`${type} from ${from.id}: ${response.status} ${JSON.stringify(receipt)}`);
    }
    sent.push(doc.header.messageId!);
    const assigned = receipt.assigned as { name: string; value: string }[];
    return (name: string): string => {
      const found = assigned.find((a) => a.name === name);
      if (found === undefined) throw new Error(`${type}: no ${name} in the receipt`);
      return found.value;
    };
  };
  const sku = `SKU-${Math.random().toString(36).slice(2, 9)}`;
  const itemId = (
    await send(parties['SELLER-1'], 'ItemNotice', {
      sellerItemId: sku,
      gtin: undefined,
      releaseDate: '2036-12-01',
    })
  )('itemId');
  await send(parties['SELLER-2'], 'ItemNotice', {
    sellerItemId: `B-${sku}`,
    itemId,
    gtin: undefined,
    releaseDate: '2036-12-01',
  });
  const reservationId = (
    await send(parties['BUYER-1'], 'PurchaseReservation', {
      itemId,
      quantity: 10,
      maxUnitPrice: { amount: '1000', currency: 'JPY' },
      neededBy: '2036-06-30',
      biddingDeadline: new Date(Date.now() + 3_600_000).toISOString(),
    })
  )('reservationId');
  for (const [seller, price] of [
    ['SELLER-1', '900'],
    ['SELLER-2', '950'],
  ] as const) {
    await send(parties[seller], 'OrderBid', {
      reservationId,
      action: 'submit',
      unitPrice: { amount: price, currency: 'JPY' },
      quantity: 10,
      promisedDeliveryDate: '2036-06-01',
      note: undefined,
    });
  }
  const db = gateway.database.db;
  await sql`update reservations set bidding_deadline = now() - interval '1 second' where id = ${reservationId}`.execute(
    db,
  );
  await judgeDueReservations({
    db,
    enqueue: gateway.services.pipeline.enqueue,
    settings: { commissionRatePercent: '2.5', confirmWindowS: 3600, tenderWindowS: 3600 },
  });
  const deal = await db
    .selectFrom('deals')
    .select('id')
    .where('reservation_id', '=', reservationId)
    .executeTakeFirstOrThrow();
  await send(parties['BUYER-1'], 'PurchaseConfirmation', { dealId: deal.id, decision: 'accept' });
  await send(parties['SELLER-1'], 'OrderConfirmation', { dealId: deal.id, decision: 'accept' });
  return { itemId, reservationId, dealId: deal.id, sent };
}
