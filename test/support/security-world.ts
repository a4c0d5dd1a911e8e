/**
 * Two sides of every role for authorisation tests: side B owns one object of every kind a
 * partner can reach — items and offers, reservations and a bid, an awarded and a confirmed deal,
 * open settlement and transport tenders, an issued check and an order paid by another, mailbox
 * documents and receipts — and side A holds the same roles and owns nothing of B's. A's
 * settlement organ and carrier are registered after B's tenders opened, so they were not invited.
 */
import { sql, type Kysely } from 'kysely';
import { judgeDueReservations } from '../../gateway/core/trading/trading.service.ts';
import type { Database } from '../../gateway/db/tables.ts';
import { exampleDocument, postDocument, receiptOf } from './documents.ts';
import { fund, orderBody, queuedOne } from './echeck.ts';
import { registerPartner, type RegisteredPartner, type TestGateway } from './gateway.ts';

export const ROLES = ['seller', 'buyer', 'settlement', 'carrier'] as const;
export type Role = (typeof ROLES)[number];
export type Side = Record<Role, RegisteredPartner>;

const PREFIX: Record<Role, string> = {
  seller: 'SELLER',
  buyer: 'BUYER',
  settlement: 'SETTLE',
  carrier: 'CARRIER',
};

export interface SentDocument {
  status: number;
  messageId: string;
  receipt: Record<string, any>;
  ids: Record<string, string>;
}

/** The example of `type` from `partner`, body fields replaced; its receipt, read. */
export async function sendAs(
  gateway: TestGateway,
  partner: RegisteredPartner,
  type: string,
  body: Record<string, unknown>,
): Promise<SentDocument> {
  const doc = exampleDocument(type, partner.id, body);
  const response = await postDocument(gateway.app, partner.apiKey, doc);
  const receipt = await receiptOf(response);
  const ids = Object.fromEntries(
    (receipt.assigned as { name: string; value: string }[]).map((a) => [a.name, a.value]),
  );
  return { status: response.status, messageId: doc.header.messageId!, receipt, ids };
}

async function accepted(
  gateway: TestGateway,
  partner: RegisteredPartner,
  type: string,
  body: Record<string, unknown>,
  sent: string[],
): Promise<SentDocument> {
  const result = await sendAs(gateway, partner, type, body);
  if (result.status !== 200) {
    throw new Error(
      `${type} from ${partner.id}: ${result.status} ${JSON.stringify(result.receipt)}`,
    );
  }
  sent.push(result.messageId);
  return result;
}

export interface SecurityWorld {
  a: Side;
  b: Side;
  /** An item only SELLER-B carries (list price 1000 JPY). */
  itemB: string;
  /** An item both sellers carry. */
  itemShared: string;
  /** Open reservation of BUYER-B on itemB: SELLER-A cannot see it. */
  reservationB: string;
  /** Open reservation of BUYER-B on itemShared, with SELLER-B's bid only. */
  reservationShared: string;
  /** Open reservation of BUYER-B on itemShared that nobody has bid on. */
  reservationSharedUnbid: string;
  bidB: string;
  /** BUYER-B ⇄ SELLER-B, awarded, neither side has confirmed. */
  dealAwarded: string;
  /** BUYER-B ⇄ SELLER-B, confirmed: its tenders are open to SETTLE-B and CARRIER-B only. */
  dealConfirmed: string;
  settlementTender: string;
  transportTender: string;
  /** An ECheck body issued to BUYER-B, not yet presented. */
  checkIssued: Record<string, any>;
  /** The ECheck body that pays for `orderId`. */
  checkOrdered: Record<string, any>;
  /** BUYER-B's order from SELLER-B, carried by CARRIER-B, status 'ordered'. */
  orderId: string;
  /** Every messageId a B partner sent and had accepted. */
  sentByB: string[];
}

