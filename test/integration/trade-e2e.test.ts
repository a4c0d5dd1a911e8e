/**
 * A whole trade of seed 000 over a real socket, with every partner receiving its documents by
 * signed push at a real local receiver: two sellers, two buyers, two settlement organs, two
 * carriers, from ItemNotice to both commissions. Deadlines are moved into the past in the
 * database instead of waiting for them; the judges are the jobs' own functions.
 */
import { sql } from 'kysely';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  judgeDueReservations,
  judgeDueTenders,
  type TradingDeps,
} from '../../gateway/core/trading/trading.service.ts';
import { listen, type RunningServer } from '../../gateway/http/server.ts';
import { startDeliveryHarness, type DeliveryHarness } from '../support/delivery.ts';
import { exampleDocument, type TestDocument } from '../support/documents.ts';
import { registerPartner, type RegisteredPartner } from '../support/gateway.ts';
import { startReceiver, type Receiver } from '../support/receiver.ts';

const CAST = [
  ['SELLER-A', 'seller'],
  ['SELLER-B', 'seller'],
  ['BUYER-A', 'buyer'],
  ['BUYER-B', 'buyer'],
  ['SETTLE-A', 'settlement'],
  ['SETTLE-B', 'settlement'],
  ['CARRIER-A', 'carrier'],
  ['CARRIER-B', 'carrier'],
] as const;

let harness: DeliveryHarness;
let server: RunningServer;
let trading: TradingDeps;
const partners: Record<string, RegisteredPartner> = {};
const receivers: Record<string, Receiver> = {};

beforeAll(async () => {
  harness = await startDeliveryHarness();
  server = await listen(harness.app, '127.0.0.1', 0);
  trading = {
    db: harness.database.db,
    settings: { commissionRatePercent: '2.5', confirmWindowS: 3600, tenderWindowS: 3600 },
    enqueue: harness.services.pipeline.enqueue,
  };
  for (const [id, role] of CAST) {
    receivers[id] = await startReceiver();
    partners[id] = await registerPartner(harness, {
      id,
      roles: [role],
      deliveryMode: 'push',
      endpointUrl: receivers[id].url,
      // half the cast speaks XML, so both renderings travel
      format: id.endsWith('-B') ? 'xml' : 'json',
    });
  }
});

afterAll(async () => {
  await server.close(1000);
  await harness.close();
  await Promise.all(Object.values(receivers).map((r) => r.close()));
});

