/**
 * The electronic-check order flow of seed 004 through the document API, one handler at a time:
 * check issue after the credit judgement, the order with its check, distribution, payment,
 * delivery — and every refusal, each leaving nothing behind but its log entry. What each party
 * is sent is read from the outbox (delivery itself is tested in echeck-e2e.test.ts).
 */
import { generateKeyPairSync } from 'node:crypto';
import { compactVerify, createLocalJWKSet, type JSONWebKeySet } from 'jose';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expireDueChecks } from '../../gateway/core/checks/checks.service.ts';
import { createSigner } from '../../gateway/core/signing/signer.ts';
import { expireChecksJob } from '../../jobs/expire-checks.ts';
import {
  accountOf,
  adminJson,
  fund,
  listItem,
  orderBody,
  queuedOne,
  send,
  setCreditLimit,
  type Line,
  registerParties,
  expectLedgerInvariants,
} from '../support/echeck.ts';
import { startTestGateway, type RegisteredPartner, type TestGateway } from '../support/gateway.ts';
import { queuedFor } from '../support/outbox.ts';

let gateway: TestGateway;
let p: Record<string, RegisteredPartner> = {};
let item: string; // SELLER-A lists it at 1200 JPY
let itemB: string; // SELLER-B lists it at 500 JPY

beforeAll(async () => {
  gateway = await startTestGateway({ COMMISSION_RATE_PERCENT: '2.5' });
  p = await registerParties(gateway, [
    ['BUYER-A', ['buyer']],
    ['BUYER-B', ['buyer']],
    ['BUYER-C', ['buyer']],
    ['SELLER-A', ['seller']],
    ['SELLER-B', ['seller']],
    ['SELLER-S', ['seller']],
    ['CARRIER-A', ['carrier']],
    ['CARRIER-B', ['carrier']],
    ['CARRIER-S', ['carrier']],
  ]);
  item = await listItem(gateway, p['SELLER-A']!, '1200');
  itemB = await listItem(gateway, p['SELLER-B']!, '500');
  await adminJson(gateway, 'POST', '/admin/v1/partners/SELLER-S/disable');
  await adminJson(gateway, 'POST', '/admin/v1/partners/CARRIER-S/disable');
  await fund(gateway, 'BUYER-A', '100000');
  await setCreditLimit(gateway, 'BUYER-A', '5000');
});
afterAll(async () => {
  await gateway.close();
});

const db = () => gateway.database.db;

function lines(quantity: number, itemId = item, price = '1200'): Line[] {
  return [{ itemId, quantity, unitPrice: { amount: price, currency: 'JPY' } }];
}

function checkRequest(over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    seller: 'SELLER-A',
    carrier: 'CARRIER-A',
    amount: { amount: '3600', currency: 'JPY' },
    lines: [{ itemId: item, quantity: 3 }],
    dealId: undefined,
    ...over,
  };
}

/** An ECheck issued to the buyer for `quantity` × the item; its body as queued. */
async function issue(quantity = 3, buyer = 'BUYER-A'): Promise<Record<string, any>> {
  const sent = await send(gateway, p[buyer]!, 'ECheckRequest', {
    ...checkRequest(),
    amount: { amount: String(1200 * quantity), currency: 'JPY' },
    lines: [{ itemId: item, quantity }],
  });
  expect(sent.status, JSON.stringify(sent.errors)).toBe(200);
  return (await queuedOne(gateway, buyer, 'ECheck', { checkNumber: sent.ids.checkNumber! })).body;
}

/** An order paid by a fresh check, through the distribution notice; its ids. */
async function orderedAndNoticed(quantity = 1) {
  const echeck = await issue(quantity);
  const order = await send(
    gateway,
    p['BUYER-A']!,
    'CommodityOrder',
    orderBody(echeck, lines(quantity)),
  );
  expect(order.status, JSON.stringify(order.errors)).toBe(200);
  const orderId = order.ids.orderId!;
  const notice = await send(gateway, p['SELLER-A']!, 'DistributionNotice', {
    orderId,
    carrier: 'CARRIER-A',
    expectedShipDate: '2036-04-16',
  });
  expect(notice.status).toBe(200);
  return { echeck, orderId };
}

function demand(echeck: Record<string, any>, orderId: string, over: Record<string, unknown> = {}) {
  return {
    checkNumber: echeck.checkNumber,
    echeck: echeck.echeck,
    sellingOffice: 'SELLER-A',
    orderId,
    amount: echeck.amount,
    ...over,
  };
}

async function checkStatus(checkNumber: string): Promise<string> {
  return (await adminJson(gateway, 'GET', `/admin/v1/checks/${checkNumber}`)).check.status;
}

