/** Queries of the trading flow. Every status change is a compare-and-set: it names the state it leaves. */
import { sql, type Kysely, type Transaction } from 'kysely';
import { jsonRows, namedStatement } from '../../db/prepared.ts';
import type { BidStatus, Database, DealStatus, ReservationStatus } from '../../db/tables.ts';
import {
  allOrNoneInserted,
  anyImmediateSubscriberSql,
  type AllOrNoneInserted,
  type AllOrNoneRow,
} from '../feeds/feeds.repository.ts';

type Db = Kysely<Database> | Transaction<Database>;

export async function findItemForReservation(db: Db, itemId: string) {
  return db
    .selectFrom('items')
    .select(['id', 'name', sql<boolean>`release_date > current_date`.as('unreleased')])
    .where('id', '=', itemId)
    .executeTakeFirst();
}

/** The item a reservation is for, and whether its bidding deadline is still ahead (database clock). */
export async function findItemForNewReservation(db: Db, itemId: string, biddingDeadline: string) {
  return db
    .selectFrom('items')
    .select([
      'id',
      sql<boolean>`release_date > current_date`.as('unreleased'),
      sql<boolean>`cast(${biddingDeadline} as timestamptz) > now()`.as('deadline_ahead'),
    ])
    .where('id', '=', itemId)
    .executeTakeFirst();
}

export interface NewReservation {
  id: string;
  buyerId: string;
  itemId: string;
  quantity: number;
  maxUnitPriceMinor: bigint;
  currency: string;
  neededBy: string;
  biddingDeadline: string;
  deliveryRegion: string | null;
  buyerReference: string | null;
}

/**
 * A new reservation — only for an item not yet released, with a bidding deadline still ahead (the
 * database clock): one statement, which also says whether any seller wants to hear of it at once.
 * Undefined when the item does not qualify: the caller reads why.
 */
export async function insertReservation(
  db: Db,
  r: NewReservation,
): Promise<{ immediateSubscribers: boolean } | undefined> {
  const { rows } = await db.executeQuery(
    insertReservationStatement([
      r.id,
      r.buyerId,
      r.itemId,
      r.quantity,
      r.maxUnitPriceMinor,
      r.currency,
      r.neededBy,
      r.biddingDeadline,
      r.deliveryRegion,
      r.buyerReference,
    ]),
  );
  const row = rows[0] as { immediate_subscribers: boolean } | undefined;
  return row === undefined ? undefined : { immediateSubscribers: row.immediate_subscribers };
}

/** SQL text, not built, and prepared: a hot path (see logAndClaimInbound). */
const insertReservationStatement = namedStatement(
  'insert_reservation',
  `insert into reservations (id, buyer_id, item_id, quantity,
    max_unit_price_minor, currency, needed_by, bidding_deadline, delivery_region, buyer_reference)
  select $1::text, $2::text, i.id, $4::integer, $5::bigint, $6::text, $7::date,
    $8::timestamptz, $9::text, $10::text
  from items i
  where i.id = $3 and i.release_date > current_date and $8::timestamptz > now()
  returning ${anyImmediateSubscriberSql('reservations')} as immediate_subscribers`,
);

/**
 * Several new reservations in one statement — all of them, or none when any one does not qualify
 * (see insertReservation): the caller then takes them one by one, and each reads why. Says
 * whether any seller wants to hear of new reservations at once.
 */
export async function insertReservations(
  trx: Transaction<Database>,
  rows: readonly NewReservation[],
): Promise<AllOrNoneInserted> {
  const { rows: result } = await trx.executeQuery<AllOrNoneRow>(
    insertReservationsStatement([
      jsonRows(
        rows.map((r) => ({
          id: r.id,
          buyer_id: r.buyerId,
          item_id: r.itemId,
          quantity: r.quantity,
          max_unit_price_minor: String(r.maxUnitPriceMinor),
          currency: r.currency,
          needed_by: r.neededBy,
          bidding_deadline: r.biddingDeadline,
          delivery_region: r.deliveryRegion,
          buyer_reference: r.buyerReference,
        })),
      ),
    ]),
  );
  return allOrNoneInserted(result[0]!);
}