/** Registers both sides and builds B's objects over the document API, as partners would. */
export async function buildSecurityWorld(gateway: TestGateway): Promise<SecurityWorld> {
  const register = (role: Role, side: 'A' | 'B') =>
    registerPartner(gateway, { id: `${PREFIX[role]}-${side}`, roles: [role] });
  const b = {} as Side;
  for (const role of ROLES) b[role] = await register(role, 'B');
  const a = { seller: await register('seller', 'A'), buyer: await register('buyer', 'A') } as Side;
  const sent: string[] = [];

  const notice = (seller: RegisteredPartner, over: Record<string, unknown> = {}) =>
    accepted(
      gateway,
      seller,
      'ItemNotice',
      {
        sellerItemId: `SKU-${Math.random().toString(36).slice(2, 10)}`,
        gtin: undefined,
        releaseDate: '2036-12-01',
        listPrice: { amount: '1000', currency: 'JPY' },
        ...over,
      },
      seller === b.seller ? sent : [],
    );
  const itemB = (await notice(b.seller)).ids.itemId!;
  const itemShared = (await notice(b.seller)).ids.itemId!;
  await notice(a.seller, { itemId: itemShared });

  const reserve = async (itemId: string) =>
    (
      await accepted(
        gateway,
        b.buyer,
        'PurchaseReservation',
        {
          itemId,
          quantity: 2,
          maxUnitPrice: { amount: '1000', currency: 'JPY' },
          neededBy: '2036-06-30',
          biddingDeadline: new Date(Date.now() + 3_600_000).toISOString(),
        },
        sent,
      )
    ).ids.reservationId!;
  const bid = async (reservationId: string) =>
    (
      await accepted(
        gateway,
        b.seller,
        'OrderBid',
        {
          reservationId,
          action: 'submit',
          unitPrice: { amount: '900', currency: 'JPY' },
          quantity: 2,
          promisedDeliveryDate: '2036-06-01',
          note: undefined,
        },
        sent,
      )
    ).ids.bidId!;
  const reservationB = await reserve(itemB);
  const reservationShared = await reserve(itemShared);
  const reservationSharedUnbid = await reserve(itemShared);
  const bidB = await bid(reservationShared);
  const toAward = [await reserve(itemB), await reserve(itemB)];
  for (const id of toAward) await bid(id);

  const db = gateway.database.db;
  await sql`update reservations set bidding_deadline = now() - interval '1 second'
            where id in (${sql.join(toAward)})`.execute(db);
  await judgeDueReservations({
    db,
    enqueue: gateway.services.pipeline.enqueue,
    settings: { commissionRatePercent: '2.5', confirmWindowS: 3600, tenderWindowS: 3600 },
  });
  const dealOf = async (reservationId: string) =>
    (
      await db
        .selectFrom('deals')
        .select('id')
        .where('reservation_id', '=', reservationId)
        .executeTakeFirstOrThrow()
    ).id;
  const dealAwarded = await dealOf(toAward[0]!);
  const dealConfirmed = await dealOf(toAward[1]!);
  const confirm = { dealId: dealConfirmed, decision: 'accept' };
  await accepted(gateway, b.buyer, 'PurchaseConfirmation', confirm, sent);
  await accepted(gateway, b.seller, 'OrderConfirmation', confirm, sent);
  const tenderOf = async (kind: 'settlement' | 'transport') =>
    (
      await db
        .selectFrom('tenders')
        .select('id')
        .where('deal_id', '=', dealConfirmed)
        .where('kind', '=', kind)
        .executeTakeFirstOrThrow()
    ).id;
  a.settlement = await register('settlement', 'A');
  a.carrier = await register('carrier', 'A');

  await fund(gateway, b.buyer.id, '100000');
  const issue = async () => {
    const request = await accepted(
      gateway,
      b.buyer,
      'ECheckRequest',
      {
        seller: b.seller.id,
        carrier: b.carrier.id,
        amount: { amount: '1000', currency: 'JPY' },
        lines: [{ itemId: itemB, quantity: 1 }],
        dealId: undefined,
        requestReference: undefined,
      },
      sent,
    );
    return (
      await queuedOne(gateway, b.buyer.id, 'ECheck', { checkNumber: request.ids.checkNumber! })
    ).body;
  };
  const checkIssued = await issue();
  const checkOrdered = await issue();
  const order = await accepted(
    gateway,
    b.buyer,
    'CommodityOrder',
    orderBody(checkOrdered, orderLines(itemB)),
    sent,
  );

  return {
    a,
    b,
    itemB,
    itemShared,
    reservationB,
    reservationShared,
    reservationSharedUnbid,
    bidB,
    dealAwarded,
    dealConfirmed,
    settlementTender: await tenderOf('settlement'),
    transportTender: await tenderOf('transport'),
    checkIssued,
    checkOrdered,
    orderId: order.ids.orderId!,
    sentByB: sent,
  };
}

/** The one line of a check issued for one of `itemId` at 1000 JPY. */
export function orderLines(itemId: string) {
  return [{ itemId, quantity: 1, unitPrice: { amount: '1000', currency: 'JPY' } }];
}

/** Tables that hold what partners own and what is queued for them (everything but the log). */
const STATE_TABLES = [
  'partners',
  'partner_api_keys',
  'items',
  'offers',
  'reservations',
  'bids',
  'deals',
  'tenders',
  'tender_invitations',
  'tender_terms',
  'accounts',
  'ledger_transfers',
  'ledger_entries',
  'holds',
  'checks',
  'commodity_orders',
  'inbound_messages',
  'outbox',
] as const satisfies readonly (keyof Database)[];

/** Every row of the state tables, as JSON, in a stable order: equal means nothing changed. */
export async function stateSnapshot(db: Kysely<Database>): Promise<Record<string, unknown>> {
  const snapshot: Record<string, unknown> = {};
  for (const table of STATE_TABLES) {
    const result = await sql<{ rows: unknown }>`
      select coalesce(jsonb_agg(to_jsonb(t) order by to_jsonb(t)::text), '[]'::jsonb) as rows
      from ${sql.table(table)} t`.execute(db);
    snapshot[table] = result.rows[0]?.rows;
  }
  return snapshot;
}

/** An id of the same shape as `id` that no object has: its last character changed. */
export function neighbourId(id: string): string {
  const last = id.at(-1);
  return `${id.slice(0, -1)}${last === '0' ? '1' : '0'}`;
}

/** An id as a partner counting upwards would guess it: the prefix, then a small number. */
export function sequentialId(id: string): string {
  return `${id.slice(0, id.indexOf('-'))}-000001`;
}
