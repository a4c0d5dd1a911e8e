import { sql, type Kysely, type Transaction } from 'kysely';
import { jsonRows, namedStatement } from '../../db/prepared.ts';
import {
  allOrNoneInserted,
  anyImmediateSubscriberSql,
  type AllOrNoneInserted,
  type AllOrNoneRow,
} from '../feeds/feeds.repository.ts';
import type { Database } from '../../db/tables.ts';

type Db = Kysely<Database> | Transaction<Database>;

export async function findOfferBySellerItem(db: Db, sellerId: string, sellerItemId: string) {
  return db
    .selectFrom('offers')
    .innerJoin('items', 'items.id', 'offers.item_id')
    .select([
      'offers.item_id',
      'offers.version',
      'items.created_by',
      sql<boolean>`items.release_date > current_date`.as('unreleased'),
    ])
    .where('offers.seller_id', '=', sellerId)
    .where('offers.seller_item_id', '=', sellerItemId)
    .executeTakeFirst();
}

export async function findItemForOffer(db: Db, where: { itemId?: string; gtin?: string }) {
  let query = db
    .selectFrom('items')
    .select(['id', 'created_by', sql<boolean>`release_date > current_date`.as('unreleased')]);
  if (where.itemId !== undefined) query = query.where('id', '=', where.itemId);
  else if (where.gtin !== undefined) query = query.where('gtin', '=', where.gtin);
  else return undefined;
  return query.executeTakeFirst();
}

/** Is this date after today by the database clock? */
export async function isFutureDate(db: Db, date: string): Promise<boolean> {
  const row = await sql<{
    future: boolean;
  }>`select cast(${date} as date) > current_date as future`.execute(db);
  return row.rows[0]?.future === true;
}

export interface ItemFields {
  name: string;
  description: string | null;
  category: string;
  releaseDate: string;
  gtin: string | null;
  attributes: { name: string; value: string }[];
}

export type NewItemOutcome =
  | { kind: 'inserted'; immediateSubscribers: boolean }
  /** The seller already has an offer under this sellerItemId, or the GTIN names a known item. */
  | { kind: 'taken' }
  /** The release date is not ahead (by the database clock): nothing was inserted. */
  | { kind: 'released' };

/**
 * A new item with the seller's offer on it, in one statement — unless the seller already offers
 * something under this sellerItemId or an item carries this GTIN (a revision, or an offer on a
 * known item: the caller looks those up), and only with a release date still ahead. It also says
 * whether any buyer wants to hear of the item at once. A catalogue load is mostly new items: one
 * round trip each.
 */
export async function insertNewItem(
  trx: Transaction<Database>,
  item: ItemFields & { id: string },
  offer: OfferFields & { sellerId: string; sellerItemId: string },
): Promise<NewItemOutcome> {
  const { rows } = await trx.executeQuery<{
    taken: boolean;
    immediate_subscribers: boolean | null;
  }>(
    insertNewItemStatement([
      item.id,
      item.gtin,
      item.name,
      item.description,
      item.category,
      item.releaseDate,
      JSON.stringify(item.attributes),
      offer.sellerId,
      offer.sellerItemId,
      String(offer.listPriceMinor),
      offer.currency,
      offer.quantityAvailable,
      offer.regions,
    ]),
  );
  const row = rows[0]!;
  if (row.taken) return { kind: 'taken' };
  if (row.immediate_subscribers === null) return { kind: 'released' };
  return { kind: 'inserted', immediateSubscribers: row.immediate_subscribers };
}

/** SQL text, not built, and prepared: a hot path of catalogue loads (see logAndClaimInbound). */
const insertNewItemStatement = namedStatement(
  'insert_new_item',
  `with taken as (
  select exists (select 1 from offers where seller_id = $8 and seller_item_id = $9)
    or exists (select 1 from items where gtin = $2::text) as taken),
item as (
  insert into items (id, gtin, name, description, category, release_date, attributes, created_by)
  select $1::text, $2::text, $3::text, $4::text, $5::text, $6::date, $7::jsonb, $8::text
  where $6::date > current_date and not (select taken from taken)
  returning id, ${anyImmediateSubscriberSql('items')} as immediate_subscribers),
offer as (
  insert into offers (item_id, seller_id, seller_item_id, list_price_minor, currency,
    quantity_available, regions)
  select id, $8::text, $9::text, $10::bigint, $11::text, $12::integer, $13::text[] from item)
select (select taken from taken) as taken, (select immediate_subscribers from item) as immediate_subscribers`,
);

