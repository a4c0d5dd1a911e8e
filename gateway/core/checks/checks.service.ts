/**
 * The gateway as electronic check managing site (seed 004): it issues checks after judging the
 * buyer's credit against the account database (cl.1, 3, 10), validates a check before the seller
 * sees the order it pays for (cl.2), performs the payment once on the seller's demand (cl.5, 7),
 * and voids or expires unpaid checks, releasing their holds.
 */
import type { Kysely, Transaction } from 'kysely';
import type {
  CommodityOrderBody,
  ECheckRequestBody,
  PaymentDemandBody,
} from '../../../schemas/documents.generated.ts';
import type { Config } from '../../config.ts';
import type { Database } from '../../db/tables.ts';
import { GatewayError } from '../errors.ts';
import { newId } from '../ids.ts';
import { release, reserve } from '../ledger/ledger.service.ts';
import { formatMoney, parseMoney, percentOf, type Money } from '../money.ts';
import { findPartner } from '../partners/partners.repository.ts';
import type { PartnerRole } from '../partners/partners.ts';
import type { DocumentHandler, HandlerContext, HandlerResult } from '../pipeline/handlers.ts';
import type { Signer } from '../signing/signer.ts';
import { signCheck, verifyCheck, type CheckClaims } from './check-token.ts';
import {
  checkFacts,
  databaseNow,
  dueChecks,
  findCheck,
  findOrder,
  insertCheck,
  insertOrder,
  liveCheckOfDeal,
  lockDeal,
  moveCheck,
  offersOfSeller,
  type CheckRow,
} from './checks.repository.ts';
import {
  judgeDemand,
  judgeOrder,
  orderIdForCheck,
  refuse,
  refuseDocument,
  type CheckLine,
  type CheckRefusalReason,
} from './checks.ts';
import { distributionHandlers } from './distribution.service.ts';
import { adviseEscrow, checkRefs, performPayment } from './payment.service.ts';

export interface CheckDeps {
  signer: Signer;
  checkValidityS: number;
  paymentRelease: Config['paymentRelease'];
  commissionRatePercent: string;
}

type Trx = Transaction<Database>;

/** A judgement that ends in ECheckRefusal rather than an ECheck. */
interface Refusal {
  reason: CheckRefusalReason;
  message: string;
}

/** The charge a check is requested for, as the gateway computes it. */
interface Charge {
  amount: Money;
  lines: CheckLine[];
  dealId: string | null;
  commissionMinor: bigint;
  settlementOrganId: string | null;
}

function describe(money: Money): string {
  const wire = formatMoney(money);
  return `${wire.amount} ${wire.currency}`;
}

/** Registered and active in the role (seed 004 cl.3 for the selling office, cl.10 for the carrier). */
async function registered(
  trx: Trx,
  partnerId: string,
  role: PartnerRole,
): Promise<Refusal | undefined> {
  const reason = role === 'seller' ? 'UNREGISTERED_SELLER' : 'UNREGISTERED_CARRIER';
  const what = role === 'seller' ? 'selling office' : 'distributing company';
  const partner = await findPartner(trx, partnerId);
  if (partner === undefined || !partner.roles.includes(role)) {
    return { reason, message: `${partnerId} is not a registered ${what}` };
  }
  if (partner.status !== 'active') {
    return {
      reason,
      message: `${partnerId} is suspended: checks are issued to active partners only`,
    };
  }
  return undefined;
}

/** The awarded charge of a confirmed deal between this buyer and seller. */
async function dealCharge(
  trx: Trx,
  dealId: string,
  request: { buyerId: string; sellerId: string; carrierId: string; amount: Money },
): Promise<Charge | Refusal> {
  const deal = await lockDeal(trx, dealId);
  if (deal === undefined || deal.buyer_id !== request.buyerId) {
    return { reason: 'UNKNOWN_DEAL', message: `no deal ${dealId} of yours` };
  }
  if (deal.status !== 'confirmed') {
    return { reason: 'UNKNOWN_DEAL', message: `deal ${dealId} is ${deal.status}, not confirmed` };
  }
  if (deal.seller_id !== request.sellerId) {
    return { reason: 'UNKNOWN_DEAL', message: `deal ${dealId} is with seller ${deal.seller_id}` };
  }
  if (deal.carrier_id !== null && deal.carrier_id !== request.carrierId) {
    return { reason: 'UNKNOWN_DEAL', message: `deal ${dealId} is carried by ${deal.carrier_id}` };
  }
  const total = { minor: deal.total_minor, currency: deal.currency };
  if (total.currency !== request.amount.currency) {
    return { reason: 'CURRENCY_MISMATCH', message: `deal ${dealId} is in ${total.currency}` };
  }
  if (total.minor !== request.amount.minor) {
    return {
      reason: 'AMOUNT_MISMATCH',
      message: `the charge of deal ${dealId} is ${describe(total)}, not ${describe(request.amount)}`,
    };
  }
  const live = await liveCheckOfDeal(trx, dealId);
  if (live !== undefined) {
    refuse(
      '/body/dealId',
      'DEAL_ALREADY_CHECKED',
      `deal ${dealId} already has check ${live.check_number} (${live.status}); another can be issued once it is void or expired`,
    );
  }
  return {
    amount: total,
    lines: [
      { itemId: deal.item_id, quantity: deal.quantity, unitPriceMinor: deal.unit_price_minor },
    ],
    dealId,
    commissionMinor: deal.commission_minor,
    settlementOrganId: deal.settlement_organ_id,
  };
}

