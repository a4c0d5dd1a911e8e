/**
 * The electronic payment of a check (seed 004 cl.5, 17) and the documents that announce it: the
 * ledger transfer, PaymentAdvice to seller and buyer, and SettlementInstruction to the deal's
 * settlement organ. A direct order has no settlement organ: its payment is settled in the
 * gateway's ledger alone and no instruction is sent.
 */
import { capture } from '../ledger/ledger.service.ts';
import { formatMoney } from '../money.ts';
import type { HandlerContext } from '../pipeline/handlers.ts';
import { databaseNow, settlementDays, type CheckRow } from './checks.repository.ts';

type Outbound = Pick<HandlerContext, 'trx' | 'send'>;

const DAY_MS = 86_400_000;

/** The ids a check-flow document is logged under. */
export function checkRefs(
  check: Pick<CheckRow, 'check_number' | 'deal_id'>,
  orderId?: string,
): Record<string, string> {
  return {
    checkNumber: check.check_number,
    ...(orderId === undefined ? {} : { orderId }),
    ...(check.deal_id === null ? {} : { dealId: check.deal_id }),
  };
}

function adviceBody(check: CheckRow, orderId: string, status: 'paid' | 'escrowed', at: Date) {
  return {
    checkNumber: check.check_number,
    orderId,
    amount: formatMoney({ minor: check.amount_minor, currency: check.currency }),
    payer: check.buyer_id,
    payee: check.seller_id,
    commission: formatMoney({ minor: check.commission_minor, currency: check.currency }),
    status,
    at: at.toISOString(),
  };
}

async function advise(
  ctx: Outbound,
  check: CheckRow,
  orderId: string,
  status: 'paid' | 'escrowed',
): Promise<Date> {
  const at = await databaseNow(ctx.trx);
  const body = adviceBody(check, orderId, status, at);
  for (const recipientId of [check.seller_id, check.buyer_id]) {
    await ctx.send({ recipientId, type: 'PaymentAdvice', body, refs: checkRefs(check, orderId) });
  }
  return at;
}

/** Release policy on-delivery: the demand is accepted, the funds stay held until delivery. */
export async function adviseEscrow(ctx: Outbound, check: CheckRow, orderId: string): Promise<void> {
  await advise(ctx, check, orderId, 'escrowed');
}

/** The caller has moved the check to 'paid' (compare-and-set) in this transaction. */
export async function performPayment(
  ctx: Outbound,
  check: CheckRow,
  orderId: string,
): Promise<void> {
  await capture(ctx.trx, {
    reference: check.check_number,
    payeeId: check.seller_id,
    commissionMinor: check.commission_minor,
  });
  const at = await advise(ctx, check, orderId, 'paid');
  if (check.settlement_organ_id === null) return;
  const days =
    check.deal_id === null
      ? 0
      : await settlementDays(ctx.trx, check.deal_id, check.settlement_organ_id);
  const advice = adviceBody(check, orderId, 'paid', at);
  await ctx.send({
    recipientId: check.settlement_organ_id,
    type: 'SettlementInstruction',
    body: {
      checkNumber: advice.checkNumber,
      orderId,
      ...(check.deal_id === null ? {} : { dealId: check.deal_id }),
      amount: advice.amount,
      payer: advice.payer,
      payee: advice.payee,
      commission: advice.commission,
      valueDate: new Date(at.getTime() + days * DAY_MS).toISOString().slice(0, 10),
    },
    refs: checkRefs(check, orderId),
  });
}
