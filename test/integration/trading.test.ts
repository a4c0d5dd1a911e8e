/**
 * The trading flow of seed 000 through the document API, with the judges called directly and
 * deadlines moved into the past in the database (no sleeping): item notices, reservations, bids,
 * judging, confirmations, declines and lapses, settlement and transport tenders.
 */
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  judgeDueReservations,
  judgeDueTenders,
  lapseUnconfirmedDeals,
  type TradingDeps,
} from '../../gateway/core/trading/trading.service.ts';
import { exampleDocument, postDocument, receiptOf } from '../support/documents.ts';
import {
  registerPartner,
  startTestGateway,
  type RegisteredPartner,
  type TestGateway,
} from '../support/gateway.ts';
import { queuedFor } from '../support/outbox.ts';

let gateway: TestGateway;
let trading: TradingDeps;
const p: Record<string, RegisteredPartner> = {};

beforeAll(async () => {
  gateway = await startTestGateway({ COMMISSION_RATE_PERCENT: '2.5' });
  trading = {
    db: gateway.database.db,
    settings: { commissionRatePercent: '2.5', confirmWindowS: 3600, tenderWindowS: 3600 },
    enqueue: gateway.services.pipeline.enqueue,
  };
  for (const [id, roles] of [
    ['SELLER-A', ['seller']],
    ['SELLER-B', ['seller']],
    ['SELLER-C', ['seller']],
    ['BUYER-A', ['buyer']],
    ['BUYER-B', ['buyer']],
    ['SETTLE-A', ['settlement']],
    ['SETTLE-B', ['settlement']],
    ['CARRIER-A', ['carrier']],
    ['CARRIER-B', ['carrier']],
  ] as const) {
    p[id] = await registerPartner(gateway, { id, roles: [...roles] });
  }
});
afterAll(async () => {
  await gateway.close();
});

async function send(partner: string, type: string, body: Record<string, unknown>) {
  const response = await postDocument(
    gateway.app,
    p[partner]!.apiKey,
    exampleDocument(type, partner, body),
  );
  const receipt = await receiptOf(response);
  const ids = Object.fromEntries(
    (receipt.assigned as { name: string; value: string }[]).map((a) => [a.name, a.value]),
  );
  return {
    status: response.status,
    receipt,
    ids,
    errors: receipt.errors as { path: string; code: string; message: string }[],
  };
}

async function newItem(): Promise<string> {
  const sellerItemId = `SKU-${Math.random().toString(36).slice(2, 9)}`;
  const first = await send('SELLER-A', 'ItemNotice', {
    sellerItemId,
    gtin: undefined,
    releaseDate: '2036-12-01',
  });
  const itemId = first.ids.itemId as string;
  await send('SELLER-B', 'ItemNotice', {
    sellerItemId: `B-${sellerItemId}`,
    itemId,
    gtin: undefined,
    releaseDate: '2036-12-01',
  });
  return itemId;
}

const inAnHour = () => new Date(Date.now() + 3600_000).toISOString();

async function reserve(
  itemId: string,
  buyer = 'BUYER-A',
  over: Record<string, unknown> = {},
): Promise<string> {
  const result = await send(buyer, 'PurchaseReservation', {
    itemId,
    quantity: 10,
    maxUnitPrice: { amount: '1000', currency: 'JPY' },
    neededBy: '2036-06-30',
    biddingDeadline: inAnHour(),
    ...over,
  });
  expect(result.status, JSON.stringify(result.errors)).toBe(200);
  return result.ids.reservationId as string;
}

function bid(
  seller: string,
  reservationId: string,
  unitPrice: string,
  over: Record<string, unknown> = {},
) {
  return send(seller, 'OrderBid', {
    reservationId,
    action: 'submit',
    unitPrice: { amount: unitPrice, currency: 'JPY' },
    quantity: 10,
    promisedDeliveryDate: '2036-06-01',
    note: undefined,
    ...over,
  });
}

async function closeBidding(reservationId: string) {
  await sql`update reservations set bidding_deadline = now() - interval '1 second' where id = ${reservationId}`.execute(
    gateway.database.db,
  );
}

async function dealOf(reservationId: string) {
  return gateway.database.db
    .selectFrom('deals')
    .selectAll()
    .where('reservation_id', '=', reservationId)
    .orderBy('created_at', 'desc')
    .executeTakeFirstOrThrow();
}