async function jwks(): Promise<JSONWebKeySet> {
  return (await (await gateway.app.request('/.well-known/jwks.json')).json()) as JSONWebKeySet;
}

describe('a direct order at list price, from check request to delivery', () => {
  it('issues, orders, distributes, pays and delivers, each party getting its documents', async () => {
    const before = await accountOf(gateway, 'BUYER-A');

    // 10 — the check request: credit judged, hold placed, signed check issued (cl.1, 3, 6, 10)
    const request = await send(gateway, p['BUYER-A']!, 'ECheckRequest', checkRequest());
    expect(request.status).toBe(200);
    const checkNumber = request.ids.checkNumber!;
    expect(checkNumber).toMatch(/^CHK-/);
    const echeck = await queuedOne(gateway, 'BUYER-A', 'ECheck', { checkNumber });
    expect(echeck.header).toMatchObject({ sender: 'NAKADACHI', recipient: 'BUYER-A' });
    expect(echeck.body).toMatchObject({
      amount: { amount: '3600', currency: 'JPY' },
      buyer: 'BUYER-A',
      seller: 'SELLER-A',
      carrier: 'CARRIER-A',
    });
    const { payload, protectedHeader } = await compactVerify(
      echeck.body.echeck as string,
      createLocalJWKSet(await jwks()),
    );
    expect(protectedHeader.alg).toBe('EdDSA');
    const claims = JSON.parse(new TextDecoder().decode(payload)) as Record<string, unknown>;
    expect(claims).toMatchObject({
      iss: 'NAKADACHI',
      checkNumber,
      amount: { amount: '3600', currency: 'JPY' },
      buyer: 'BUYER-A',
      seller: 'SELLER-A',
      carrier: 'CARRIER-A',
      iat: Date.parse(echeck.body.issuedAt as string) / 1000,
      exp: Date.parse(echeck.body.expiresAt as string) / 1000,
    });
    expect(claims.exp as number).toBe((claims.iat as number) + gateway.config.checkValidityS);
    const held = await accountOf(gateway, 'BUYER-A');
    expect(held?.held).toEqual({ amount: '3600', currency: 'JPY' });
    expect(held?.balance).toEqual(before?.balance);

    // 11 — the order with the check and the distribution address (cl.2, 8), forwarded to the seller
    const order = await send(
      gateway,
      p['BUYER-A']!,
      'CommodityOrder',
      orderBody(echeck.body, lines(3)),
    );
    expect(order.status, JSON.stringify(order.errors)).toBe(200);
    const orderId = order.ids.orderId!;
    expect(orderId).toBe(checkNumber.replace(/^CHK-/, 'ORD-'));
    const forwarded = await queuedOne(gateway, 'SELLER-A', 'CommodityOrder', { checkNumber });
    expect(forwarded.header).toMatchObject({ sender: 'NAKADACHI', recipient: 'SELLER-A' });
    // the seller's copy is the buyer's order plus the order id the gateway assigned
    expect(forwarded.body).toEqual({ ...orderBody(echeck.body, lines(3)), orderId });
    expect(await checkStatus(checkNumber)).toBe('presented');

    // 12 — distribution notice to the buyer (cl.1), instruction to the check's carrier (cl.9, 11)
    const notice = { orderId, carrier: 'CARRIER-A', expectedShipDate: '2036-04-16', note: 'Soon.' };
    expect((await send(gateway, p['SELLER-A']!, 'DistributionNotice', notice)).status).toBe(200);
    expect((await queuedOne(gateway, 'BUYER-A', 'DistributionNotice', { orderId })).body).toEqual(
      notice,
    );
    const instruction = {
      orderId,
      commodities: [{ itemId: item, name: 'Aozora HX-9', quantity: 3 }],
      distributionAddress: orderBody(echeck.body, []).distributionAddress,
      neededBy: '2036-04-18',
      pickupAddress: undefined,
    };
    expect(
      (await send(gateway, p['SELLER-A']!, 'DistributionInstruction', instruction)).status,
    ).toBe(200);
    const instructed = await queuedOne(gateway, 'CARRIER-A', 'DistributionInstruction', {
      orderId,
    });
    expect(instructed.body).toEqual(JSON.parse(JSON.stringify(instruction)));

    // 13 — the carrier's delivery date and time, to seller and buyer (cl.11)
    const schedule = {
      orderId,
      deliveryDate: '2036-04-17',
      windowStart: '2036-04-17T10:00:00+02:00',
      windowEnd: '2036-04-17T14:00:00+02:00',
    };
    expect((await send(gateway, p['CARRIER-A']!, 'DeliverySchedule', schedule)).status).toBe(200);
    for (const party of ['SELLER-A', 'BUYER-A']) {
      expect((await queuedOne(gateway, party, 'DeliverySchedule', { orderId })).body).toMatchObject(
        schedule,
      );
    }

    // 14 — the buyer's payment information to the seller (cl.4)
    const paymentNotice = { orderId, checkNumber, amount: { amount: '3600', currency: 'JPY' } };
    expect((await send(gateway, p['BUYER-A']!, 'PaymentNotice', paymentNotice)).status).toBe(200);
    expect((await queuedOne(gateway, 'SELLER-A', 'PaymentNotice', { orderId })).body).toMatchObject(
      paymentNotice,
    );

    // 15 — the payment demand: paid once, commission to the intermediary (cl.5, 7)
    const sellerBefore = await accountOf(gateway, 'SELLER-A');
    const paid = await send(gateway, p['SELLER-A']!, 'PaymentDemand', demand(echeck.body, orderId));
    expect(paid.status, JSON.stringify(paid.errors)).toBe(200);
    expect(await checkStatus(checkNumber)).toBe('paid');
    for (const party of ['SELLER-A', 'BUYER-A']) {
      expect(
        (await queuedOne(gateway, party, 'PaymentAdvice', { checkNumber })).body,
      ).toMatchObject({
        orderId,
        amount: { amount: '3600', currency: 'JPY' },
        payer: 'BUYER-A',
        payee: 'SELLER-A',
        commission: { amount: '90', currency: 'JPY' },
        status: 'paid',
      });
    }
    // a direct order has no settlement organ: settled in the ledger alone
    const instructions = await db()
      .selectFrom('outbox')
      .select('id')
      .where('document_type', '=', 'SettlementInstruction')
      .where(sql<boolean>`refs ->> 'checkNumber' = ${checkNumber}`)
      .execute();
    expect(instructions).toEqual([]);
    const after = await accountOf(gateway, 'BUYER-A');
    expect(BigInt(after?.balance.amount as string)).toBe(
      BigInt(before?.balance.amount as string) - 3600n,
    );
    expect(after?.held.amount).toBe(before?.held.amount);
    const sellerAfter = await accountOf(gateway, 'SELLER-A');
    expect(
      BigInt(sellerAfter?.balance.amount as string) - BigInt(sellerBefore?.balance.amount ?? '0'),
    ).toBe(3510n);
    expect((await accountOf(gateway, 'NAKADACHI', 'JPY', 'revenue'))?.balance.amount).not.toBe('0');

    // 16 — delivery status and completion, to the seller and the check manager (cl.12, 23)
    const status = {
      orderId,
      status: 'in-transit',
      at: '2036-04-16T07:41:00+02:00',
      location: 'Hub',
    };
    expect((await send(gateway, p['CARRIER-A']!, 'DeliveryStatus', status)).status).toBe(200);
    expect((await queuedOne(gateway, 'SELLER-A', 'DeliveryStatus', { orderId })).body).toEqual(
      status,
    );
    const complete = { orderId, deliveredAt: '2036-04-17T11:32:00+02:00', receivedBy: 'M. Wagner' };
    expect((await send(gateway, p['CARRIER-A']!, 'DeliveryComplete', complete)).status).toBe(200);
    expect(
      (await queuedOne(gateway, 'SELLER-A', 'DeliveryComplete', { orderId })).body,
    ).toMatchObject(complete);
    const recorded = await db()
      .selectFrom('commodity_orders')
      .select([
        'status',
        'delivered_at',
        'received_by',
        'last_delivery_status',
        'payment_noticed_at',
      ])
      .where('id', '=', orderId)
      .executeTakeFirstOrThrow();
    expect(recorded).toMatchObject({
      status: 'delivered',
      received_by: 'M. Wagner',
      last_delivery_status: 'in-transit',
    });
    expect(recorded.delivered_at?.toISOString()).toBe('2036-04-17T09:32:00.000Z');
    expect(recorded.payment_noticed_at).not.toBeNull();

    // the log indexes every step by the check and the order
    const logged = await db()
      .selectFrom('message_log')
      .select('document_type')
      .where('direction', '=', 'inbound')
      .where(sql<boolean>`refs ->> 'checkNumber' = ${checkNumber}`)
      .orderBy('id')
      .execute();
    expect(logged.map((r) => r.document_type)).toEqual([
      'ECheckRequest',
      'CommodityOrder',
      'DistributionNotice',
      'DistributionInstruction',
      'DeliverySchedule',
      'PaymentNotice',
      'PaymentDemand',
      'DeliveryStatus',
      'DeliveryComplete',
    ]);
    await expectLedgerInvariants(db());
  });
});