/** A direct order: the seller's list prices × quantities. */
async function listPriceCharge(
  trx: Trx,
  lines: readonly { itemId: string; quantity: number }[],
  request: { sellerId: string; amount: Money; commissionRatePercent: string },
): Promise<Charge | Refusal> {
  const ids = lines.map((l) => l.itemId);
  const twice = ids.findIndex((id, i) => ids.indexOf(id) !== i);
  if (twice >= 0) {
    refuse(`/body/lines/${twice}/itemId`, 'DUPLICATE_LINE', 'each item once');
  }
  const offers = await offersOfSeller(trx, request.sellerId, ids);
  const priced: CheckLine[] = [];
  for (const [i, line] of lines.entries()) {
    const offer = offers.find((o) => o.item_id === line.itemId);
    if (offer === undefined) {
      refuse(
        `/body/lines/${i}/itemId`,
        'NOT_FOUND',
        `${request.sellerId} offers no item ${line.itemId}`,
      );
    }
    if (offer.currency !== request.amount.currency) {
      return {
        reason: 'CURRENCY_MISMATCH',
        message: `item ${line.itemId} is listed in ${offer.currency}, not ${request.amount.currency}`,
      };
    }
    priced.push({ ...line, unitPriceMinor: offer.list_price_minor });
  }
  const total = {
    minor: priced.reduce((sum, l) => sum + l.unitPriceMinor * BigInt(l.quantity), 0n),
    currency: request.amount.currency,
  };
  if (total.minor !== request.amount.minor) {
    return {
      reason: 'AMOUNT_MISMATCH',
      message: `the list price of the lines is ${describe(total)}, not ${describe(request.amount)}`,
    };
  }
  return {
    amount: total,
    lines: priced,
    dealId: null,
    commissionMinor: percentOf(total.minor, request.commissionRatePercent),
    settlementOrganId: null,
  };
}

/** ECheckRequest → ECheck or ECheckRefusal to the buyer (seed 004 cl.1, 3, 6, 10). */
async function handleECheckRequest(deps: CheckDeps, ctx: HandlerContext): Promise<HandlerResult> {
  const { trx, sender, document } = ctx;
  const body = document.body as unknown as ECheckRequestBody;
  const amount = parseMoney(body.amount, '/body/amount');
  if (amount.minor <= 0n) {
    refuse('/body/amount/amount', 'BUSINESS_RULE', 'must be more than 0');
  }
  if ((body.dealId === undefined) === (body.lines === undefined)) {
    refuse(
      '/body',
      'BUSINESS_RULE',
      'name either dealId (an awarded deal) or lines (a direct order at list price)',
    );
  }
  const refuseCheck = async (refusal: Refusal): Promise<HandlerResult> => {
    await ctx.send({
      recipientId: sender.id,
      type: 'ECheckRefusal',
      body: { requestMessageId: document.header.messageId, ...refusal },
    });
    return {};
  };

  const unregistered =
    (await registered(trx, body.seller, 'seller')) ??
    (await registered(trx, body.carrier, 'carrier'));
  if (unregistered !== undefined) return refuseCheck(unregistered);

  const charge =
    body.dealId !== undefined
      ? await dealCharge(trx, body.dealId, {
          buyerId: sender.id,
          sellerId: body.seller,
          carrierId: body.carrier,
          amount,
        })
      : await listPriceCharge(trx, body.lines ?? [], {
          sellerId: body.seller,
          amount,
          commissionRatePercent: deps.commissionRatePercent,
        });
  if ('reason' in charge) return refuseCheck(charge);

  // The credit judgement (cl.1): the hold is placed, or the check is refused, in this transaction.
  const checkNumber = newId('CHK');
  const reserved = await reserve(trx, {
    partnerId: sender.id,
    money: amount,
    reference: checkNumber,
  });
  if (!reserved.ok) {
    const messages: Record<typeof reserved.reason, string> = {
      NO_ACCOUNT: `${sender.id} has no account in ${amount.currency}`,
      SUSPENDED_ACCOUNT: `the account of ${sender.id} in ${amount.currency} is suspended`,
      INSUFFICIENT_CREDIT: `available credit ${describe({ minor: reserved.availableMinor ?? 0n, currency: amount.currency })} is less than the requested ${describe(amount)}`,
    };
    return refuseCheck({ reason: reserved.reason, message: messages[reserved.reason] });
  }

  const issuedAt = await databaseNow(trx);
  const expiresAt = new Date(issuedAt.getTime() + deps.checkValidityS * 1000);
  const wireAmount = formatMoney(amount);
  const claims: CheckClaims = {
    iss: ctx.gatewayId,
    checkNumber,
    amount: wireAmount,
    buyer: sender.id,
    seller: body.seller,
    carrier: body.carrier,
    ...(charge.dealId === null ? {} : { dealId: charge.dealId }),
    iat: issuedAt.getTime() / 1000,
    exp: expiresAt.getTime() / 1000,
  };
  const jws = signCheck(deps.signer, claims);
  await insertCheck(trx, {
    checkNumber,
    buyerId: sender.id,
    sellerId: body.seller,
    carrierId: body.carrier,
    dealId: charge.dealId,
    settlementOrganId: charge.settlementOrganId,
    amountMinor: amount.minor,
    currency: amount.currency,
    commissionMinor: charge.commissionMinor,
    lines: charge.lines,
    requestMessageId: document.header.messageId,
    jws,
    issuedAt,
    expiresAt,
  });
  const refs = {
    checkNumber,
    ...(charge.dealId === null ? {} : { dealId: charge.dealId }),
  };
  await ctx.send({
    recipientId: sender.id,
    type: 'ECheck',
    body: {
      checkNumber,
      echeck: jws,
      amount: wireAmount,
      buyer: sender.id,
      seller: body.seller,
      carrier: body.carrier,
      ...(charge.dealId === null ? {} : { dealId: charge.dealId }),
      issuedAt: issuedAt.toISOString(),
      expiresAt: expiresAt.toISOString(),
    },
    refs,
  });
  return { assigned: { checkNumber }, refs };
}

