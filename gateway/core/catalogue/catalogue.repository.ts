import { sql, type Kysely, type Transaction } from 'kysely';
import { anyImmediateSubscriberSql } from '../feeds/feeds.repository.ts';
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

/**
 * A new item — only with a release date still ahead (the database clock): one statement, which
 * also says whether any buyer wants to hear of it at once. Undefined when the date has passed.
 */
export async function insertItem(
  db: Db,
  item: ItemFields & { id: string; createdBy: string },
): Promise<{ immediateSubscribers: boolean } | undefined> {
  const row = await db
    .insertInto('items')
    .columns([
      'id',
      'gtin',
      'name',
      'description',
      'category',
      'release_date',
      'attributes',
      'created_by',
    ])
    .expression(
      db
        .selectNoFrom([
          sql<string>`${item.id}::text`.as('id'),
          sql<string | null>`${item.gtin}::text`.as('gtin'),
          sql<string>`${item.name}::text`.as('name'),
          sql<string | null>`${item.description}::text`.as('description'),
          sql<string>`${item.category}::text`.as('category'),
          sql<string>`${item.releaseDate}::date`.as('release_date'),
          sql<string>`${JSON.stringify(item.attributes)}::jsonb`.as('attributes'),
          sql<string>`${item.createdBy}::text`.as('created_by'),
        ])
        .where(sql<boolean>`${item.releaseDate}::date > current_date`),
    )
    .returning(sql.raw<boolean>(anyImmediateSubscriberSql('items')).as('immediate_subscribers'))
    .executeTakeFirst();
  return row === undefined ? undefined : { immediateSubscribers: row.immediate_subscribers };
}

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

/** A seller's offer; `itemIsNew`: the item was inserted by this transaction (already changed). */
export async function insertOffer(
  db: Db,
  offer: OfferFields & { itemId: string; sellerId: string; sellerItemId: string },
  itemIsNew = false,
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
  if (!itemIsNew) await touchItem(db, offer.itemId);
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