describe('check requests the gateway refuses with ECheckRefusal', () => {
  it.each([
    ['an unregistered seller', () => ({ seller: 'NOBODY' }), 'UNREGISTERED_SELLER'],
    ['a partner that is no seller', () => ({ seller: 'CARRIER-A' }), 'UNREGISTERED_SELLER'],
    ['a suspended seller', () => ({ seller: 'SELLER-S' }), 'UNREGISTERED_SELLER'],
    ['an unregistered carrier', () => ({ carrier: 'NOBODY' }), 'UNREGISTERED_CARRIER'],
    ['a suspended carrier', () => ({ carrier: 'CARRIER-S' }), 'UNREGISTERED_CARRIER'],
    [
      'more than the credit',
      () => ({
        amount: { amount: '106800', currency: 'JPY' },
        lines: [{ itemId: item, quantity: 89 }],
      }),
      'INSUFFICIENT_CREDIT',
    ],
    [
      'an amount that is not the list price',
      () => ({ amount: { amount: '3500', currency: 'JPY' } }),
      'AMOUNT_MISMATCH',
    ],
    [
      'another currency than the list price',
      () => ({ amount: { amount: '36.00', currency: 'EUR' } }),
      'CURRENCY_MISMATCH',
    ],
    ['an unknown deal', () => ({ dealId: 'DEAL-NONE', lines: undefined }), 'UNKNOWN_DEAL'],
  ])('refuses %s', async (_what, over, reason) => {
    const heldBefore = (await accountOf(gateway, 'BUYER-A'))?.held;
    const sent = await send(gateway, p['BUYER-A']!, 'ECheckRequest', checkRequest(over()));
    expect(sent.status, JSON.stringify(sent.errors)).toBe(200); // received and judged: the answer is the refusal
    expect(sent.ids).toEqual({});
    const refusals = (await queuedFor(db(), 'BUYER-A', 'ECheckRefusal')).filter(
      (d) => d.body.requestMessageId === sent.receipt.messageId,
    );
    expect(refusals.map((d) => d.body.reason)).toEqual([reason]);
    expect(refusals[0]?.body.message).toEqual(expect.any(String));
    expect((await accountOf(gateway, 'BUYER-A'))?.held).toEqual(heldBefore);
  });

  it('refuses a buyer without an account, and one whose account is suspended', async () => {
    const none = await send(gateway, p['BUYER-B']!, 'ECheckRequest', checkRequest());
    expect(
      (
        await queuedOne(gateway, 'BUYER-B', 'ECheckRefusal', {
          requestMessageId: none.receipt.messageId,
        })
      ).body.reason,
    ).toBe('NO_ACCOUNT');
    await fund(gateway, 'BUYER-C', '10000');
    await adminJson(gateway, 'POST', '/admin/v1/accounts/BUYER-C/suspend', { currency: 'JPY' });
    const suspended = await send(gateway, p['BUYER-C']!, 'ECheckRequest', checkRequest());
    expect(
      (
        await queuedOne(gateway, 'BUYER-C', 'ECheckRefusal', {
          requestMessageId: suspended.receipt.messageId,
        })
      ).body,
    ).toMatchObject({
      reason: 'SUSPENDED_ACCOUNT',
    });
    await adminJson(gateway, 'POST', '/admin/v1/accounts/BUYER-C/activate', { currency: 'JPY' });
    expect(
      (await send(gateway, p['BUYER-C']!, 'ECheckRequest', checkRequest())).ids.checkNumber,
    ).toMatch(/^CHK-/);
  });

  it('rejects malformed requests in the receipt: no charge named, an item the seller does not offer, a zero amount', async () => {
    const neither = await send(
      gateway,
      p['BUYER-A']!,
      'ECheckRequest',
      checkRequest({ lines: undefined }),
    );
    expect(neither.status).toBe(422);
    expect(neither.errors[0]?.path).toBe('/body');
    const both = await send(
      gateway,
      p['BUYER-A']!,
      'ECheckRequest',
      checkRequest({ dealId: 'DEAL-X' }),
    );
    expect(both.status).toBe(422);
    const notOffered = await send(
      gateway,
      p['BUYER-A']!,
      'ECheckRequest',
      checkRequest({ lines: [{ itemId: itemB, quantity: 1 }] }),
    );
    expect(notOffered.status).toBe(404);
    expect(notOffered.errors[0]?.path).toBe('/body/lines/0/itemId');
    const zero = await send(
      gateway,
      p['BUYER-A']!,
      'ECheckRequest',
      checkRequest({ amount: { amount: '0', currency: 'JPY' } }),
    );
    expect(zero.status).toBe(422);
    expect(zero.errors[0]?.path).toBe('/body/amount/amount');
  });
});