const insertReservationsStatement = namedStatement(
  'insert_reservations',
  `with input as (
  select * from rows from (json_to_recordset($1::json) as (id text, buyer_id text, item_id text,
    quantity integer, max_unit_price_minor bigint, currency text, needed_by date,
    bidding_deadline timestamptz, delivery_region text, buyer_reference text))
  with ordinality as r(id, buyer_id, item_id, quantity, max_unit_price_minor, currency,
    needed_by, bidding_deadline, delivery_region, buyer_reference, n)),
refused as (
  select exists (
    select 1 from input r
     where not (r.bidding_deadline > now())
        or not exists (select 1 from items i
                        where i.id = r.item_id and i.release_date > current_date offset 0))
    as refused),
inserted as (
  insert into reservations (id, buyer_id, item_id, quantity, max_unit_price_minor, currency,
    needed_by, bidding_deadline, delivery_region, buyer_reference)
  select id, buyer_id, item_id, quantity, max_unit_price_minor, currency, needed_by,
    bidding_deadline, delivery_region, buyer_reference
    from input where not (select refused from refused) order by n)
select (select refused from refused) as refused,
  ${anyImmediateSubscriberSql('reservations')} as immediate_subscribers`,
);

export async function findReservation(db: Db, id: string) {
  return db
    .selectFrom('reservations')
    .selectAll()
    .select(sql<boolean>`bidding_deadline > now()`.as('bidding_open'))
    .where('id', '=', id)
    .executeTakeFirst();
}

/** A reservation as a seller about to bid sees it: open for bids, and does it carry the item. */
export async function findReservationForBid(db: Db, id: string, sellerId: string) {
  return db
    .selectFrom('reservations')
    .selectAll()
    .select((eb) => [
      sql<boolean>`bidding_deadline > now()`.as('bidding_open'),
      eb
        .exists(
          eb
            .selectFrom('offers')
            .select('offers.item_id')
            .whereRef('offers.item_id', '=', 'reservations.item_id')
            .where('offers.seller_id', '=', sellerId),
        )
        .as('carried'),
    ])
    .where('id', '=', id)
    .executeTakeFirst();
}

export interface NewBid {
  id: string;
  reservationId: string;
  sellerId: string;
  unitPriceMinor: bigint;
  currency: string;
  quantity: number;
  promisedDeliveryDate: string;
  note: string | null;
}

/** A bid as stored: a revision keeps the id of the seller's first bid on the reservation. */
export interface SavedBid {
  id: string;
  version: number;
}

/**
 * A seller's bid, or its next version — only while the reservation is open, before its deadline
 * (the database clock, in the same statement: a bid that arrives late is refused even when its
 * request started in time), for an item the seller carries, in the reservation's currency and
 * within its maximum unit price. Undefined when any of that does not hold: the caller reads why.
 */
export async function upsertBid(db: Db, bid: NewBid): Promise<SavedBid | undefined> {
  const { rows } = await db.executeQuery(
    upsertBidStatement([
      bid.id,
      bid.reservationId,
      bid.sellerId,
      bid.unitPriceMinor,
      bid.currency,
      bid.quantity,
      bid.promisedDeliveryDate,
      bid.note,
    ]),
  );
  return rows[0] as { id: string; version: number } | undefined;
}

/**
 * SQL text, not built, and prepared: a hot path (see logAndClaimInbound). $1 id … $8 note. The
 * reservation is read by its key alone: with its open-and-not-due conditions beside the key, the
 * planner may prefer the partial index of open reservations by deadline (as cheap on a new
 * table), and a plan cached then scans every open reservation for each bid as the table grows.
 */