/**
 * The presented token must verify with the gateway's keys, name the check it is presented as,
 * and be that check's token exactly. Returns the check, locked.
 */
async function presentedCheck(
  trx: Trx,
  presented: { checkNumber: string; echeck: string },
  visibleTo: (check: CheckRow) => boolean,
): Promise<CheckRow> {
  const claims = await verifyCheck(trx, presented.echeck);
  if (claims === undefined) {
    refuse(
      '/body/echeck',
      'CHECK_SIGNATURE_INVALID',
      "the e-check's signature does not verify with the gateway's published keys",
    );
  }
  if (claims.checkNumber !== presented.checkNumber) {
    refuse(
      '/body/checkNumber',
      'CHECK_MISMATCH',
      `the e-check is check ${claims.checkNumber}, not ${presented.checkNumber}`,
    );
  }
  const check = await findCheck(trx, presented.checkNumber, { lock: true });
  if (check === undefined || !visibleTo(check)) {
    refuse('/body/checkNumber', 'NOT_FOUND', `no check ${presented.checkNumber} of yours`);
  }
  if (check.jws !== presented.echeck) {
    refuse(
      '/body/echeck',
      'CHECK_MISMATCH',
      `the e-check is not the one issued as ${check.check_number}`,
    );
  }
  return check;
}

/**
 * CommodityOrder: the check is judged valid against the account database before the order goes
 * anywhere (seed 004 cl.2); a valid one is presented and the order, with its distribution address
 * (cl.8), forwarded to the seller. An invalid one is refused in the receipt: the seller never
 * sees the order.
 */
const handleCommodityOrder: DocumentHandler = async (ctx) => {
  const { trx, sender } = ctx;
  const body = ctx.document.body as unknown as CommodityOrderBody;
  if (body.orderId !== undefined) {
    refuse('/body/orderId', 'BUSINESS_RULE', 'the gateway assigns the order id: leave orderId out');
  }
  // The buyer presents its own check; any other is not found, as another partner's object.
  const check = await presentedCheck(trx, body, (c) => c.buyer_id === sender.id);
  const problems = judgeOrder(checkFacts(check), body);
  if (problems.length > 0) refuseDocument(problems);
  if (!(await moveCheck(trx, check.check_number, ['issued'], 'presented'))) {
    // The row is locked and was judged presentable: only the clock can have moved on.
    refuse('/body/checkNumber', 'CHECK_EXPIRED', 'the check has just expired');
  }
  const orderId = orderIdForCheck(check.check_number);
  await insertOrder(trx, {
    id: orderId,
    checkNumber: check.check_number,
    buyerId: check.buyer_id,
    sellerId: check.seller_id,
    carrierId: check.carrier_id,
    dealId: check.deal_id,
    totalMinor: check.amount_minor,
    currency: check.currency,
    lines: body.lines,
    distributionAddress: body.distributionAddress,
    orderReference: body.orderReference ?? null,
  });
  const refs = checkRefs(check, orderId);
  // The seller's copy carries the order id its DistributionNotice and PaymentDemand refer to.
  await ctx.send({
    recipientId: check.seller_id,
    type: 'CommodityOrder',
    body: { ...body, orderId },
    refs,
  });
  return { assigned: { orderId, checkNumber: check.check_number }, refs };
};