describe('orders whose check is not valid are refused and never reach the seller', () => {
  async function refusedOrder(body: Record<string, unknown>, buyer = 'BUYER-A') {
    const sellerOrders = (await queuedFor(db(), 'SELLER-A', 'CommodityOrder')).length;
    const sent = await send(gateway, p[buyer]!, 'CommodityOrder', body);
    expect(sent.ids).toEqual({});
    expect((await queuedFor(db(), 'SELLER-A', 'CommodityOrder')).length).toBe(sellerOrders);
    return sent;
  }

  it('refuses a forged check: well formed, signed by a key the gateway never published', async () => {
    const echeck = await issue(1);
    const { privateKey } = generateKeyPairSync('ed25519');
    const forger = await createSigner(privateKey);
    const [, payload] = (echeck.echeck as string).split('.');
    const forged = forger.sign(Buffer.from(payload!, 'base64url'));
    const sent = await refusedOrder(orderBody(echeck, lines(1), { echeck: forged }));
    expect(sent.status).toBe(422);
    expect(sent.errors).toEqual([
      expect.objectContaining({ path: '/body/echeck', code: 'CHECK_SIGNATURE_INVALID' }),
    ]);
    expect(await checkStatus(echeck.checkNumber as string)).toBe('issued');
  });

  it('refuses an altered check: the amount raised in the payload, the signature kept', async () => {
    const echeck = await issue(1);
    const [header, payload, signature] = (echeck.echeck as string).split('.');
    const claims = JSON.parse(Buffer.from(payload!, 'base64url').toString()) as Record<string, any>;
    claims.amount = { amount: '999999', currency: 'JPY' };
    const altered = `${header}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${signature}`;
    const sent = await refusedOrder(orderBody(echeck, lines(1), { echeck: altered }));
    expect(sent.errors[0]).toMatchObject({ path: '/body/echeck', code: 'CHECK_SIGNATURE_INVALID' });
  });

  it('refuses a genuine check presented under another check number', async () => {
    const first = await issue(1);
    const second = await issue(1);
    const sent = await refusedOrder(orderBody(first, lines(1), { echeck: second.echeck }));
    expect(sent.errors[0]).toMatchObject({ path: '/body/checkNumber', code: 'CHECK_MISMATCH' });
  });

  it('refuses an expired check', async () => {
    const echeck = await issue(1);
    await sql`update checks set expires_at = now() - interval '1 second', issued_at = now() - interval '1 hour' where check_number = ${echeck.checkNumber}`.execute(
      db(),
    );
    const sent = await refusedOrder(orderBody(echeck, lines(1)));
    expect(sent.status).toBe(422);
    expect(sent.errors[0]).toMatchObject({ code: 'CHECK_EXPIRED' });
  });

  it('refuses a check made out to another seller', async () => {
    const echeck = await issue(1);
    const sent = await refusedOrder(orderBody(echeck, lines(1), { seller: 'SELLER-B' }));
    expect(sent.errors).toEqual([
      expect.objectContaining({ path: '/body/seller', code: 'CHECK_PAYEE_MISMATCH' }),
    ]);
  });

  it('refuses an order that names its own order id (the gateway assigns it)', async () => {
    const echeck = await issue(1);
    const sent = await refusedOrder(orderBody(echeck, lines(1), { orderId: 'ORD-MINE' }));
    expect(sent.errors).toEqual([expect.objectContaining({ path: '/body/orderId' })]);
  });

  it('refuses a check used a second time', async () => {
    const echeck = await issue(1);
    expect(
      (await send(gateway, p['BUYER-A']!, 'CommodityOrder', orderBody(echeck, lines(1)))).status,
    ).toBe(200);
    const again = await refusedOrder(orderBody(echeck, lines(1), { orderReference: 'PO-AGAIN' }));
    expect(again.status).toBe(422);
    expect(again.errors[0]).toMatchObject({ code: 'CHECK_ALREADY_PRESENTED' });
  });

  it('refuses an order whose total is not the check amount, or not the sum of its lines, or other lines', async () => {
    const echeck = await issue(2);
    const cheaper = await refusedOrder(
      orderBody(echeck, lines(2, item, '1000'), { total: { amount: '2000', currency: 'JPY' } }),
    );
    expect(cheaper.errors.map((e) => e.code)).toEqual(['AMOUNT_MISMATCH', 'LINES_MISMATCH']);
    const wrongSum = await refusedOrder(orderBody(echeck, lines(1)));
    expect(wrongSum.errors.map((e) => e.code)).toEqual(['ORDER_TOTAL_MISMATCH', 'LINES_MISMATCH']);
    expect(await checkStatus(echeck.checkNumber as string)).toBe('issued');
  });

  it("answers another buyer's check as not found", async () => {
    const echeck = await issue(1);
    await fund(gateway, 'BUYER-B', '1');
    const sent = await refusedOrder(orderBody(echeck, lines(1)), 'BUYER-B');
    expect(sent.status).toBe(404);
  });
});