const upsertBidStatement = namedStatement(
  'upsert_bid',
  `with r as materialized (select * from reservations where id = $2)
  insert into bids (id, reservation_id, seller_id, unit_price_minor, currency,
    quantity, promised_delivery_date, note)
  select $1::text, r.id, $3::text, $4::bigint, $5::text, $6::integer, $7::date, $8::text
  from r
  where r.status = 'open' and r.bidding_deadline > now()
    and r.currency = $5 and r.max_unit_price_minor >= $4
    and exists (select 1 from offers o where o.item_id = r.item_id and o.seller_id = $3 offset 0)
  on conflict (reservation_id, seller_id) do update set
    unit_price_minor = excluded.unit_price_minor, currency = excluded.currency,
    quantity = excluded.quantity, promised_delivery_date = excluded.promised_delivery_date,
    note = excluded.note, version = bids.version + 1, status = 'active',
    received_at = now(), updated_at = now()
  returning id, version`,
);

/**
 * Several sellers' bids in one statement (see upsertBid) — all of them, or none when any one does
 * not qualify: the caller then takes them one by one, and each reads why. Two bids of one seller
 * on one reservation are refused here, before the database: one by one, the second revises the
 * first. Resolves to each bid as stored, in order; undefined when refused.
 */
export async function upsertBids(
  trx: Transaction<Database>,
  bids: readonly NewBid[],
): Promise<SavedBid[] | undefined> {
  const pairs = new Set(bids.map((b) => `${b.reservationId}\u0000${b.sellerId}`));
  if (pairs.size < bids.length) return undefined;
  const { rows } = await trx.executeQuery<{ refused: boolean; id: string; version: number }>(
    upsertBidsStatement([
      jsonRows(
        bids.map((b) => ({
          id: b.id,
          reservation_id: b.reservationId,
          seller_id: b.sellerId,
          unit_price_minor: String(b.unitPriceMinor),
          currency: b.currency,
          quantity: b.quantity,
          promised_delivery_date: b.promisedDeliveryDate,
          note: b.note,
        })),
      ),
    ]),
  );
  // One row per bid, in order (the pairs are distinct): refused all alike, or each as stored.
  if (rows.some((row) => row.refused)) return undefined;
  return rows.map((row) => ({ id: row.id, version: row.version }));
}

const upsertBidsStatement = namedStatement(
  'upsert_bids',
  `with input as (
  select * from rows from (json_to_recordset($1::json) as (id text, reservation_id text,
    seller_id text, unit_price_minor bigint, currency text, quantity integer,
    promised_delivery_date date, note text))
  with ordinality as b(id, reservation_id, seller_id, unit_price_minor, currency, quantity,
    promised_delivery_date, note, n)),
refused as (
  select exists (
    select 1 from input b
      left join lateral (select * from reservations r where r.id = b.reservation_id offset 0) r
        on true
     where r.id is null or not (r.status = 'open' and r.bidding_deadline > now()
       and r.currency = b.currency and r.max_unit_price_minor >= b.unit_price_minor
       and exists (select 1 from offers o
                    where o.item_id = r.item_id and o.seller_id = b.seller_id offset 0)))
    as refused),
saved as (
  insert into bids (id, reservation_id, seller_id, unit_price_minor, currency,
    quantity, promised_delivery_date, note)
  select id, reservation_id, seller_id, unit_price_minor, currency, quantity,
    promised_delivery_date, note
    from input where not (select refused from refused) order by n
  on conflict (reservation_id, seller_id) do update set
    unit_price_minor = excluded.unit_price_minor, currency = excluded.currency,
    quantity = excluded.quantity, promised_delivery_date = excluded.promised_delivery_date,
    note = excluded.note, version = bids.version + 1, status = 'active',
    received_at = now(), updated_at = now()
  returning id, reservation_id, seller_id, version)
select (select refused from refused) as refused, s.id, s.version
  from input b left join saved s on s.reservation_id = b.reservation_id and s.seller_id = b.seller_id
 order by b.n`,
);

export async function withdrawBid(db: Db, reservationId: string, sellerId: string) {
  return db
    .updateTable('bids')
    .set({ status: 'withdrawn', updated_at: sql`now()` })
    .where('reservation_id', '=', reservationId)
    .where('seller_id', '=', sellerId)
    .where('status', '=', 'active')
    .where((eb) =>
      eb.exists(
        eb
          .selectFrom('reservations')
          .select('id')
          .where('id', '=', reservationId)
          .where('status', '=', 'open')
          .where(sql<boolean>`bidding_deadline > now()`),
      ),
    )
    .returning(['id', 'version'])
    .executeTakeFirst();
}

