/**
 * Check and order queries. Every state change is one UPDATE whose WHERE clause names the states
 * it may leave (compare-and-set): of two concurrent attempts exactly one changes the row, and the
 * other learns so from the row count.
 */
import { sql, type Kysely, type Selectable, type Transaction } from 'kysely';
import type {
  ChecksTable,
  CommodityOrdersTable,
  Database,
  CheckStatus,
  CommodityOrderStatus,
} from '../../db/tables.ts';
import type { CheckFacts, CheckLine } from './checks.ts';

type Db = Kysely<Database> | Transaction<Database>;

export type CheckRow = Selectable<ChecksTable> & { expired: boolean };
export type OrderRow = Selectable<CommodityOrdersTable>;

/** The database clock, to the second: checks carry whole seconds (the token's iat and exp). */
export async function databaseNow(db: Db): Promise<Date> {
  const result = await sql<{ now: Date }>`select date_trunc('second', now()) as now`.execute(db);
  const now = result.rows[0]?.now;
  if (now === undefined) throw new Error('the database did not tell the time');
  return now;
}

export async function findCheck(
  db: Db,
  checkNumber: string,
  options: { lock?: boolean } = {},
): Promise<CheckRow | undefined> {
  const query = db
    .selectFrom('checks')
    .selectAll()
    .select(sql<boolean>`expires_at <= now()`.as('expired'))
    .where('check_number', '=', checkNumber);
  return (options.lock === true ? query.forUpdate() : query).executeTakeFirst();
}

export function checkFacts(row: CheckRow): CheckFacts {
  return {
    checkNumber: row.check_number,
    status: row.status,
    expired: row.expired,
    buyerId: row.buyer_id,
    sellerId: row.seller_id,
    dealId: row.deal_id,
    amount: { minor: row.amount_minor, currency: row.currency },
    lines: row.lines.map((l): CheckLine => ({
      itemId: l.itemId,
      quantity: l.quantity,
      unitPriceMinor: BigInt(l.unitPriceMinor),
    })),
  };
}

export interface NewCheck {
  checkNumber: string;
  buyerId: string;
  sellerId: string;
  carrierId: string;
  dealId: string | null;
  settlementOrganId: string | null;
  amountMinor: bigint;
  currency: string;
  commissionMinor: bigint;
  lines: CheckLine[];
  requestMessageId: string;
  jws: string;
  issuedAt: Date;
  expiresAt: Date;
}

export async function insertCheck(db: Db, check: NewCheck): Promise<void> {
  await db
    .insertInto('checks')
    .values({
      check_number: check.checkNumber,
      buyer_id: check.buyerId,
      seller_id: check.sellerId,
      carrier_id: check.carrierId,
      deal_id: check.dealId,
      settlement_organ_id: check.settlementOrganId,
      amount_minor: check.amountMinor,
      currency: check.currency,
      commission_minor: check.commissionMinor,
      lines: JSON.stringify(
        check.lines.map((l) => ({
          itemId: l.itemId,
          quantity: l.quantity,
          unitPriceMinor: l.unitPriceMinor.toString(),
        })),
      ),
      request_message_id: check.requestMessageId,
      jws: check.jws,
      issued_at: check.issuedAt,
      expires_at: check.expiresAt,
    })
    .execute();
}

/** The column each target state stamps with the time it was reached. */
const STAMP = {
  presented: 'presented_at',
  demanded: 'demanded_at',
  paid: 'paid_at',
  voided: 'closed_at',
  expired: 'closed_at',
} as const satisfies Partial<Record<CheckStatus, keyof ChecksTable>>;

/**
 * Compare-and-set of a check's state. Presenting needs an unexpired check and expiring an
 * expired one, both by the database clock, so a check cannot be presented and expired at once.
 */
export async function moveCheck(
  db: Db,
  checkNumber: string,
  from: readonly CheckStatus[],
  to: keyof typeof STAMP,
): Promise<boolean> {
  let query = db
    .updateTable('checks')
    .set({ status: to, [STAMP[to]]: sql<Date>`now()` })
    .where('check_number', '=', checkNumber)
    .where('status', 'in', [...from]);
  // Paid at once on demand: the demand's time is the payment's.
  if (to === 'paid') query = query.set({ demanded_at: sql<Date>`coalesce(demanded_at, now())` });
  if (to === 'presented') query = query.where('expires_at', '>', sql<Date>`now()`);
  if (to === 'expired') query = query.where('expires_at', '<=', sql<Date>`now()`);
  const result = await query.executeTakeFirst();
  return result.numUpdatedRows === 1n;
}

/** Issued checks past their expiry, oldest first. */
export async function dueChecks(db: Db, limit: number): Promise<string[]> {
  const rows = await db
    .selectFrom('checks')
    .select('check_number')
    .where('status', '=', 'issued')
    .where('expires_at', '<=', sql<Date>`now()`)
    .orderBy('expires_at')
    .limit(limit)
    .execute();
  return rows.map((r) => r.check_number);
}