describe('the payment demand', () => {
  it('refuses a seller demanding payment of a check made out to someone else', async () => {
    const { echeck, orderId } = await orderedAndNoticed();
    const sent = await send(
      gateway,
      p['SELLER-B']!,
      'PaymentDemand',
      demand(echeck, orderId, { sellingOffice: 'SELLER-B' }),
    );
    expect(sent.status).toBe(422);
    expect(sent.errors).toEqual([expect.objectContaining({ code: 'CHECK_PAYEE_MISMATCH' })]);
    const claimsOther = await send(
      gateway,
      p['SELLER-B']!,
      'PaymentDemand',
      demand(echeck, orderId),
    );
    expect(claimsOther.errors.map((e) => e.code)).toEqual([
      'SELLING_OFFICE_MISMATCH',
      'CHECK_PAYEE_MISMATCH',
    ]);
    expect(await checkStatus(echeck.checkNumber as string)).toBe('presented');
  });

  it('pays once: a second demand is refused, and neither a wrong amount nor order is paid', async () => {
    const { echeck, orderId } = await orderedAndNoticed();
    const wrong = await send(
      gateway,
      p['SELLER-A']!,
      'PaymentDemand',
      demand(echeck, orderId, { amount: { amount: '1', currency: 'JPY' }, orderId: 'ORD-OTHER' }),
    );
    expect(wrong.errors.map((e) => e.code)).toEqual(['ORDER_MISMATCH', 'AMOUNT_MISMATCH']);
    expect(
      (await send(gateway, p['SELLER-A']!, 'PaymentDemand', demand(echeck, orderId))).status,
    ).toBe(200);
    const again = await send(gateway, p['SELLER-A']!, 'PaymentDemand', demand(echeck, orderId));
    expect(again.status).toBe(422);
    expect(again.errors[0]).toMatchObject({ code: 'PAYMENT_ALREADY_DEMANDED' });
    const payments = await db()
      .selectFrom('ledger_transfers')
      .select('id')
      .where('reference', '=', echeck.checkNumber as string)
      .execute();
    expect(payments).toHaveLength(1);
    await expectLedgerInvariants(db());
  });

  it('waits for the distribution notice, and for an order', async () => {
    const unpresented = await issue(1);
    const early = await send(
      gateway,
      p['SELLER-A']!,
      'PaymentDemand',
      demand(unpresented, 'ORD-X'),
    );
    expect(early.errors[0]).toMatchObject({ code: 'CHECK_NOT_PRESENTED' });
    const echeck = await issue(1);
    const order = await send(gateway, p['BUYER-A']!, 'CommodityOrder', orderBody(echeck, lines(1)));
    const unnoticed = await send(
      gateway,
      p['SELLER-A']!,
      'PaymentDemand',
      demand(echeck, order.ids.orderId!),
    );
    expect(unnoticed.errors).toEqual([
      expect.objectContaining({ code: 'DISTRIBUTION_NOT_NOTIFIED' }),
    ]);
    const notice = await send(gateway, p['BUYER-A']!, 'PaymentNotice', {
      orderId: order.ids.orderId,
      checkNumber: echeck.checkNumber,
      amount: echeck.amount,
    });
    expect(notice.errors[0]).toMatchObject({ code: 'DISTRIBUTION_NOT_NOTIFIED' });
  });
});