/**
 * Open reservations past their bidding deadline, locked for judging (others skip them), each with
 * the transaction's clock (now() is fixed for a transaction: what a deal inserted in it gets as
 * the start of its confirm window).
 */
export async function lockDueReservations(trx: Transaction<Database>, limit: number) {
  return trx
    .selectFrom('reservations')
    .selectAll()
    .select(sql<Date>`now()`.as('transaction_now'))
    .where('status', '=', 'open')
    .where('bidding_deadline', '<=', sql<Date>`now()`)
    .orderBy('bidding_deadline')
    .limit(limit)
    .forUpdate()
    .skipLocked()
    .execute();
}

export async function listBidsFor(
  db: Db,
  reservationIds: readonly string[],
  statuses: readonly BidStatus[],
) {
  if (reservationIds.length === 0) return [];
  return db
    .selectFrom('bids')
    .selectAll()
    .where('reservation_id', 'in', reservationIds)
    .where('status', 'in', statuses)
    .execute();
}

export async function setBidStatus(
  db: Db,
  ids: readonly string[],
  from: readonly BidStatus[],
  to: BidStatus,
) {
  // A judging batch may name many bids: a statement carries at most 32,767 parameters on PGlite.
  for (let at = 0; at < ids.length; at += 5_000) {
    await db
      .updateTable('bids')
      .set({ status: to, updated_at: sql`now()` })
      .where('id', 'in', ids.slice(at, at + 5_000))
      .where('status', 'in', from)
      .execute();
  }
}

export async function setReservationStatus(
  db: Db,
  id: string | readonly string[],
  from: readonly ReservationStatus[],
  to: ReservationStatus,
): Promise<boolean> {
  const ids = typeof id === 'string' ? [id] : id;
  if (ids.length === 0) return false;
  const result = await db
    .updateTable('reservations')
    .set({
      status: to,
      judged_at: sql`coalesce(judged_at, now())`,
      change_txid: sql`pg_current_xact_id()`,
    })
    .where('id', 'in', ids)
    .where('status', 'in', from)
    .executeTakeFirst();
  return result.numUpdatedRows === BigInt(ids.length);
}

export interface NewDeal {
  id: string;
  reservationId: string;
  bidId: string;
  buyerId: string;
  sellerId: string;
  itemId: string;
  quantity: number;
  unitPriceMinor: bigint;
  currency: string;
  totalMinor: bigint;
  commissionMinor: bigint;
  commissionRatePercent: string;
  promisedDeliveryDate: string;
  confirmWindowS: number;
}

function dealRow(deal: NewDeal) {
  return {
    id: deal.id,
    reservation_id: deal.reservationId,
    bid_id: deal.bidId,
    buyer_id: deal.buyerId,
    seller_id: deal.sellerId,
    item_id: deal.itemId,
    quantity: deal.quantity,
    unit_price_minor: deal.unitPriceMinor,
    currency: deal.currency,
    total_minor: deal.totalMinor,
    commission_minor: deal.commissionMinor,
    commission_rate_percent: deal.commissionRatePercent,
    promised_delivery_date: deal.promisedDeliveryDate,
    confirm_by: sql<Date>`now() + make_interval(secs => ${deal.confirmWindowS})`,
  };
}

export async function insertDeal(db: Db, deal: NewDeal) {
  return db
    .insertInto('deals')
    .values(dealRow(deal))
    .returning(['id', 'confirm_by'])
    .executeTakeFirstOrThrow();
}

/** Several deals in one statement (a judging batch). */
export async function insertDeals(db: Db, deals: readonly NewDeal[]): Promise<void> {
  if (deals.length === 0) return;
  await db.insertInto('deals').values(deals.map(dealRow)).execute();
}

export async function findDeal(db: Db, id: string) {
  return db
    .selectFrom('deals')
    .selectAll()
    .select(sql<boolean>`confirm_by > now()`.as('confirmable'))
    .where('id', '=', id)
    .executeTakeFirst();
}