export interface NewItem {
  item: ItemFields & { id: string };
  offer: OfferFields & { sellerId: string; sellerItemId: string };
}

/**
 * Several new items, each with its seller's offer, in one statement — all of them, or none when
 * any one could not go in as new (its sellerItemId or GTIN taken, its release date not ahead):
 * the caller then takes them one by one (insertNewItem). Two of them under the same sellerItemId
 * of one seller, or the same GTIN, are refused here, before the database: one by one, the second
 * would meet the first. Says whether any buyer wants to hear of new items at once.
 */
export async function insertNewItems(
  trx: Transaction<Database>,
  rows: readonly NewItem[],
): Promise<AllOrNoneInserted> {
  const sellerItems = new Set(rows.map((r) => `${r.offer.sellerId}\u0000${r.offer.sellerItemId}`));
  const gtins = rows.flatMap((r) => (r.item.gtin === null ? [] : [r.item.gtin]));
  if (sellerItems.size < rows.length || new Set(gtins).size < gtins.length) {
    return { kind: 'refused' };
  }
  const { rows: result } = await trx.executeQuery<AllOrNoneRow>(
    insertNewItemsStatement([
      jsonRows(
        rows.map(({ item, offer }) => ({
          id: item.id,
          gtin: item.gtin,
          name: item.name,
          description: item.description,
          category: item.category,
          release_date: item.releaseDate,
          attributes: item.attributes,
          seller_id: offer.sellerId,
          seller_item_id: offer.sellerItemId,
          list_price_minor: String(offer.listPriceMinor),
          currency: offer.currency,
          quantity_available: offer.quantityAvailable,
          regions: offer.regions,
        })),
      ),
    ]),
  );
  return allOrNoneInserted(result[0]!);
}

const insertNewItemsStatement = namedStatement(
  'insert_new_items',
  `with input as (
  select * from rows from (json_to_recordset($1::json) as (id text, gtin text, name text,
    description text, category text, release_date date, attributes jsonb, seller_id text,
    seller_item_id text, list_price_minor bigint, currency text, quantity_available integer,
    regions text[]))
  with ordinality as i(id, gtin, name, description, category, release_date, attributes,
    seller_id, seller_item_id, list_price_minor, currency, quantity_available, regions, n)),
refused as (
  select exists (
    select 1 from input i
     where not (i.release_date > current_date)
        or exists (select 1 from offers o
                    where o.seller_id = i.seller_id and o.seller_item_id = i.seller_item_id
                    offset 0)
        or exists (select 1 from items t where t.gtin = i.gtin offset 0)) as refused),
item as (
  insert into items (id, gtin, name, description, category, release_date, attributes, created_by)
  select id, gtin, name, description, category, release_date, attributes, seller_id
    from input where not (select refused from refused) order by n
  returning id),
offer as (
  insert into offers (item_id, seller_id, seller_item_id, list_price_minor, currency,
    quantity_available, regions)
  select i.id, i.seller_id, i.seller_item_id, i.list_price_minor, i.currency,
    i.quantity_available, i.regions
    from input i join item on item.id = i.id order by i.n)
select (select refused from refused) as refused,
  ${anyImmediateSubscriberSql('items')} as immediate_subscribers`,
);

export async function updateItem(db: Db, id: string, item: ItemFields): Promise<void> {
  await db
    .updateTable('items')
    .set({
      gtin: item.gtin,
      name: item.name,
      description: item.description,
      category: item.category,
      release_date: item.releaseDate,
      attributes: JSON.stringify(item.attributes),
      updated_at: sql`now()`,
      change_txid: sql`pg_current_xact_id()`,
    })
    .where('id', '=', id)
    .execute();
}