describe('distribution and delivery documents', () => {
  it("accepts each only from the order's party in its role, and in the order's state", async () => {
    const { echeck, orderId } = await orderedAndNoticed(2);
    const ofOther = await send(gateway, p['SELLER-B']!, 'DistributionNotice', {
      orderId,
      carrier: 'CARRIER-A',
      expectedShipDate: '2036-04-16',
    });
    expect(ofOther.status).toBe(404);
    const otherCarrier = await send(gateway, p['SELLER-A']!, 'DistributionNotice', {
      orderId,
      carrier: 'CARRIER-B',
      expectedShipDate: '2036-04-16',
    });
    expect(otherCarrier.errors[0]).toMatchObject({
      path: '/body/carrier',
      code: 'CARRIER_MISMATCH',
    });
    const tooEarly = await send(gateway, p['CARRIER-A']!, 'DeliveryComplete', {
      orderId,
      deliveredAt: '2036-04-17T11:32:00Z',
    });
    expect(tooEarly.errors[0]).toMatchObject({ code: 'ORDER_STATE' });

    const instruction = (over: Record<string, unknown>) => ({
      orderId,
      commodities: [{ itemId: item, name: 'Aozora HX-9', quantity: 2 }],
      distributionAddress: orderBody(echeck, []).distributionAddress,
      pickupAddress: undefined,
      neededBy: undefined,
      ...over,
    });
    const redirected = await send(
      gateway,
      p['SELLER-A']!,
      'DistributionInstruction',
      instruction({
        distributionAddress: {
          name: 'Elsewhere',
          line1: 'Somewhere 1',
          city: 'Hamburg',
          postalCode: '20457',
          country: 'DE',
        },
      }),
    );
    expect(redirected.errors[0]).toMatchObject({ code: 'ADDRESS_MISMATCH' });
    const fewer = await send(
      gateway,
      p['SELLER-A']!,
      'DistributionInstruction',
      instruction({ commodities: [{ itemId: item, name: 'x', quantity: 1 }] }),
    );
    expect(fewer.errors[0]).toMatchObject({ code: 'COMMODITIES_MISMATCH' });
    expect(
      (await send(gateway, p['SELLER-A']!, 'DistributionInstruction', instruction({}))).status,
    ).toBe(200);
    expect(
      (await send(gateway, p['SELLER-A']!, 'DistributionInstruction', instruction({}))).errors[0],
    ).toMatchObject({ code: 'ORDER_STATE' });

    const schedule = {
      orderId,
      deliveryDate: '2036-04-17',
      windowStart: '2036-04-17T10:00:00Z',
      windowEnd: '2036-04-17T14:00:00Z',
    };
    expect((await send(gateway, p['CARRIER-B']!, 'DeliverySchedule', schedule)).status).toBe(404);
    expect(
      (
        await send(gateway, p['CARRIER-A']!, 'DeliverySchedule', {
          ...schedule,
          windowEnd: '2036-04-17T09:00:00Z',
        })
      ).errors[0],
    ).toMatchObject({ path: '/body/windowEnd' });
    expect((await send(gateway, p['CARRIER-A']!, 'DeliverySchedule', schedule)).status).toBe(200);
    expect(
      (
        await send(gateway, p['CARRIER-A']!, 'DeliverySchedule', {
          ...schedule,
          deliveryDate: '2036-04-18',
        })
      ).status,
    ).toBe(200);
    expect(
      (
        await send(gateway, p['CARRIER-A']!, 'DeliveryComplete', {
          orderId,
          deliveredAt: '2036-04-18T11:00:00Z',
        })
      ).status,
    ).toBe(200);
    const late = await send(gateway, p['CARRIER-A']!, 'DeliveryStatus', {
      orderId,
      status: 'delayed',
      at: '2036-04-18T12:00:00Z',
    });
    expect(late.errors[0]).toMatchObject({ code: 'ORDER_DELIVERED' });
  });
});

