/**
 * Distribution feeds (seed 000 claims 4 and 5): item information to buyers and reservation
 * information to sellers, "regularly" (on the partner's own cron schedule) or "not-regularly"
 * (at once, when something they subscribed to changes).
 *
 * Cursor invariant: a scheduled run of a subscription sends the changes made by transactions in
 * [cursor, xmin), where xmin is the oldest transaction still running when the run looked; every
 * transaction below xmin has finished, so its changes are visible and complete. The cursor then
 * moves to xmin, by compare-and-set in the transaction that queues the feed documents, so a
 * change is neither skipped (a late-committing writer is above xmin and waits for the next run)
 * nor sent twice (a run that crashes moves nothing; two runs cannot both move the same cursor).
 * A row changed again later carries the newer transaction id and is sent again, as it should be.
 */
import { sql, type Kysely, type Transaction } from 'kysely';
import type { Database } from '../../db/tables.ts';
import { GatewayError } from '../errors.ts';
import { listOffersOf } from '../catalogue/catalogue.repository.ts';
import { itemView } from '../catalogue/catalogue.ts';
import { newId } from '../ids.ts';
import { reservationView } from '../trading/trading.ts';
import type { OutboundDocument } from '../pipeline/handlers.ts';
import { sendOneBy, type EnqueueOutbound } from '../pipeline/pipeline.service.ts';
import type { Partner } from '../partners/partners.ts';

export type FeedKind = 'items' | 'reservations';
export type FeedMode = 'scheduled' | 'immediate';

export interface Subscription {
  feed: FeedKind;
  mode: FeedMode;
  schedule: string | null;
  categories: string[];
  regions: string[];
}

/** Port: does a cron expression fire at this minute (evaluated in UTC)? */
export type ScheduleMatcher = (schedule: string, at: Date) => boolean;

type Db = Kysely<Database> | Transaction<Database>;
type Send = (outbound: OutboundDocument) => Promise<string>;

/** Feeds larger than this are split into several documents. */
const ENTRIES_PER_DOCUMENT = 100;

const FEED_ROLE: Record<FeedKind, 'buyer' | 'seller'> = { items: 'buyer', reservations: 'seller' };

export async function setSubscription(
  db: Kysely<Database>,
  partner: Partner,
  subscription: Subscription,
  validSchedule: (schedule: string) => boolean,
): Promise<void> {
  const role = FEED_ROLE[subscription.feed];
  if (!partner.roles.includes(role)) {
    throw new GatewayError(
      'BAD_REQUEST',
      `the ${subscription.feed} feed is for partners with the ${role} role`,
    );
  }
  if (subscription.mode === 'scheduled') {
    if (subscription.schedule === null || !validSchedule(subscription.schedule)) {
      throw new GatewayError(
        'BAD_REQUEST',
        'a scheduled feed needs a valid cron schedule such as "0 * * * *"',
      );
    }
  }
  await db
    .insertInto('feed_subscriptions')
    .values({
      partner_id: partner.id,
      feed: subscription.feed,
      mode: subscription.mode,
      schedule: subscription.mode === 'scheduled' ? subscription.schedule : null,
      categories: subscription.categories,
      regions: subscription.regions,
    })
    .onConflict((oc) =>
      oc.columns(['partner_id', 'feed']).doUpdateSet((eb) => ({
        mode: eb.ref('excluded.mode'),
        schedule: eb.ref('excluded.schedule'),
        categories: eb.ref('excluded.categories'),
        regions: eb.ref('excluded.regions'),
      })),
    )
    .execute();
}

export async function listSubscriptions(db: Db, partnerId: string) {
  return db
    .selectFrom('feed_subscriptions')
    .selectAll()
    .where('partner_id', '=', partnerId)
    .orderBy('feed')
    .execute();
}

export async function removeSubscription(
  db: Db,
  partnerId: string,
  feed: FeedKind,
): Promise<boolean> {
  const result = await db
    .deleteFrom('feed_subscriptions')
    .where('partner_id', '=', partnerId)
    .where('feed', '=', feed)
    .executeTakeFirst();
  return result.numDeletedRows === 1n;
}

// --- what a feed entry looks like ------------------------------------------------------------

interface ItemEntry {
  changeTxid: bigint;
  category: string;
  regions: Set<string>;
  sellers: Set<string>;
  body: Record<string, unknown>;
}