export interface OfferFields {
  listPriceMinor: bigint;
  currency: string;
  quantityAvailable: number;
  regions: string[];
}

/** A seller's offer on a known item, which feeds then show as changed. */
export async function insertOffer(
  db: Db,
  offer: OfferFields & { itemId: string; sellerId: string; sellerItemId: string },
): Promise<void> {
  await db
    .insertInto('offers')
    .values({
      item_id: offer.itemId,
      seller_id: offer.sellerId,
      seller_item_id: offer.sellerItemId,
      list_price_minor: offer.listPriceMinor,
      currency: offer.currency,
      quantity_available: offer.quantityAvailable,
      regions: offer.regions,
    })
    .execute();
  await touchItem(db, offer.itemId);
}

/** Compare-and-set on the offer's version: a concurrent revision makes this one fail loudly. */
export async function reviseOffer(
  db: Db,
  key: { itemId: string; sellerId: string; expectedVersion: number },
  offer: OfferFields,
): Promise<boolean> {
  const result = await db
    .updateTable('offers')
    .set({
      list_price_minor: offer.listPriceMinor,
      currency: offer.currency,
      quantity_available: offer.quantityAvailable,
      regions: offer.regions,
      version: key.expectedVersion + 1,
      updated_at: sql`now()`,
    })
    .where('item_id', '=', key.itemId)
    .where('seller_id', '=', key.sellerId)
    .where('version', '=', key.expectedVersion)
    .executeTakeFirst();
  await touchItem(db, key.itemId);
  return result.numUpdatedRows === 1n;
}

/** Feeds pick up items by their last changing transaction: a changed offer is a changed item. */
async function touchItem(db: Db, itemId: string): Promise<void> {
  await db
    .updateTable('items')
    .set({ updated_at: sql`now()`, change_txid: sql`pg_current_xact_id()` })
    .where('id', '=', itemId)
    .execute();
}

export interface ItemFilter {
  /** Exact category, or every category under it ("audio" finds "audio/headphones"). */
  category?: string;
  /** Words in the name or description (case-insensitive; taken literally, no wildcards). */
  text?: string;
  releaseFrom?: string;
  releaseTo?: string;
  updatedSince?: string;
  /** Cursor: the last item id of the previous page. */
  after?: string;
  limit: number;
}

function literalLike(text: string): string {
  return `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

/** A page of the catalogue with every offer of each item, in item id order. */
export async function listItems(db: Db, filter: ItemFilter) {
  let query = db.selectFrom('items').selectAll().orderBy('id').limit(filter.limit);
  if (filter.category !== undefined) {
    const category = filter.category;
    query = query.where((eb) =>
      eb.or([
        eb('category', '=', category),
        eb('category', 'like', `${category.replace(/[\\%_]/g, (c) => `\\${c}`)}/%`),
      ]),
    );
  }
  if (filter.text !== undefined) {
    const pattern = literalLike(filter.text);
    query = query.where((eb) =>
      eb.or([eb('name', 'ilike', pattern), eb('description', 'ilike', pattern)]),
    );
  }
  if (filter.releaseFrom !== undefined)
    query = query.where('release_date', '>=', filter.releaseFrom);
  if (filter.releaseTo !== undefined) query = query.where('release_date', '<=', filter.releaseTo);
  if (filter.updatedSince !== undefined)
    query = query.where('updated_at', '>=', new Date(filter.updatedSince));
  if (filter.after !== undefined) query = query.where('id', '>', filter.after);
  const items = await query.execute();
  const offers = await listOffersOf(
    db,
    items.map((i) => i.id),
  );
  return items.map((item) => ({ item, offers: offers.filter((o) => o.item_id === item.id) }));
}

/** Every offer on these items, by seller. */
export async function listOffersOf(db: Db, itemIds: readonly string[]) {
  if (itemIds.length === 0) return [];
  return db
    .selectFrom('offers')
    .selectAll()
    .where('item_id', 'in', itemIds)
    .orderBy('seller_id')
    .execute();
}