describe('void and expiry release the hold', () => {
  it('voids an unpaid check through the admin API, and refuses to void a paid one', async () => {
    const heldBefore = (await accountOf(gateway, 'BUYER-A'))?.held;
    const echeck = await issue(1);
    const voided = await adminJson(gateway, 'POST', `/admin/v1/checks/${echeck.checkNumber}/void`);
    expect(voided.check).toMatchObject({ status: 'voided', orderId: null });
    expect((await accountOf(gateway, 'BUYER-A'))?.held).toEqual(heldBefore);
    const refused = await send(
      gateway,
      p['BUYER-A']!,
      'CommodityOrder',
      orderBody(echeck, lines(1)),
    );
    expect(refused.errors[0]).toMatchObject({ code: 'CHECK_VOID' });

    const { echeck: paid, orderId } = await orderedAndNoticed();
    await send(gateway, p['SELLER-A']!, 'PaymentDemand', demand(paid, orderId));
    expect((await gateway.admin('POST', `/admin/v1/checks/${paid.checkNumber}/void`)).status).toBe(
      409,
    );
    expect((await gateway.admin('GET', '/admin/v1/checks/CHK-NONE')).status).toBe(404);
  });

  it('expires unpresented checks past expiry once, by the job, releasing their holds', async () => {
    const due = await issue(1);
    const presented = await issue(1);
    await send(gateway, p['BUYER-A']!, 'CommodityOrder', orderBody(presented, lines(1)));
    await sql`update checks set issued_at = now() - interval '2 hours', expires_at = now() - interval '1 hour' where check_number in (${due.checkNumber}, ${presented.checkNumber})`.execute(
      db(),
    );
    const job = expireChecksJob(db());
    expect(job.name).toBe('expire-checks');
    const counts = await job.run({
      slot: new Date(),
      signal: new AbortController().signal,
      abort: new AbortController().signal,
      nextWake: () => Promise.resolve(),
      wakeIn: () => undefined,
    });
    expect(counts.expired).toBeGreaterThanOrEqual(1);
    expect(await expireDueChecks(db())).toBe(0);
    expect(await checkStatus(due.checkNumber as string)).toBe('expired');
    expect(await checkStatus(presented.checkNumber as string)).toBe('presented'); // presented checks stay payable
    const holds = await db()
      .selectFrom('holds')
      .select(['reference', 'status'])
      .where('reference', 'in', [due.checkNumber as string, presented.checkNumber as string])
      .orderBy('status')
      .execute();
    expect(holds).toEqual([
      { reference: presented.checkNumber, status: 'held' },
      { reference: due.checkNumber, status: 'released' },
    ]);
    await expectLedgerInvariants(db());
  });
});