async function itemEntries(
  db: Db,
  where: { ids?: string[]; from?: bigint; below?: bigint },
): Promise<ItemEntry[]> {
  let query = db
    .selectFrom('items')
    .selectAll()
    .select(sql<string>`change_txid::text`.as('txid'))
    .orderBy('change_txid')
    .orderBy('id');
  if (where.ids !== undefined) query = query.where('id', 'in', where.ids);
  if (where.from !== undefined)
    query = query.where(sql<boolean>`change_txid >= ${String(where.from)}::xid8`);
  if (where.below !== undefined)
    query = query.where(sql<boolean>`change_txid < ${String(where.below)}::xid8`);
  const items = await query.execute();
  if (items.length === 0) return [];
  const offers = await listOffersOf(
    db,
    items.map((i) => i.id),
  );
  return items.map((item) => {
    const own = offers.filter((o) => o.item_id === item.id);
    return {
      changeTxid: BigInt(item.txid),
      category: item.category,
      regions: new Set(own.flatMap((o) => o.regions)),
      sellers: new Set(own.map((o) => o.seller_id)),
      body: itemView(item, own),
    };
  });
}

interface ReservationEntry {
  changeTxid: bigint;
  category: string;
  region: string | null;
  /** Sellers that carry the item: the only ones who may see the reservation. */
  sellers: Set<string>;
  body: Record<string, unknown>;
}

async function reservationEntries(
  db: Db,
  where: { ids?: string[]; from?: bigint; below?: bigint },
): Promise<ReservationEntry[]> {
  let query = db
    .selectFrom('reservations as r')
    .innerJoin('items as i', 'i.id', 'r.item_id')
    .select([
      'r.id',
      'r.item_id',
      'r.quantity',
      'r.max_unit_price_minor',
      'r.currency',
      'r.needed_by',
      'r.bidding_deadline',
      'r.delivery_region',
      'i.category',
      sql<string>`r.change_txid::text`.as('txid'),
    ])
    .where('r.status', '=', 'open')
    .where('r.bidding_deadline', '>', sql<Date>`now()`)
    .orderBy('r.change_txid')
    .orderBy('r.id');
  if (where.ids !== undefined) query = query.where('r.id', 'in', where.ids);
  if (where.from !== undefined)
    query = query.where(sql<boolean>`r.change_txid >= ${String(where.from)}::xid8`);
  if (where.below !== undefined)
    query = query.where(sql<boolean>`r.change_txid < ${String(where.below)}::xid8`);
  const rows = await query.execute();
  if (rows.length === 0) return [];
  const carriers = await db
    .selectFrom('offers')
    .select(['item_id', 'seller_id'])
    .where(
      'item_id',
      'in',
      rows.map((r) => r.item_id),
    )
    .execute();
  return rows.map((r) => ({
    changeTxid: BigInt(r.txid),
    category: r.category,
    region: r.delivery_region,
    sellers: new Set(carriers.filter((c) => c.item_id === r.item_id).map((c) => c.seller_id)),
    body: reservationView(r),
  }));
}

function categoryMatches(wanted: readonly string[], category: string): boolean {
  return wanted.length === 0 || wanted.some((c) => category === c || category.startsWith(`${c}/`));
}

function wants(
  sub: { feed: FeedKind; partner_id: string; categories: string[]; regions: string[] },
  entry: ItemEntry | ReservationEntry,
): boolean {
  if (!categoryMatches(sub.categories, entry.category)) return false;
  if ('region' in entry) {
    if (!entry.sellers.has(sub.partner_id)) return false;
    return sub.regions.length === 0 || entry.region === null || sub.regions.includes(entry.region);
  }
  return sub.regions.length === 0 || sub.regions.some((r) => entry.regions.has(r));
}

async function sendFeed(
  send: Send,
  recipientId: string,
  feed: FeedKind,
  entries: readonly Record<string, unknown>[],
): Promise<number> {
  let documents = 0;
  for (let i = 0; i < entries.length; i += ENTRIES_PER_DOCUMENT) {
    const chunk = entries.slice(i, i + ENTRIES_PER_DOCUMENT);
    const feedId = newId('FEED');
    await send(
      feed === 'items'
        ? { recipientId, type: 'ItemFeed', body: { feedId, items: chunk } }
        : { recipientId, type: 'ReservationFeed', body: { feedId, reservations: chunk } },
    );
    documents++;
  }
  return documents;
}