/**
 * PaymentDemand: the check and the selling office (seed 004 cl.5, 7). The payment is performed
 * exactly once: the order row is locked first (as DeliveryComplete does), then the check's
 * compare-and-set decides; a second demand finds the check paid and is refused.
 */
async function handlePaymentDemand(deps: CheckDeps, ctx: HandlerContext): Promise<HandlerResult> {
  const { trx, sender } = ctx;
  const body = ctx.document.body as unknown as PaymentDemandBody;
  const order = await findOrder(trx, { checkNumber: body.checkNumber }, { lock: true });
  // Any seller holding a valid token may ask; the payee rule below answers the others.
  const check = await presentedCheck(trx, body, () => true);
  const problems = judgeDemand(
    {
      check: checkFacts(check),
      orderId: order?.id ?? orderIdForCheck(check.check_number),
      distributionNoticed: order?.distribution_noticed_at != null,
    },
    {
      sender: sender.id,
      sellingOffice: body.sellingOffice,
      orderId: body.orderId,
      amount: body.amount,
    },
  );
  if (problems.length > 0) refuseDocument(problems);
  if (order === undefined) throw new GatewayError('INTERNAL', `presented check without an order`);
  const refs = checkRefs(check, order.id);
  const escrow = deps.paymentRelease === 'on-delivery' && order.status !== 'delivered';
  if (!(await moveCheck(trx, check.check_number, ['presented'], escrow ? 'demanded' : 'paid'))) {
    throw new GatewayError('INTERNAL', `check ${check.check_number} changed under its lock`);
  }
  if (escrow) await adviseEscrow(ctx, check, order.id);
  else await performPayment(ctx, check, order.id);
  return { assigned: { checkNumber: check.check_number, orderId: order.id }, refs };
}

/** An operator voids an unpaid check: its hold is released, an order it paid for is left unpaid. */
export async function voidCheck(db: Kysely<Database>, checkNumber: string): Promise<CheckRow> {
  return db.transaction().execute(async (trx) => {
    const check = await findCheck(trx, checkNumber, { lock: true });
    if (check === undefined) throw new GatewayError('NOT_FOUND', `no check ${checkNumber}`);
    if (!(await moveCheck(trx, checkNumber, ['issued', 'presented'], 'voided'))) {
      throw new GatewayError(
        'CONFLICT',
        `check ${checkNumber} is ${check.status}: only an issued or presented check can be voided`,
      );
    }
    await release(trx, checkNumber);
    const voided = await findCheck(trx, checkNumber);
    if (voided === undefined) throw new GatewayError('INTERNAL', 'a voided check vanished');
    return voided;
  });
}

export async function getCheck(db: Kysely<Database>, checkNumber: string): Promise<CheckRow> {
  const check = await findCheck(db, checkNumber);
  if (check === undefined) throw new GatewayError('NOT_FOUND', `no check ${checkNumber}`);
  return check;
}

/**
 * Expires the issued checks past their expiry and releases their holds: one transaction per
 * check, the compare-and-set (issued → expired, by the database clock) deciding, so two runs at
 * once — or an order presenting the check at that moment — act once.
 */
export async function expireDueChecks(
  db: Kysely<Database>,
  options: { batch?: number; signal?: AbortSignal } = {},
): Promise<number> {
  const batch = options.batch ?? 100;
  let expired = 0;
  for (;;) {
    const due = await dueChecks(db, batch);
    for (const checkNumber of due) {
      if (options.signal?.aborted === true) return expired;
      const done = await db.transaction().execute(async (trx) => {
        if (!(await moveCheck(trx, checkNumber, ['issued'], 'expired'))) return false;
        await release(trx, checkNumber);
        return true;
      });
      if (done) expired++;
    }
    if (due.length < batch) return expired;
  }
}

/** The handlers of the e-check order flow, for the pipeline's registry. */
export function createCheckHandlers(deps: CheckDeps): Readonly<Record<string, DocumentHandler>> {
  return {
    ECheckRequest: (ctx) => handleECheckRequest(deps, ctx),
    CommodityOrder: handleCommodityOrder,
    PaymentDemand: (ctx) => handlePaymentDemand(deps, ctx),
    ...distributionHandlers,
  };
}