/** Record one side's decision, once, while the deal is awarded and its confirm-by not passed. */
export async function recordDecision(
  db: Db,
  dealId: string,
  side: 'buyer' | 'seller',
  decision: 'accept' | 'decline',
) {
  const column = side === 'buyer' ? 'buyer_decision' : 'seller_decision';
  return db
    .updateTable('deals')
    .set({ [column]: decision })
    .where('id', '=', dealId)
    .where('status', '=', 'awarded')
    .where(column, 'is', null)
    .where('confirm_by', '>', sql<Date>`now()`)
    .returningAll()
    .executeTakeFirst();
}

export async function setDealStatus(
  db: Db,
  id: string,
  from: DealStatus,
  to: DealStatus,
): Promise<boolean> {
  const result = await db
    .updateTable('deals')
    .set({ status: to, ...(to === 'confirmed' ? { confirmed_at: sql`now()` } : {}) })
    .where('id', '=', id)
    .where('status', '=', from)
    .executeTakeFirst();
  return result.numUpdatedRows === 1n;
}

/** Awarded deals whose confirm-by has passed, locked for this process. */
export async function lockLapsedDeals(trx: Transaction<Database>, limit: number) {
  return trx
    .selectFrom('deals')
    .selectAll()
    .where('status', '=', 'awarded')
    .where('confirm_by', '<=', sql<Date>`now()`)
    .orderBy('confirm_by')
    .limit(limit)
    .forUpdate()
    .skipLocked()
    .execute();
}

export async function activePartnersWithRole(
  db: Db,
  role: 'settlement' | 'carrier',
): Promise<string[]> {
  const rows = await db
    .selectFrom('partners')
    .select('id')
    .where('status', '=', 'active')
    .where(sql<boolean>`${role} = any(roles)`)
    .orderBy('id')
    .execute();
  return rows.map((r) => r.id);
}

export async function insertTender(
  db: Db,
  tender: {
    id: string;
    dealId: string;
    kind: 'settlement' | 'transport';
    windowS: number;
    organs: string[];
  },
) {
  const row = await db
    .insertInto('tenders')
    .values({
      id: tender.id,
      deal_id: tender.dealId,
      kind: tender.kind,
      terms_deadline: sql<Date>`now() + make_interval(secs => ${tender.windowS})`,
      status: tender.organs.length === 0 ? 'no-terms' : 'open',
    })
    .returning(['terms_deadline'])
    .executeTakeFirstOrThrow();
  if (tender.organs.length > 0) {
    await db
      .insertInto('tender_invitations')
      .values(tender.organs.map((organ) => ({ tender_id: tender.id, organ_id: organ })))
      .execute();
  }
  return row.terms_deadline;
}

export async function findTenderForOrgan(db: Db, tenderId: string, organId: string) {
  return db
    .selectFrom('tenders')
    .innerJoin('tender_invitations as i', 'i.tender_id', 'tenders.id')
    .innerJoin('deals', 'deals.id', 'tenders.deal_id')
    .select([
      'tenders.id',
      'tenders.kind',
      'tenders.status',
      'tenders.deal_id',
      'deals.total_minor',
      'deals.currency',
      sql<boolean>`tenders.terms_deadline > now()`.as('open_for_terms'),
    ])
    .where('tenders.id', '=', tenderId)
    .where('i.organ_id', '=', organId)
    .executeTakeFirst();
}

