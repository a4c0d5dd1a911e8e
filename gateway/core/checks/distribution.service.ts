/**
 * After the order (seed 004 cl.1, 4, 9, 11, 12, 23): the seller tells the buyer the goods will
 * be distributed and instructs the carrier named on the check; the carrier determines the
 * delivery date and time, reports the distribution's situation and its completion; the buyer
 * sends its payment information. The gateway checks that each document comes from the order's
 * party in that role and fits the order's state, records it, and forwards it re-addressed (the
 * gateway is the sender of every outbound document; the body is the partner's, unchanged).
 * DeliveryComplete reaches the gateway as check manager too (cl.23): it releases an escrowed
 * payment.
 */
import type {
  Address,
  DeliveryCompleteBody,
  DeliveryScheduleBody,
  DeliveryStatusBody,
  DistributionInstructionBody,
  DistributionNoticeBody,
  PaymentNoticeBody,
} from '../../../schemas/documents.generated.ts';
import { GatewayError } from '../errors.ts';
import { parseMoney } from '../money.ts';
import type { DocumentHandler, HandlerContext, HandlerResult } from '../pipeline/handlers.ts';
import {
  findCheck,
  findOrder,
  moveCheck,
  moveOrder,
  noteOnOrder,
  type OrderRow,
} from './checks.repository.ts';
import { refuse, sameAddress, sameLines, sameMoney } from './checks.ts';
import { checkRefs, performPayment } from './payment.service.ts';

type Party = 'buyer' | 'seller' | 'carrier';

/**
 * The order, locked, if the sender is its party in `party`; another partner's order is not
 * found. An order whose check was voided is closed to everything.
 */
async function orderOf(
  ctx: HandlerContext,
  orderId: string,
  party: Party,
): Promise<{ order: OrderRow; refs: Record<string, string> }> {
  const order = await findOrder(ctx.trx, { id: orderId }, { lock: true });
  const partyId = order?.[`${party}_id`];
  if (order === undefined || partyId !== ctx.sender.id) {
    refuse('/body/orderId', 'NOT_FOUND', `no order ${orderId} of yours`);
  }
  const check = await findCheck(ctx.trx, order.check_number);
  if (check?.status === 'voided') {
    refuse('/body/orderId', 'CHECK_VOID', `the check of order ${orderId} was voided`);
  }
  return {
    order,
    refs: checkRefs({ check_number: order.check_number, deal_id: order.deal_id }, order.id),
  };
}

function notDelivered(order: OrderRow): void {
  if (order.status === 'delivered') {
    refuse('/body/orderId', 'ORDER_DELIVERED', `order ${order.id} has been delivered`);
  }
}

async function forward(
  ctx: HandlerContext,
  recipients: readonly string[],
  refs: Record<string, string>,
): Promise<HandlerResult> {
  for (const recipientId of recipients) {
    await ctx.send({
      recipientId,
      type: ctx.document.header.type,
      body: { ...ctx.document.body },
      refs,
    });
  }
  return { assigned: { orderId: refs.orderId ?? '' }, refs };
}

/** Seller → buyer: the ordered goods will be distributed, by the check's carrier (cl.1). */
const handleDistributionNotice: DocumentHandler = async (ctx) => {
  const body = ctx.document.body as unknown as DistributionNoticeBody;
  const { order, refs } = await orderOf(ctx, body.orderId, 'seller');
  notDelivered(order);
  if (body.carrier !== order.carrier_id) {
    refuse(
      '/body/carrier',
      'CARRIER_MISMATCH',
      `the order's check names carrier ${order.carrier_id}`,
    );
  }
  await noteOnOrder(ctx.trx, order.id, {
    kind: 'distribution',
    expectedShipDate: body.expectedShipDate,
  });
  return forward(ctx, [order.buyer_id], refs);
};

/**
 * Seller → the check's carrier: distribute these commodities to this address (cl.9, 11). The
 * commodities are the order's and the address is the buyer's: a seller cannot redirect goods.
 */
const handleDistributionInstruction: DocumentHandler = async (ctx) => {
  const body = ctx.document.body as unknown as DistributionInstructionBody;
  const { order, refs } = await orderOf(ctx, body.orderId, 'seller');
  const ordered = order.lines.map((l) => ({ itemId: l.itemId, quantity: l.quantity }));
  const instructed = body.commodities.map((c) => ({ itemId: c.itemId, quantity: c.quantity }));
  if (!sameLines(ordered, instructed)) {
    refuse(
      '/body/commodities',
      'COMMODITIES_MISMATCH',
      `the commodities are not those of order ${order.id}`,
    );
  }
  if (!sameAddress(order.distribution_address as unknown as Address, body.distributionAddress)) {
    refuse(
      '/body/distributionAddress',
      'ADDRESS_MISMATCH',
      `the distribution address is not the one order ${order.id} gives`,
    );
  }
  if (
    !(await moveOrder(ctx.trx, order.id, ['ordered'], 'instructed', { instructed_at: new Date() }))
  ) {
    refuse('/body/orderId', 'ORDER_STATE', `order ${order.id} is already ${order.status}`);
  }
  return forward(ctx, [order.carrier_id], refs);
};