describe('release policy on-delivery (escrow)', () => {
  let escrow: TestGateway;
  let q: Record<string, RegisteredPartner> = {};
  let escrowItem: string;
  beforeAll(async () => {
    escrow = await startTestGateway({
      PAYMENT_RELEASE: 'on-delivery',
      COMMISSION_RATE_PERCENT: '10',
    });
    q = await registerParties(escrow, [
      ['BUYER-E', ['buyer']],
      ['SELLER-E', ['seller']],
      ['CARRIER-E', ['carrier']],
    ]);
    escrowItem = await listItem(escrow, q['SELLER-E']!, '1000');
    await fund(escrow, 'BUYER-E', '10000');
  });
  afterAll(async () => {
    await escrow.close();
  });

  async function toDemand(deliverFirst: boolean) {
    const requested = await send(escrow, q['BUYER-E']!, 'ECheckRequest', {
      seller: 'SELLER-E',
      carrier: 'CARRIER-E',
      amount: { amount: '1000', currency: 'JPY' },
      lines: [{ itemId: escrowItem, quantity: 1 }],
    });
    const echeck = (
      await queuedOne(escrow, 'BUYER-E', 'ECheck', { checkNumber: requested.ids.checkNumber! })
    ).body;
    const orderLines = [
      { itemId: escrowItem, quantity: 1, unitPrice: { amount: '1000', currency: 'JPY' } },
    ];
    const orderId = (
      await send(escrow, q['BUYER-E']!, 'CommodityOrder', orderBody(echeck, orderLines))
    ).ids.orderId!;
    await send(escrow, q['SELLER-E']!, 'DistributionNotice', {
      orderId,
      carrier: 'CARRIER-E',
      expectedShipDate: '2036-04-16',
    });
    await send(escrow, q['SELLER-E']!, 'DistributionInstruction', {
      orderId,
      commodities: [{ itemId: escrowItem, name: 'x', quantity: 1 }],
      distributionAddress: orderBody(echeck, []).distributionAddress,
    });
    const complete = () =>
      send(escrow, q['CARRIER-E']!, 'DeliveryComplete', {
        orderId,
        deliveredAt: '2036-04-17T11:32:00Z',
      });
    if (deliverFirst) expect((await complete()).status).toBe(200);
    const demanded = await send(escrow, q['SELLER-E']!, 'PaymentDemand', {
      checkNumber: echeck.checkNumber,
      echeck: echeck.echeck,
      sellingOffice: 'SELLER-E',
      orderId,
      amount: echeck.amount,
    });
    expect(demanded.status).toBe(200);
    return { checkNumber: echeck.checkNumber as string, complete };
  }

  it('accepts the demand, holds the funds, and pays at DeliveryComplete', async () => {
    const { checkNumber, complete } = await toDemand(false);
    expect(
      (await queuedOne(escrow, 'SELLER-E', 'PaymentAdvice', { checkNumber })).body.status,
    ).toBe('escrowed');
    expect((await accountOf(escrow, 'BUYER-E'))?.held.amount).toBe('1000');
    expect((await adminJson(escrow, 'GET', `/admin/v1/checks/${checkNumber}`)).check.status).toBe(
      'demanded',
    );
    expect((await complete()).status).toBe(200);
    const advices = (await queuedFor(escrow.database.db, 'BUYER-E', 'PaymentAdvice')).filter(
      (d) => d.body.checkNumber === checkNumber,
    );
    expect(advices.map((d) => d.body.status)).toEqual(['escrowed', 'paid']);
    expect(advices[1]?.body.commission).toEqual({ amount: '100', currency: 'JPY' });
    expect(await accountOf(escrow, 'BUYER-E')).toMatchObject({
      held: { amount: '0' },
      balance: { amount: '9000' },
    });
    expect((await accountOf(escrow, 'SELLER-E'))?.balance.amount).toBe('900');
  });

  it('pays at once when the goods were delivered before the demand', async () => {
    const { checkNumber } = await toDemand(true);
    expect(
      (await queuedOne(escrow, 'SELLER-E', 'PaymentAdvice', { checkNumber })).body.status,
    ).toBe('paid');
  });
});
