/**
 * The ledger under real concurrency, on PostgreSQL only (PGlite has one connection: nothing runs
 * at once there). Documents are posted all at once through the app; the pool serves them on
 * separate connections and transactions.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { onPostgres } from '../support/database.ts';
import {
  accountOf,
  fund,
  listItem,
  orderBody,
  queuedOne,
  send,
  setCreditLimit,
  registerParties,
  expectLedgerInvariants,
} from '../support/echeck.ts';
import { startTestGateway, type RegisteredPartner, type TestGateway } from '../support/gateway.ts';
import { queuedFor } from '../support/outbox.ts';

let gateway: TestGateway;
let p: Record<string, RegisteredPartner> = {};
const items: Record<string, string> = {};

beforeAll(async () => {
  if (!onPostgres) return;
  gateway = await startTestGateway({ COMMISSION_RATE_PERCENT: '2.5', DB_POOL_SIZE: '10' });
  p = await registerParties(gateway, [
    ['BUYER-A', ['buyer']],
    ['BUYER-B', ['buyer']],
    ['SELLER-A', ['seller']],
    // both buy from each other: their payments cross, the locks must not
    ['TRADER-X', ['buyer', 'seller']],
    ['TRADER-Y', ['buyer', 'seller']],
    ['CARRIER-A', ['carrier']],
  ]);
  for (const seller of ['SELLER-A', 'TRADER-X', 'TRADER-Y']) {
    items[seller] = await listItem(gateway, p[seller]!, '100');
  }
});
afterAll(async () => {
  await gateway?.close();
});

const db = () => gateway.database.db;

function requestFor(seller: string, quantity = 1) {
  return {
    seller,
    carrier: 'CARRIER-A',
    amount: { amount: String(100 * quantity), currency: 'JPY' },
    lines: [{ itemId: items[seller], quantity }],
  };
}

/** A presented check with its distribution notice sent: ready for the payment demand. */
async function demandable(buyer: string, seller: string) {
  const requested = await send(gateway, p[buyer]!, 'ECheckRequest', requestFor(seller));
  expect(requested.ids.checkNumber, JSON.stringify(requested.errors)).toBeDefined();
  const echeck = (
    await queuedOne(gateway, buyer, 'ECheck', { checkNumber: requested.ids.checkNumber! })
  ).body;
  const lines = [
    { itemId: items[seller]!, quantity: 1, unitPrice: { amount: '100', currency: 'JPY' } },
  ];
  const order = await send(gateway, p[buyer]!, 'CommodityOrder', orderBody(echeck, lines));
  const orderId = order.ids.orderId!;
  await send(gateway, p[seller]!, 'DistributionNotice', {
    orderId,
    carrier: 'CARRIER-A',
    expectedShipDate: '2036-04-16',
  });
  return {
    seller,
    checkNumber: echeck.checkNumber as string,
    demand: {
      checkNumber: echeck.checkNumber,
      echeck: echeck.echeck,
      sellingOffice: seller,
      orderId,
      amount: echeck.amount,
    },
  };
}

describe('concurrency on PostgreSQL', () => {
  it.skipIf(!onPostgres)(
    '50 concurrent check requests on one account hold no more than balance + credit limit',
    async () => {
      await fund(gateway, 'BUYER-A', '1000');
      await setCreditLimit(gateway, 'BUYER-A', '550');
      // room for 15 checks of 100 (1000 + 550 = 1550): 15 issued, 35 refused
      const sent = await Promise.all(
        Array.from({ length: 50 }, () =>
          send(gateway, p['BUYER-A']!, 'ECheckRequest', requestFor('SELLER-A')),
        ),
      );
      expect(sent.map((s) => s.status)).toEqual(Array(50).fill(200));
      const issued = sent.filter((s) => s.ids.checkNumber !== undefined);
      expect(issued).toHaveLength(15);
      expect(await queuedFor(db(), 'BUYER-A', 'ECheck')).toHaveLength(15);
      const refusals = await queuedFor(db(), 'BUYER-A', 'ECheckRefusal');
      expect(refusals.map((d) => d.body.reason)).toEqual(Array(35).fill('INSUFFICIENT_CREDIT'));
      expect(await accountOf(gateway, 'BUYER-A')).toMatchObject({
        held: { amount: '1500' },
        available: { amount: '50' },
      });
      await expectLedgerInvariants(db());
    },
  );

  it.skipIf(!onPostgres)('the same check demanded 20 times at once is paid once', async () => {
    await fund(gateway, 'BUYER-B', '1000');
    const { checkNumber, demand } = await demandable('BUYER-B', 'SELLER-A');
    const sent = await Promise.all(
      Array.from({ length: 20 }, () => send(gateway, p['SELLER-A']!, 'PaymentDemand', demand)),
    );
    expect(sent.filter((s) => s.status === 200)).toHaveLength(1);
    const refused = sent.filter((s) => s.status !== 200);
    expect(new Set(refused.map((s) => `${s.status} ${s.errors[0]?.code}`))).toEqual(
      new Set(['422 PAYMENT_ALREADY_DEMANDED']),
    );
    const entries = await db()
      .selectFrom('ledger_entries as e')
      .innerJoin('ledger_transfers as t', 't.id', 'e.transfer_id')
      .select(['e.amount_minor'])
      .where('t.reference', '=', checkNumber)
      .orderBy('e.amount_minor')
      .execute();
    expect(entries.map((e) => e.amount_minor)).toEqual([-100n, 2n, 98n]);
    const advices = (await queuedFor(db(), 'SELLER-A', 'PaymentAdvice')).filter(
      (d) => d.body.checkNumber === checkNumber,
    );
    expect(advices).toHaveLength(1);
    expect(await accountOf(gateway, 'BUYER-B')).toMatchObject({
      balance: { amount: '900' },
      held: { amount: '0' },
    });
    await expectLedgerInvariants(db());
  });

  it.skipIf(!onPostgres)(
    'concurrent demands on different checks, across crossing payers and payees, never overdraw',
    async () => {
      await fund(gateway, 'TRADER-X', '500');
      await fund(gateway, 'TRADER-Y', '300');
      await setCreditLimit(gateway, 'TRADER-Y', '200');
      const checks = [];
      for (let i = 0; i < 5; i++) checks.push(await demandable('TRADER-X', 'TRADER-Y'));
      for (let i = 0; i < 5; i++) checks.push(await demandable('TRADER-Y', 'TRADER-X'));
      const sent = await Promise.all(
        checks.map((c) => send(gateway, p[c.seller]!, 'PaymentDemand', c.demand)),
      );
      expect(
        sent.map((s) => s.status),
        JSON.stringify(sent.map((s) => s.errors)),
      ).toEqual(Array(10).fill(200));
      // each paid 5 × 100 and received 5 × 98 (commission: 2.5 % of 100, rounded down)
      for (const trader of ['TRADER-X', 'TRADER-Y']) {
        expect((await accountOf(gateway, trader))?.held.amount).toBe('0');
      }
      expect((await accountOf(gateway, 'TRADER-X'))?.balance.amount).toBe('490');
      expect((await accountOf(gateway, 'TRADER-Y'))?.balance.amount).toBe('290');
      await expectLedgerInvariants(db());
    },
  );
});