describe('reservations and bids', () => {
  it('refuses reservations for unknown or released items and deadlines in the past', async () => {
    const unknown = await send('BUYER-A', 'PurchaseReservation', {
      itemId: 'ITM-NOPE',
      biddingDeadline: inAnHour(),
    });
    expect([unknown.status, unknown.errors[0]?.path]).toEqual([404, '/body/itemId']);
    const itemId = await newItem();
    const past = await send('BUYER-A', 'PurchaseReservation', {
      itemId,
      biddingDeadline: '2020-01-01T00:00:00Z',
    });
    expect([past.status, past.errors[0]?.path]).toEqual([422, '/body/biddingDeadline']);
  });

  it('refuses bids from a buyer, a seller that does not carry the item, above the max price, and late ones', async () => {
    const reservationId = await reserve(await newItem());
    const fromBuyer = await postDocument(
      gateway.app,
      p['BUYER-A']!.apiKey,
      exampleDocument('OrderBid', 'BUYER-A', { reservationId }),
    );
    expect(fromBuyer.status).toBe(403);
    const notCarried = await bid('SELLER-C', reservationId, '900');
    expect([notCarried.status, notCarried.errors[0]?.message]).toEqual([
      422,
      expect.stringContaining('does not carry'),
    ]);
    const tooDear = await bid('SELLER-A', reservationId, '1001');
    expect([tooDear.status, tooDear.errors[0]?.path]).toEqual([422, '/body/unitPrice/amount']);
    const noPrice = await bid('SELLER-A', reservationId, '900', { unitPrice: undefined });
    expect([noPrice.status, noPrice.errors[0]?.path]).toEqual([422, '/body/unitPrice']);
    expect((await bid('SELLER-A', reservationId, '900')).status).toBe(200);
    await closeBidding(reservationId);
    const late = await bid('SELLER-B', reservationId, '800');
    expect([late.status, late.errors[0]?.message]).toEqual([
      422,
      expect.stringContaining('closed'),
    ]);
  });

  it('keeps versions of a bid and lets it be withdrawn before the deadline', async () => {
    const reservationId = await reserve(await newItem());
    const first = await bid('SELLER-A', reservationId, '900');
    const second = await bid('SELLER-A', reservationId, '880');
    expect(second.ids.bidId).toBe(first.ids.bidId);
    expect(second.ids.bidVersion).toBe('2');
    const withdrawn = await send('SELLER-A', 'OrderBid', {
      reservationId,
      action: 'withdraw',
      unitPrice: undefined,
      quantity: undefined,
      promisedDeliveryDate: undefined,
    });
    expect(withdrawn.status).toBe(200);
    const again = await send('SELLER-A', 'OrderBid', {
      reservationId,
      action: 'withdraw',
      unitPrice: undefined,
      quantity: undefined,
      promisedDeliveryDate: undefined,
    });
    expect(again.status).toBe(404);
  });
});

