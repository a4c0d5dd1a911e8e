/**
 * End to end over HTTP with real receivers: a buyer, a seller, a carrier (speaking XML) and a
 * settlement organ, each a local HTTPS-push endpoint. A deal is made through the trading flow
 * (the judges called directly, deadlines moved into the past), then the e-check order flow runs
 * from ECheckRequest to DeliveryComplete, each party acting only on what it was pushed. At the
 * end: every document each party got, each exactly once, and the final balances.
 */
import { sql } from 'kysely';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { decodeDocument } from '../../adapters/codec/index.ts';
import {
  judgeDueReservations,
  judgeDueTenders,
  type TradingDeps,
} from '../../gateway/core/trading/trading.service.ts';
import { createSchemaRegistry } from '../../schemas/registry.ts';
import { eventually, startDeliveryHarness, type DeliveryHarness } from '../support/delivery.ts';
import { accountOf, ADDRESS, fund, send } from '../support/echeck.ts';
import { registerPartner, type RegisteredPartner } from '../support/gateway.ts';
import { startReceiver, type Receiver } from '../support/receiver.ts';

interface Party {
  partner: RegisteredPartner;
  receiver: Receiver;
  format: 'json' | 'xml';
}

let harness: DeliveryHarness;
const parties: Record<string, Party> = {};
const registry = createSchemaRegistry();

beforeAll(async () => {
  harness = await startDeliveryHarness({ COMMISSION_RATE_PERCENT: '2.5' });
  for (const [id, role, format] of [
    ['BUYER', 'buyer', 'json'],
    ['SELLER', 'seller', 'json'],
    ['CARRIER', 'carrier', 'xml'],
    ['SETTLER', 'settlement', 'json'],
  ] as const) {
    const receiver = await startReceiver();
    const partner = await registerPartner(harness, {
      id,
      roles: [role],
      format,
      deliveryMode: 'push',
      endpointUrl: receiver.url,
    });
    parties[id] = { partner, receiver, format };
  }
});
afterAll(async () => {
  await harness.close();
  await Promise.all(Object.values(parties).map((party) => party.receiver.close()));
});

interface Pushed {
  type: string;
  header: Record<string, string>;
  body: Record<string, any>;
}

/** What a party was pushed and acknowledged, decoded from its own wire format, signature checked. */
function pushed(id: string): Pushed[] {
  const { receiver, partner, format } = parties[id]!;
  const webhook = new Webhook(partner.signingSecret);
  return receiver.requests
    .filter((r) => r.status !== undefined && r.status < 300)
    .map((r) => {
      // the Standard Webhooks signature over the exact bytes (verify() would parse them as JSON)
      const timestamp = new Date(Number(r.headers['webhook-timestamp']) * 1000);
      const signed = webhook.sign(r.messageId ?? '', timestamp, r.body);
      expect(String(r.headers['webhook-signature']).split(' ')).toContain(signed);
      const decoded = decodeDocument(r.body, format, registry);
      if (!decoded.ok) throw new Error(`${id} got an undecodable document: ${r.body}`);
      const { header, body } = decoded.document;
      return { type: header.type, header: header as unknown as Record<string, string>, body };
    });
}

/** Waits until the party has been pushed a document of `type` matching `match`. */
async function received(
  id: string,
  type: string,
  match: Record<string, string> = {},
): Promise<Pushed> {
  return eventually(
    () =>
      pushed(id).find(
        (d) => d.type === type && Object.entries(match).every(([k, v]) => d.body[k] === v),
      ),
    `${type} pushed to ${id}`,
  );
}

async function act(id: string, type: string, body: Record<string, unknown>) {
  const sent = await send(harness, parties[id]!.partner, type, body);
  expect(sent.status, `${type}: ${JSON.stringify(sent.errors)}`).toBe(200);
  return sent;
}