async function post(partner: string, doc: TestDocument) {
  const response = await fetch(`${server.url}/v1/documents`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${partners[partner]!.apiKey}`,
      'content-type': 'application/json',
    },
    body: JSON.stringify(doc),
  });
  const receipt = (await response.json()) as {
    body: { status: string; assigned: { name: string; value: string }[]; errors: unknown[] };
  };
  expect(response.status, JSON.stringify(receipt)).toBe(200);
  return Object.fromEntries(receipt.body.assigned.map((a) => [a.name, a.value]));
}

function send(partner: string, type: string, body: Record<string, unknown>) {
  return post(partner, exampleDocument(type, partner, body));
}

/**
 * The documents a partner's receiver got, after checking each push signature. Delivery is at
 * least once: a push that timed out on a busy machine comes again, under the same webhook-id and
 * with the same bytes — counted once.
 */
function received(partner: string): { type: string; text: string }[] {
  const secret = partners[partner]!.signingSecret;
  const byId = new Map<string, string>();
  const distinct = receivers[partner]!.requests.filter((request) => {
    const id = (request.headers as Record<string, string>)['webhook-id']!;
    const earlier = byId.get(id);
    if (earlier !== undefined) expect(request.body, `repeat of ${id}`).toBe(earlier);
    byId.set(id, request.body);
    return earlier === undefined;
  });
  return distinct.map((request) => {
    // Webhook.verify() also JSON-parses the payload, so XML bodies are checked by signing again.
    const headers = request.headers as Record<string, string>;
    const expected = new Webhook(secret).sign(
      headers['webhook-id']!,
      new Date(Number(headers['webhook-timestamp']) * 1000),
      request.body,
    );
    expect(headers['webhook-signature']).toBe(expected);
    const type = request.body.startsWith('{')
      ? (JSON.parse(request.body) as { header: { type: string } }).header.type
      : (/<([A-Za-z]+) xmlns="urn:nakadachi:1"/.exec(request.body)?.[1] ?? 'unknown');
    return { type, text: request.body };
  });
}

async function eventually(check: () => void, ms = 10_000): Promise<void> {
  const until = Date.now() + ms;
  for (;;) {
    try {
      check();
      return;
    } catch (error) {
      if (Date.now() > until) throw error;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }
}

it(
  'runs a whole trade from ItemNotice to both commissions, each party getting its documents',
  { timeout: 60_000 },
  async () => {
    // 1. two sellers carry one new item
    const { itemId } = await send('SELLER-A', 'ItemNotice', {
      sellerItemId: 'E2E-1',
      gtin: '4900000000017',
      releaseDate: '2036-09-01',
    });
    await send('SELLER-B', 'ItemNotice', {
      sellerItemId: 'E2E-1-B',
      gtin: '4900000000017',
      releaseDate: '2036-09-01',
    });
    // 2. two buyers reserve it
    const deadline = new Date(Date.now() + 3600_000).toISOString();
    const reservation = (buyer: string, quantity: number) =>
      send(buyer, 'PurchaseReservation', {
        itemId,
        quantity,
        maxUnitPrice: { amount: '31000', currency: 'JPY' },
        neededBy: '2036-08-31',
        biddingDeadline: deadline,
      });
    const { reservationId: rA } = await reservation('BUYER-A', 100);
    const { reservationId: rB } = await reservation('BUYER-B', 50);
    // 3. both sellers bid on both reservations
    const bid = (seller: string, reservationId: string, amount: string, date: string) =>
      send(seller, 'OrderBid', {
        reservationId,
        action: 'submit',
        unitPrice: { amount, currency: 'JPY' },
        quantity: 100,
        promisedDeliveryDate: date,
      });
    await bid('SELLER-A', rA!, '29800', '2036-08-20');
    await bid('SELLER-B', rA!, '30500', '2036-08-10');
    await bid('SELLER-A', rB!, '30000', '2036-08-20');
    await bid('SELLER-B', rB!, '29900', '2036-08-25');
    // 4. the deadline passes; the judge selects SELLER-A for BUYER-A and SELLER-B for BUYER-B
    await sql`update reservations set bidding_deadline = now() - interval '1 second' where id in (${rA}, ${rB})`.execute(
      harness.database.db,
    );
    await judgeDueReservations(trading);
    const deals = await harness.database.db
      .selectFrom('deals')
      .select(['id', 'reservation_id', 'seller_id'])
      .execute();
    const dealA = deals.find((d) => d.reservation_id === rA)!;
    const dealB = deals.find((d) => d.reservation_id === rB)!;
    expect([dealA.seller_id, dealB.seller_id]).toEqual(['SELLER-A', 'SELLER-B']);
    // 5. confirmations on both sides
    await send('BUYER-A', 'PurchaseConfirmation', { dealId: dealA.id, decision: 'accept' });
    await send('SELLER-A', 'OrderConfirmation', { dealId: dealA.id, decision: 'accept' });
    await send('BUYER-B', 'PurchaseConfirmation', { dealId: dealB.id, decision: 'accept' });
    await send('SELLER-B', 'OrderConfirmation', { dealId: dealB.id, decision: 'accept' });
    // 6. the organs receive the tenders and answer them
    await eventually(() => {
      for (const organ of ['SETTLE-A', 'SETTLE-B'])
        expect(received(organ).filter((d) => d.type === 'SettlementRequest')).toHaveLength(2);
      for (const carrier of ['CARRIER-A', 'CARRIER-B'])
        expect(received(carrier).filter((d) => d.type === 'TransportRequest')).toHaveLength(2);
    });
    const tenders = await harness.database.db
      .selectFrom('tenders')
      .select(['id', 'deal_id', 'kind'])
      .execute();
    for (const tender of tenders) {
      if (tender.kind === 'settlement') {
        await send('SETTLE-A', 'SettlementTerms', {
          tenderId: tender.id,
          fixedFee: { amount: '500', currency: 'JPY' },
          ratePercent: '0.5',
          settlementDays: 2,
        });
        await send('SETTLE-B', 'SettlementTerms', {
          tenderId: tender.id,
          fixedFee: { amount: '0', currency: 'JPY' },
          ratePercent: '0.8',
          settlementDays: 1,
        });
      } else {
        await send('CARRIER-A', 'TransportTerms', {
          tenderId: tender.id,
          fee: { amount: '45000', currency: 'JPY' },
          pickupDate: '2036-08-21',
          deliveryDate: '2036-08-24',
        });
        await send('CARRIER-B', 'TransportTerms', {
          tenderId: tender.id,
          fee: { amount: '52000', currency: 'JPY' },
          pickupDate: '2036-08-21',
          deliveryDate: '2036-08-23',
        });
      }
    }
    // 7. the terms deadline passes; the cheapest terms win
    await sql`update tenders set terms_deadline = now() - interval '1 second'`.execute(
      harness.database.db,
    );
    await judgeDueTenders(trading);

    // Every party got exactly its documents, signed, each once.
    const expected: Record<string, string[]> = {
      'BUYER-A': ['Award'],
      'BUYER-B': ['Award'],
      'SELLER-A': ['IntermediaryTerms', 'BidResult'],
      'SELLER-B': ['BidResult', 'IntermediaryTerms'],
      // SETTLE-A: 500 + 0.5% of 2,980,000 = 15,400; SETTLE-B: 0.8% = 23,840 → SETTLE-A wins deal A.
      // Deal B total 1,495,000: SETTLE-A 500 + 7,475 = 7,975; SETTLE-B 11,960 → SETTLE-A wins too.
      'SETTLE-A': [
        'SettlementRequest',
        'SettlementRequest',
        'SettlementCommission',
        'SettlementCommission',
      ],
      'SETTLE-B': ['SettlementRequest', 'SettlementRequest', 'TenderResult', 'TenderResult'],
      'CARRIER-A': [
        'TransportRequest',
        'TransportRequest',
        'TransportCommission',
        'TransportCommission',
      ],
      'CARRIER-B': ['TransportRequest', 'TransportRequest', 'TenderResult', 'TenderResult'],
    };
    await eventually(() => {
      for (const [partner, types] of Object.entries(expected)) {
        expect(
          received(partner)
            .map((d) => d.type)
            .sort(),
          partner,
        ).toEqual([...types].sort());
      }
    });
    for (const partner of Object.keys(expected)) {
      const ids = receivers[partner]!.requests.map((r) => r.messageId);
      expect(new Set(ids).size, `${partner} got a document twice`).toBe(ids.length);
    }
    const awardA = received('BUYER-A').find((d) => d.type === 'Award')!;
    expect(JSON.parse(awardA.text).body).toMatchObject({
      seller: 'SELLER-A',
      total: { amount: '2980000', currency: 'JPY' },
    });
    const termsB = received('SELLER-B').find((d) => d.type === 'IntermediaryTerms')!;
    expect(termsB.text).toContain(
      '<Commission><Amount>37375</Amount><Currency>JPY</Currency></Commission>',
    );
    const finalDeals = await harness.database.db
      .selectFrom('deals')
      .select(['id', 'status', 'settlement_organ_id', 'carrier_id'])
      .orderBy('id')
      .execute();
    expect(finalDeals.map((d) => [d.status, d.settlement_organ_id, d.carrier_id])).toEqual([
      ['confirmed', 'SETTLE-A', 'CARRIER-A'],
      ['confirmed', 'SETTLE-A', 'CARRIER-A'],
    ]);
  },
);