/** Carrier → seller and buyer: the delivery date and time it determined (cl.11). */
const handleDeliverySchedule: DocumentHandler = async (ctx) => {
  const body = ctx.document.body as unknown as DeliveryScheduleBody;
  const { order, refs } = await orderOf(ctx, body.orderId, 'carrier');
  if (Date.parse(body.windowEnd) <= Date.parse(body.windowStart)) {
    refuse('/body/windowEnd', 'BUSINESS_RULE', 'the window must end after it starts');
  }
  const scheduled = await moveOrder(ctx.trx, order.id, ['instructed', 'scheduled'], 'scheduled', {
    delivery_date: body.deliveryDate,
    window_start: new Date(body.windowStart),
    window_end: new Date(body.windowEnd),
  });
  if (!scheduled) {
    refuse(
      '/body/orderId',
      'ORDER_STATE',
      `order ${order.id} is ${order.status}: not awaiting delivery`,
    );
  }
  return forward(ctx, [order.seller_id, order.buyer_id], refs);
};

/** Buyer → seller: payment information, once told the goods will be distributed (cl.4). */
const handlePaymentNotice: DocumentHandler = async (ctx) => {
  const body = ctx.document.body as unknown as PaymentNoticeBody;
  const { order, refs } = await orderOf(ctx, body.orderId, 'buyer');
  if (body.checkNumber !== order.check_number) {
    refuse(
      '/body/checkNumber',
      'CHECK_MISMATCH',
      `order ${order.id} is paid by check ${order.check_number}`,
    );
  }
  const total = { minor: order.total_minor, currency: order.currency };
  if (!sameMoney(parseMoney(body.amount, '/body/amount'), total)) {
    refuse('/body/amount', 'AMOUNT_MISMATCH', `the amount is not the total of order ${order.id}`);
  }
  if (order.distribution_noticed_at === null) {
    refuse(
      '/body/orderId',
      'DISTRIBUTION_NOT_NOTIFIED',
      `the seller has not yet said order ${order.id} will be distributed`,
    );
  }
  await noteOnOrder(ctx.trx, order.id, { kind: 'payment' });
  return forward(ctx, [order.seller_id], refs);
};

/** Carrier → seller: the situation of the distribution it determined (cl.12). */
const handleDeliveryStatus: DocumentHandler = async (ctx) => {
  const body = ctx.document.body as unknown as DeliveryStatusBody;
  const { order, refs } = await orderOf(ctx, body.orderId, 'carrier');
  if (order.status === 'ordered') {
    refuse('/body/orderId', 'ORDER_STATE', `order ${order.id} has not been given to a carrier yet`);
  }
  notDelivered(order);
  await noteOnOrder(ctx.trx, order.id, { kind: 'status', status: body.status, at: body.at });
  return forward(ctx, [order.seller_id], refs);
};

/**
 * Carrier → seller (cl.12) and the gateway as check manager (cl.23): the distribution is
 * complete. The order row is locked (orderOf) before the check is looked at, as PaymentDemand
 * does, so an escrowed demand and the completion cannot miss each other: whichever comes second
 * sees the first and the payment is released exactly once.
 */
const handleDeliveryComplete: DocumentHandler = async (ctx) => {
  const body = ctx.document.body as unknown as DeliveryCompleteBody;
  const { order, refs } = await orderOf(ctx, body.orderId, 'carrier');
  const delivered = await moveOrder(ctx.trx, order.id, ['instructed', 'scheduled'], 'delivered', {
    delivered_at: new Date(body.deliveredAt),
    received_by: body.receivedBy ?? null,
  });
  if (!delivered) {
    refuse(
      '/body/orderId',
      'ORDER_STATE',
      `order ${order.id} is ${order.status}: not out for delivery`,
    );
  }
  const result = await forward(ctx, [order.seller_id], refs);
  if (await moveCheck(ctx.trx, order.check_number, ['demanded'], 'paid')) {
    const check = await findCheck(ctx.trx, order.check_number);
    if (check === undefined) throw new GatewayError('INTERNAL', 'a paid check vanished');
    await performPayment(ctx, check, order.id);
  }
  return result;
};

export const distributionHandlers = {
  DistributionNotice: handleDistributionNotice,
  DistributionInstruction: handleDistributionInstruction,
  DeliverySchedule: handleDeliverySchedule,
  PaymentNotice: handlePaymentNotice,
  DeliveryStatus: handleDeliveryStatus,
  DeliveryComplete: handleDeliveryComplete,
} satisfies Record<string, DocumentHandler>;