/** The trading flow of seed 000 up to a confirmed deal with its settlement organ and carrier. */
async function confirmedDeal(): Promise<string> {
  const trading: TradingDeps = {
    db: harness.database.db,
    settings: { commissionRatePercent: '2.5', confirmWindowS: 3600, tenderWindowS: 3600 },
    enqueue: harness.services.pipeline.enqueue,
  };
  const db = harness.database.db;
  const itemId = (
    await act('SELLER', 'ItemNotice', {
      sellerItemId: 'HX9-E2E',
      gtin: undefined,
      releaseDate: '2036-12-01',
      listPrice: { amount: '32800', currency: 'JPY' },
    })
  ).ids.itemId!;
  const reservationId = (
    await act('BUYER', 'PurchaseReservation', {
      itemId,
      quantity: 10,
      maxUnitPrice: { amount: '32000', currency: 'JPY' },
      neededBy: '2036-06-30',
      biddingDeadline: new Date(Date.now() + 3600_000).toISOString(),
    })
  ).ids.reservationId!;
  await act('SELLER', 'OrderBid', {
    reservationId,
    action: 'submit',
    unitPrice: { amount: '31000', currency: 'JPY' },
    quantity: 10,
    promisedDeliveryDate: '2036-06-01',
    note: undefined,
  });
  await sql`update reservations set bidding_deadline = now() - interval '1 second' where id = ${reservationId}`.execute(
    db,
  );
  await judgeDueReservations(trading);
  const dealId = (await received('BUYER', 'Award', { reservationId })).body.dealId as string;
  await received('SELLER', 'IntermediaryTerms', { dealId });
  await act('BUYER', 'PurchaseConfirmation', { dealId, decision: 'accept' });
  await act('SELLER', 'OrderConfirmation', { dealId, decision: 'accept' });
  const settlementTender = (await received('SETTLER', 'SettlementRequest', { dealId })).body
    .tenderId;
  const transportTender = (await received('CARRIER', 'TransportRequest', { dealId })).body.tenderId;
  await act('SETTLER', 'SettlementTerms', {
    tenderId: settlementTender,
    fixedFee: { amount: '100', currency: 'JPY' },
    ratePercent: '1',
    settlementDays: 2,
  });
  await act('CARRIER', 'TransportTerms', {
    tenderId: transportTender,
    fee: { amount: '1200', currency: 'JPY' },
    pickupDate: '2036-06-02',
    deliveryDate: '2036-06-05',
  });
  await sql`update tenders set terms_deadline = now() - interval '1 second' where deal_id = ${dealId}`.execute(
    db,
  );
  await judgeDueTenders(trading);
  await received('SETTLER', 'SettlementCommission', { dealId });
  await received('CARRIER', 'TransportCommission', { dealId });
  return dealId;
}