describe('judging, confirmation and tenders', () => {
  it('awards the most suitable seller, confirms the deal and commissions the best organs', async () => {
    const reservationId = await reserve(await newItem());
    await bid('SELLER-A', reservationId, '900');
    await bid('SELLER-B', reservationId, '850', { promisedDeliveryDate: '2036-06-20' });
    await bid('SELLER-A', reservationId, '840'); // revised: now the cheapest
    await closeBidding(reservationId);

    // (other tests' closed reservations may be judged in the same run)
    expect((await judgeDueReservations(trading)).awarded).toBeGreaterThanOrEqual(1);
    expect(await judgeDueReservations(trading)).toMatchObject({ judged: 0 }); // once only

    const deal = await dealOf(reservationId);
    expect(deal).toMatchObject({
      seller_id: 'SELLER-A',
      total_minor: 8400n,
      commission_minor: 210n,
      status: 'awarded',
    });
    const award = (await queuedFor(gateway.database.db, 'BUYER-A', 'Award')).find(
      (d) => d.body.reservationId === reservationId,
    );
    expect(award?.body).toMatchObject({
      reservationId,
      dealId: deal.id,
      seller: 'SELLER-A',
      total: { amount: '8400', currency: 'JPY' },
    });
    const terms = (await queuedFor(gateway.database.db, 'SELLER-A', 'IntermediaryTerms')).find(
      (d) => d.body.dealId === deal.id,
    );
    expect(terms?.body).toMatchObject({
      buyer: 'BUYER-A',
      commission: { amount: '210', currency: 'JPY' },
      commissionRatePercent: '2.5',
    });
    const results = (await queuedFor(gateway.database.db, 'SELLER-B', 'BidResult')).filter(
      (d) => d.body.reservationId === reservationId,
    );
    expect(results.map((d) => d.body.outcome)).toEqual(['not-selected']);

    // someone else's award is nobody's business
    const intruder = await send('BUYER-B', 'PurchaseConfirmation', {
      dealId: deal.id,
      decision: 'accept',
    });
    expect(intruder.status).toBe(404);
    expect(
      (await send('BUYER-A', 'PurchaseConfirmation', { dealId: deal.id, decision: 'accept' }))
        .status,
    ).toBe(200);
    expect(
      (await send('BUYER-A', 'PurchaseConfirmation', { dealId: deal.id, decision: 'accept' }))
        .status,
    ).toBe(422);
    expect(
      (await send('SELLER-A', 'OrderConfirmation', { dealId: deal.id, decision: 'accept' })).status,
    ).toBe(200);
    expect((await dealOf(reservationId)).status).toBe('confirmed');

    const settlementRequests = (
      await queuedFor(gateway.database.db, 'SETTLE-A', 'SettlementRequest')
    ).filter((d) => d.body.dealId === deal.id);
    expect(settlementRequests).toHaveLength(1);
    const settlementTender = settlementRequests[0]!.body.tenderId as string;
    expect(
      (await queuedFor(gateway.database.db, 'SETTLE-B', 'SettlementRequest')).some(
        (d) => d.body.tenderId === settlementTender,
      ),
    ).toBe(true);
    const transportTender = (
      await queuedFor(gateway.database.db, 'CARRIER-A', 'TransportRequest')
    ).find((d) => d.body.dealId === deal.id)!.body.tenderId as string;

    // SETTLE-A: 100 + 1% of 8400 = 184; SETTLE-B: 50 + 2% = 218 → SETTLE-A is cheaper for the buyer
    expect(
      (
        await send('SETTLE-A', 'SettlementTerms', {
          tenderId: settlementTender,
          fixedFee: { amount: '100', currency: 'JPY' },
          ratePercent: '1',
          settlementDays: 3,
        })
      ).status,
    ).toBe(200);
    expect(
      (
        await send('SETTLE-B', 'SettlementTerms', {
          tenderId: settlementTender,
          fixedFee: { amount: '50', currency: 'JPY' },
          ratePercent: '2',
          settlementDays: 1,
        })
      ).status,
    ).toBe(200);
    expect(
      (
        await send('CARRIER-A', 'TransportTerms', {
          tenderId: transportTender,
          fee: { amount: '1200', currency: 'JPY' },
          pickupDate: '2036-06-02',
          deliveryDate: '2036-06-05',
        })
      ).status,
    ).toBe(200);
    expect(
      (
        await send('CARRIER-B', 'TransportTerms', {
          tenderId: transportTender,
          fee: { amount: '1200', currency: 'JPY' },
          pickupDate: '2036-06-02',
          deliveryDate: '2036-06-04',
        })
      ).status,
    ).toBe(200);
    // an organ not invited to the tender, and terms in the wrong currency
    expect((await send('SELLER-A', 'SettlementTerms', { tenderId: settlementTender })).status).toBe(
      403,
    );
    expect(
      (
        await send('CARRIER-A', 'TransportTerms', {
          tenderId: transportTender,
          fee: { amount: '12.00', currency: 'EUR' },
          pickupDate: '2036-06-02',
          deliveryDate: '2036-06-05',
        })
      ).status,
    ).toBe(422);

    await sql`update tenders set terms_deadline = now() - interval '1 second' where deal_id = ${deal.id}`.execute(
      gateway.database.db,
    );
    expect(await judgeDueTenders(trading)).toMatchObject({ awarded: 2 });
    expect(await judgeDueTenders(trading)).toMatchObject({ judged: 0 });
    expect(await dealOf(reservationId)).toMatchObject({
      settlement_organ_id: 'SETTLE-A',
      carrier_id: 'CARRIER-B',
    });
    const commission = (
      await queuedFor(gateway.database.db, 'SETTLE-A', 'SettlementCommission')
    ).find((d) => d.body.dealId === deal.id);
    expect(commission?.body).toMatchObject({
      fixedFee: { amount: '100', currency: 'JPY' },
      ratePercent: '1',
      settlementDays: 3,
    });
    expect(
      (await queuedFor(gateway.database.db, 'SETTLE-B', 'TenderResult')).some(
        (d) => d.body.tenderId === settlementTender,
      ),
    ).toBe(true);
    expect(
      (await queuedFor(gateway.database.db, 'CARRIER-B', 'TransportCommission')).some(
        (d) => d.body.tenderId === transportTender,
      ),
    ).toBe(true);
    expect(
      (await queuedFor(gateway.database.db, 'CARRIER-A', 'TenderResult')).some(
        (d) => d.body.tenderId === transportTender,
      ),
    ).toBe(true);
  });

  it('awards the next eligible bid when the seller declines, and when confirm-by lapses', async () => {
    const reservationId = await reserve(await newItem(), 'BUYER-B');
    await bid('SELLER-A', reservationId, '800');
    await bid('SELLER-B', reservationId, '900');
    await closeBidding(reservationId);
    await judgeDueReservations(trading);
    const first = await dealOf(reservationId);
    expect(first.seller_id).toBe('SELLER-A');
    expect(
      (
        await send('SELLER-A', 'OrderConfirmation', {
          dealId: first.id,
          decision: 'decline',
          reason: 'sold out',
        })
      ).status,
    ).toBe(200);
    const second = await dealOf(reservationId);
    expect([second.seller_id, second.status]).toEqual(['SELLER-B', 'awarded']);
    expect(
      (await queuedFor(gateway.database.db, 'BUYER-B', 'Award')).filter(
        (d) => d.body.reservationId === reservationId,
      ),
    ).toHaveLength(2);

    await sql`update deals set confirm_by = now() - interval '1 second' where id = ${second.id}`.execute(
      gateway.database.db,
    );
    expect(await lapseUnconfirmedDeals(trading)).toEqual({ lapsed: 1 });
    expect((await dealOf(reservationId)).status).toBe('lapsed');
    const noAward = (await queuedFor(gateway.database.db, 'BUYER-B', 'NoAward')).filter(
      (d) => d.body.reservationId === reservationId,
    );
    expect(noAward).toHaveLength(1);
    expect(noAward[0]?.body.reason).toBe('no further eligible bid remains');
  });

  it('sends NoAward when no seller bids, and BidResult ineligible to bids that miss the terms', async () => {
    const lonely = await reserve(await newItem());
    await closeBidding(lonely);
    const late = await reserve(await newItem(), 'BUYER-A', { neededBy: '2036-05-01' });
    await bid('SELLER-B', late, '900', { promisedDeliveryDate: '2036-05-02' });
    await closeBidding(late);
    await judgeDueReservations(trading);
    const noAwards = await queuedFor(gateway.database.db, 'BUYER-A', 'NoAward');
    expect(noAwards.find((d) => d.body.reservationId === lonely)?.body.reason).toBe(
      'no seller bid before the deadline',
    );
    expect(noAwards.some((d) => d.body.reservationId === late)).toBe(true);
    const result = (await queuedFor(gateway.database.db, 'SELLER-B', 'BidResult')).find(
      (d) => d.body.reservationId === late,
    );
    expect(result?.body).toMatchObject({
      outcome: 'ineligible',
      reason: expect.stringContaining('needed-by'),
    });
  });

  it('judges each reservation once when judges, and lanes of one judge, run concurrently', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 6; i++) {
      const reservationId = await reserve(await newItem());
      await bid('SELLER-A', reservationId, '900');
      await bid('SELLER-B', reservationId, '901');
      await closeBidding(reservationId);
      ids.push(reservationId);
    }
    const runs = await Promise.all([
      judgeDueReservations(trading, { batchSize: 2 }),
      judgeDueReservations(trading, { batchSize: 2 }),
      judgeDueReservations(trading, { batchSize: 1, lanes: 3 }),
    ]);
    expect(runs.reduce((n, r) => n + (r.awarded ?? 0), 0)).toBe(6);
    const awards = (await queuedFor(gateway.database.db, 'BUYER-A', 'Award')).filter((d) =>
      ids.includes(d.body.reservationId),
    );
    expect(awards).toHaveLength(6);
    const deals = await gateway.database.db
      .selectFrom('deals')
      .select('reservation_id')
      .where('reservation_id', 'in', ids)
      .execute();
    expect(deals).toHaveLength(6);
  });
});