// --- "regularly": the scheduled feed jobs ----------------------------------------------------

export interface FeedDeps {
  db: Kysely<Database>;
  enqueue: EnqueueOutbound;
  isDue: ScheduleMatcher;
}

/** One run of the `item-feed` or `reservation-feed` job, at the tick `at`. */
export async function runScheduledFeeds(
  deps: FeedDeps,
  feed: FeedKind,
  at: Date,
): Promise<Record<string, number>> {
  const counts = { subscriptions: 0, documents: 0, entries: 0 };
  await deps.db.transaction().execute(async (trx) => {
    const subscriptions = (
      await trx
        .selectFrom('feed_subscriptions as s')
        .innerJoin('partners as p', 'p.id', 's.partner_id')
        .selectAll('s')
        .select(sql<string>`s.cursor::text`.as('from'))
        .where('s.feed', '=', feed)
        .where('s.mode', '=', 'scheduled')
        .where('p.status', '=', 'active')
        .orderBy('s.partner_id')
        .forUpdate('s')
        .skipLocked()
        .execute()
    ).filter((s) => s.schedule !== null && deps.isDue(s.schedule, at));
    if (subscriptions.length === 0) return;
    const xmin = BigInt(
      (
        await sql<{
          xmin: string;
        }>`select pg_snapshot_xmin(pg_current_snapshot())::text as xmin`.execute(trx)
      ).rows[0]?.xmin ?? '0',
    );
    const from = subscriptions.reduce(
      (low, s) => (BigInt(s.from) < low ? BigInt(s.from) : low),
      xmin,
    );
    const entries: (ItemEntry | ReservationEntry)[] =
      feed === 'items'
        ? await itemEntries(trx, { from, below: xmin })
        : await reservationEntries(trx, { from, below: xmin });
    for (const sub of subscriptions) {
      const cursor = BigInt(sub.from);
      const mine = entries
        .filter((e) => e.changeTxid >= cursor && wants(sub, e))
        .map((e) => e.body);
      const moved = await trx
        .updateTable('feed_subscriptions')
        .set({ cursor: sql`${String(xmin)}::xid8`, last_sent_at: new Date() })
        .where('partner_id', '=', sub.partner_id)
        .where('feed', '=', feed)
        .where(sql<boolean>`cursor = ${sub.from}::xid8`)
        .executeTakeFirst();
      if (moved.numUpdatedRows !== 1n) continue;
      counts.subscriptions++;
      counts.entries += mine.length;
      counts.documents += await sendFeed(sendOneBy(deps.enqueue, trx), sub.partner_id, feed, mine);
    }
  });
  return counts;
}

// --- "not-regularly": immediate notices, in the transaction of the change --------------------

async function immediateSubscribers(db: Db, feed: FeedKind) {
  return db
    .selectFrom('feed_subscriptions as s')
    .innerJoin('partners as p', 'p.id', 's.partner_id')
    .selectAll('s')
    .where('s.feed', '=', feed)
    .where('s.mode', '=', 'immediate')
    .where('p.status', '=', 'active')
    .orderBy('s.partner_id')
    .execute();
}

export async function noticeItemChanged(
  trx: Transaction<Database>,
  send: Send,
  itemId: string,
): Promise<void> {
  const subscribers = await immediateSubscribers(trx, 'items');
  if (subscribers.length === 0) return;
  const [entry] = await itemEntries(trx, { ids: [itemId] });
  if (entry === undefined) return;
  for (const sub of subscribers) {
    if (wants(sub, entry)) await sendFeed(send, sub.partner_id, 'items', [entry.body]);
  }
}

export async function noticeReservationOpened(
  trx: Transaction<Database>,
  send: Send,
  reservationId: string,
): Promise<void> {
  const subscribers = await immediateSubscribers(trx, 'reservations');
  if (subscribers.length === 0) return;
  const [entry] = await reservationEntries(trx, { ids: [reservationId] });
  if (entry === undefined) return;
  for (const sub of subscribers) {
    if (wants(sub, entry)) await sendFeed(send, sub.partner_id, 'reservations', [entry.body]);
  }
}