it(
  'runs a deal from ECheckRequest to DeliveryComplete between four real endpoints',
  { timeout: 60_000 },
  async () => {
    const dealId = await confirmedDeal();
    await fund(harness, 'BUYER', '400000');

    // 10: the buyer asks for a check for the deal's charge and is pushed the signed check
    const checkRequest = {
      seller: 'SELLER',
      carrier: 'CARRIER',
      amount: { amount: '310000', currency: 'JPY' },
      dealId,
      lines: undefined,
      requestReference: undefined,
    };
    // (a charge other than the deal's is judged and refused)
    const wrong = await act('BUYER', 'ECheckRequest', {
      ...checkRequest,
      amount: { amount: '300000', currency: 'JPY' },
    });
    const refusal = await received('BUYER', 'ECheckRefusal', {
      requestMessageId: wrong.receipt.messageId as string,
    });
    expect(refusal.body.reason).toBe('AMOUNT_MISMATCH');
    await act('BUYER', 'ECheckRequest', checkRequest);
    const echeck = (await received('BUYER', 'ECheck', { dealId })).body;
    expect(echeck).toMatchObject({
      buyer: 'BUYER',
      seller: 'SELLER',
      carrier: 'CARRIER',
      amount: { amount: '310000', currency: 'JPY' },
    });

    // 11: the order with that check, as pushed; the seller is pushed the order
    const deal = await harness.database.db
      .selectFrom('deals')
      .select(['item_id'])
      .where('id', '=', dealId)
      .executeTakeFirstOrThrow();
    await act('BUYER', 'CommodityOrder', {
      seller: 'SELLER',
      checkNumber: echeck.checkNumber,
      echeck: echeck.echeck,
      dealId,
      lines: [
        { itemId: deal.item_id, quantity: 10, unitPrice: { amount: '31000', currency: 'JPY' } },
      ],
      total: echeck.amount,
      distributionAddress: ADDRESS,
      orderReference: 'PO-E2E-1',
    });
    const order = (await received('SELLER', 'CommodityOrder', { checkNumber: echeck.checkNumber }))
      .body;
    expect(order).toMatchObject({ dealId, distributionAddress: ADDRESS, total: echeck.amount });
    // the seller knows the order by its check: CHK-x pays for ORD-x
    const orderId = (order.checkNumber as string).replace(/^CHK-/, 'ORD-');

    // 12: distribution notice to the buyer, instruction to the deal's carrier
    await act('SELLER', 'DistributionNotice', {
      orderId,
      carrier: 'CARRIER',
      expectedShipDate: '2036-06-02',
      note: undefined,
    });
    await act('SELLER', 'DistributionInstruction', {
      orderId,
      commodities: order.lines.map((l: { itemId: string; quantity: number }) => ({
        itemId: l.itemId,
        name: 'Aozora HX-9',
        quantity: l.quantity,
      })),
      distributionAddress: order.distributionAddress,
      pickupAddress: undefined,
      neededBy: '2036-06-05',
    });
    await received('BUYER', 'DistributionNotice', { orderId });
    const instruction = (await received('CARRIER', 'DistributionInstruction', { orderId })).body;
    expect(instruction.distributionAddress).toEqual(ADDRESS);

    // 13: the carrier's date and time, to seller and buyer
    await act('CARRIER', 'DeliverySchedule', {
      orderId,
      deliveryDate: '2036-06-04',
      windowStart: '2036-06-04T10:00:00+09:00',
      windowEnd: '2036-06-04T14:00:00+09:00',
      note: undefined,
    });
    await received('SELLER', 'DeliverySchedule', { orderId });
    await received('BUYER', 'DeliverySchedule', { orderId, deliveryDate: '2036-06-04' });

    // 14: the buyer's payment information, on the distribution notice
    await act('BUYER', 'PaymentNotice', {
      orderId,
      checkNumber: echeck.checkNumber,
      amount: echeck.amount,
    });
    await received('SELLER', 'PaymentNotice', { orderId });

    // 15: the payment demand; advice to both, settlement instruction to the deal's organ
    await act('SELLER', 'PaymentDemand', {
      checkNumber: echeck.checkNumber,
      echeck: echeck.echeck,
      sellingOffice: 'SELLER',
      orderId,
      amount: echeck.amount,
    });
    const commission = { amount: '7750', currency: 'JPY' }; // 2.5 % of 310000
    for (const party of ['SELLER', 'BUYER']) {
      expect((await received(party, 'PaymentAdvice', { orderId })).body).toMatchObject({
        status: 'paid',
        commission,
        payer: 'BUYER',
        payee: 'SELLER',
      });
    }
    const settlement = (await received('SETTLER', 'SettlementInstruction', { orderId })).body;
    expect(settlement).toMatchObject({
      dealId,
      checkNumber: echeck.checkNumber,
      amount: echeck.amount,
      commission,
      payer: 'BUYER',
      payee: 'SELLER',
    });
    const paidOn = new Date(Date.now() + 2 * 86_400_000).toISOString().slice(0, 10);
    expect([paidOn, new Date(Date.now() + 86_400_000).toISOString().slice(0, 10)]).toContain(
      settlement.valueDate,
    );

    // 16: delivery situation and completion, to the seller (and recorded by the check manager)
    await act('CARRIER', 'DeliveryStatus', {
      orderId,
      status: 'out-for-delivery',
      at: '2036-06-04T09:00:00+09:00',
      location: undefined,
      note: undefined,
    });
    await act('CARRIER', 'DeliveryComplete', {
      orderId,
      deliveredAt: '2036-06-04T11:20:00+09:00',
      receivedBy: 'K. Sato',
      note: undefined,
    });
    await received('SELLER', 'DeliveryComplete', { orderId });

    // every document each party got, each once
    const expected: Record<string, string[]> = {
      BUYER: [
        'Award',
        'ECheckRefusal',
        'ECheck',
        'DistributionNotice',
        'DeliverySchedule',
        'PaymentAdvice',
      ],
      SELLER: [
        'IntermediaryTerms',
        'CommodityOrder',
        'DeliverySchedule',
        'PaymentNotice',
        'PaymentAdvice',
        'DeliveryStatus',
        'DeliveryComplete',
      ],
      CARRIER: ['TransportRequest', 'TransportCommission', 'DistributionInstruction'],
      SETTLER: ['SettlementRequest', 'SettlementCommission', 'SettlementInstruction'],
    };
    await eventually(() => pushed('SELLER').length >= expected.SELLER!.length, 'every push');
    for (const [id, types] of Object.entries(expected)) {
      const got = pushed(id);
      expect(got.map((d) => d.type).sort(), id).toEqual([...types].sort());
      expect(got.every((d) => d.header.sender === 'NAKADACHI' && d.header.recipient === id)).toBe(
        true,
      );
      expect([...parties[id]!.receiver.acknowledgedCounts().values()].every((n) => n === 1)).toBe(
        true,
      );
    }

    // the deal is paid: no second check for it
    const again = await send(harness, parties.BUYER!.partner, 'ECheckRequest', checkRequest);
    expect(again.status).toBe(422);
    expect(again.errors[0]).toMatchObject({ path: '/body/dealId', code: 'DEAL_ALREADY_CHECKED' });

    // the balances: the buyer paid the charge, the seller got it less the commission
    expect(await accountOf(harness, 'BUYER')).toMatchObject({
      balance: { amount: '90000' },
      held: { amount: '0' },
      available: { amount: '90000' },
    });
    expect((await accountOf(harness, 'SELLER'))?.balance).toEqual({
      amount: '302250',
      currency: 'JPY',
    });
    expect((await accountOf(harness, 'NAKADACHI', 'JPY', 'revenue'))?.balance).toEqual(commission);
    expect((await accountOf(harness, 'NAKADACHI', 'JPY', 'external'))?.balance).toEqual({
      amount: '-400000',
      currency: 'JPY',
    });
    const check = await harness.admin('GET', `/admin/v1/checks/${echeck.checkNumber as string}`);
    expect(((await check.json()) as Record<string, any>).check).toMatchObject({
      status: 'paid',
      orderId,
      dealId,
    });
  },
);