export interface NewOrder {
  id: string;
  checkNumber: string;
  buyerId: string;
  sellerId: string;
  carrierId: string;
  dealId: string | null;
  totalMinor: bigint;
  currency: string;
  lines: unknown[];
  distributionAddress: unknown;
  orderReference: string | null;
}

export async function insertOrder(db: Db, order: NewOrder): Promise<void> {
  await db
    .insertInto('commodity_orders')
    .values({
      id: order.id,
      check_number: order.checkNumber,
      buyer_id: order.buyerId,
      seller_id: order.sellerId,
      carrier_id: order.carrierId,
      deal_id: order.dealId,
      total_minor: order.totalMinor,
      currency: order.currency,
      lines: JSON.stringify(order.lines),
      distribution_address: JSON.stringify(order.distributionAddress),
      order_reference: order.orderReference,
    })
    .execute();
}

/**
 * An order, locked for the rest of the transaction when asked: the documents that move an order
 * or pay its check (PaymentDemand, DeliveryComplete) take this lock first, so they see each
 * other's effects instead of racing.
 */
export async function findOrder(
  db: Db,
  where: { id: string } | { checkNumber: string },
  options: { lock?: boolean } = {},
): Promise<OrderRow | undefined> {
  const query = db
    .selectFrom('commodity_orders')
    .selectAll()
    .where(
      'id' in where ? 'id' : 'check_number',
      '=',
      'id' in where ? where.id : where.checkNumber,
    );
  return (options.lock === true ? query.forUpdate() : query).executeTakeFirst();
}

type OrderChanges = Partial<
  Pick<
    CommodityOrdersTable,
    | 'instructed_at'
    | 'delivery_date'
    | 'window_start'
    | 'window_end'
    | 'delivered_at'
    | 'received_by'
  >
>;

/** Compare-and-set of an order's state, with the facts the transition records. */
export async function moveOrder(
  db: Db,
  id: string,
  from: readonly CommodityOrderStatus[],
  to: CommodityOrderStatus,
  changes: OrderChanges = {},
): Promise<boolean> {
  const result = await db
    .updateTable('commodity_orders')
    .set({ ...changes, status: to })
    .where('id', '=', id)
    .where('status', 'in', [...from])
    .executeTakeFirst();
  return result.numUpdatedRows === 1n;
}

/** Facts that are not transitions: the first notice of each kind is kept, the last status too. */
export async function noteOnOrder(
  db: Db,
  id: string,
  note:
    | { kind: 'distribution'; expectedShipDate: string }
    | { kind: 'payment' }
    | { kind: 'status'; status: string; at: string },
): Promise<void> {
  const query = db.updateTable('commodity_orders').where('id', '=', id);
  switch (note.kind) {
    case 'distribution':
      await query
        .set({
          distribution_noticed_at: sql<Date>`coalesce(distribution_noticed_at, now())`,
          expected_ship_date: note.expectedShipDate,
        })
        .execute();
      return;
    case 'payment':
      await query
        .set({ payment_noticed_at: sql<Date>`coalesce(payment_noticed_at, now())` })
        .execute();
      return;
    case 'status':
      await query
        .set({ last_delivery_status: note.status, last_delivery_status_at: new Date(note.at) })
        .execute();
      return;
  }
}

/** A deal as the check flow needs it, locked: one check request per deal at a time. */
export async function lockDeal(db: Db, dealId: string) {
  return db
    .selectFrom('deals')
    .select([
      'id',
      'buyer_id',
      'seller_id',
      'item_id',
      'quantity',
      'unit_price_minor',
      'currency',
      'total_minor',
      'commission_minor',
      'status',
      'settlement_organ_id',
      'carrier_id',
    ])
    .where('id', '=', dealId)
    .forUpdate()
    .executeTakeFirst();
}

/** The check that pays or may pay for a deal (there is at most one, by a unique index). */
export async function liveCheckOfDeal(db: Db, dealId: string) {
  return db
    .selectFrom('checks')
    .select(['check_number', 'status'])
    .where('deal_id', '=', dealId)
    .where('status', 'in', ['issued', 'presented', 'demanded', 'paid'])
    .executeTakeFirst();
}

export async function offersOfSeller(db: Db, sellerId: string, itemIds: readonly string[]) {
  if (itemIds.length === 0) return [];
  return db
    .selectFrom('offers')
    .select(['item_id', 'list_price_minor', 'currency'])
    .where('seller_id', '=', sellerId)
    .where('item_id', 'in', [...itemIds])
    .execute();
}

/** The settlement days of the terms that won the deal's settlement tender, if any. */
export async function settlementDays(db: Db, dealId: string, organId: string): Promise<number> {
  const row = await db
    .selectFrom('tenders as t')
    .innerJoin('tender_terms as tt', (join) =>
      join.onRef('tt.tender_id', '=', 't.id').on('tt.organ_id', '=', organId),
    )
    .select('tt.settlement_days')
    .where('t.deal_id', '=', dealId)
    .where('t.kind', '=', 'settlement')
    .executeTakeFirst();
  return row?.settlement_days ?? 0;
}