export async function upsertTerms(
  db: Db,
  terms: {
    tenderId: string;
    organId: string;
    costMinor: bigint;
    currency: string;
    fixedFeeMinor: bigint | null;
    ratePercent: string | null;
    settlementDays: number | null;
    pickupDate: string | null;
    deliveryDate: string | null;
    note: string | null;
  },
): Promise<boolean> {
  const values = {
    tender_id: terms.tenderId,
    organ_id: terms.organId,
    cost_minor: terms.costMinor,
    currency: terms.currency,
    fixed_fee_minor: terms.fixedFeeMinor,
    rate_percent: terms.ratePercent,
    settlement_days: terms.settlementDays,
    pickup_date: terms.pickupDate,
    delivery_date: terms.deliveryDate,
    note: terms.note,
  };
  // The deadline is checked by the database clock in the same statement that stores the terms.
  const row = await db
    .insertInto('tender_terms')
    .columns(Object.keys(values) as (keyof typeof values)[])
    .expression((eb) =>
      eb
        .selectFrom('tenders')
        .select([
          'id as tender_id',
          sql<string>`${terms.organId}::text`.as('organ_id'),
          sql<bigint>`${terms.costMinor}::bigint`.as('cost_minor'),
          sql<string>`${terms.currency}::text`.as('currency'),
          sql<bigint | null>`${terms.fixedFeeMinor}::bigint`.as('fixed_fee_minor'),
          sql<string | null>`${terms.ratePercent}::text`.as('rate_percent'),
          sql<number | null>`${terms.settlementDays}::integer`.as('settlement_days'),
          sql<string | null>`${terms.pickupDate}::date`.as('pickup_date'),
          sql<string | null>`${terms.deliveryDate}::date`.as('delivery_date'),
          sql<string | null>`${terms.note}::text`.as('note'),
        ])
        .where('id', '=', terms.tenderId)
        .where('status', '=', 'open')
        .where(sql<boolean>`terms_deadline > now()`),
    )
    .onConflict((oc) =>
      oc.columns(['tender_id', 'organ_id']).doUpdateSet((eb) => ({
        cost_minor: eb.ref('excluded.cost_minor'),
        currency: eb.ref('excluded.currency'),
        fixed_fee_minor: eb.ref('excluded.fixed_fee_minor'),
        rate_percent: eb.ref('excluded.rate_percent'),
        settlement_days: eb.ref('excluded.settlement_days'),
        pickup_date: eb.ref('excluded.pickup_date'),
        delivery_date: eb.ref('excluded.delivery_date'),
        note: eb.ref('excluded.note'),
        version: sql<number>`tender_terms.version + 1`,
        received_at: sql`now()`,
      })),
    )
    .returning('tender_id')
    .executeTakeFirst();
  return row !== undefined;
}

export async function lockDueTenders(trx: Transaction<Database>, limit: number) {
  return trx
    .selectFrom('tenders')
    .selectAll()
    .where('status', '=', 'open')
    .where('terms_deadline', '<=', sql<Date>`now()`)
    .orderBy('terms_deadline')
    .limit(limit)
    .forUpdate()
    .skipLocked()
    .execute();
}

export async function listTerms(db: Db, tenderId: string) {
  return db.selectFrom('tender_terms').selectAll().where('tender_id', '=', tenderId).execute();
}

/**
 * Open reservations for items the seller carries, with the seller's own bid if it has one —
 * never another seller's.
 */
export async function listOpenReservationsForSeller(
  db: Db,
  sellerId: string,
  page: { after?: string; limit: number; itemId?: string },
) {
  let query = db
    .selectFrom('reservations as r')
    .innerJoin('offers as o', (join) =>
      join.onRef('o.item_id', '=', 'r.item_id').on('o.seller_id', '=', sellerId),
    )
    .leftJoin('bids as b', (join) =>
      join.onRef('b.reservation_id', '=', 'r.id').on('b.seller_id', '=', sellerId),
    )
    .select([
      'r.id',
      'r.item_id',
      'r.quantity',
      'r.max_unit_price_minor',
      'r.currency',
      'r.needed_by',
      'r.bidding_deadline',
      'r.delivery_region',
      'b.id as bid_id',
      'b.version as bid_version',
      'b.status as bid_status',
      'b.unit_price_minor as bid_unit_price_minor',
    ])
    .where('r.status', '=', 'open')
    .where('r.bidding_deadline', '>', sql<Date>`now()`)
    .orderBy('r.id')
    .limit(page.limit);
  if (page.after !== undefined) query = query.where('r.id', '>', page.after);
  if (page.itemId !== undefined) query = query.where('r.item_id', '=', page.itemId);
  return query.execute();
}
