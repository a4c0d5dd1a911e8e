import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  // Public keys the gateway has signed with, for the JWKS. Private keys never enter the database.
  await db.schema
    .createTable('signing_keys')
    .addColumn('key_id', 'text', (c) => c.primaryKey())
    .addColumn('public_jwk', 'jsonb', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();

  // Signed requests already seen: a Standard Webhooks id is accepted once per partner. Rows older
  // than the 5-minute timestamp tolerance are useless (the timestamp check refuses those) and purged.
  await db.schema
    .createTable('request_signatures')
    .addColumn('partner_id', 'text', (c) => c.notNull())
    .addColumn('webhook_id', 'text', (c) => c.notNull())
    .addColumn('seen_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('request_signatures_pk', ['partner_id', 'webhook_id'])
    .execute();
  await db.schema
    .createIndex('request_signatures_seen')
    .on('request_signatures')
    .column('seen_at')
    .execute();

  // The catalogue: an item is a product, possibly carried by several sellers; each carrying seller
  // has its own offer and may revise only that.
  await db.schema
    .createTable('items')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('gtin', 'text', (c) => c.unique())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('description', 'text')
    .addColumn('category', 'text', (c) => c.notNull())
    .addColumn('release_date', 'date', (c) => c.notNull())
    .addColumn('attributes', 'jsonb', (c) => c.notNull().defaultTo(sql`'[]'::jsonb`))
    .addColumn('created_by', 'text', (c) => c.notNull().references('partners.id'))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await db.schema.createIndex('items_category').on('items').column('category').execute();
  await db.schema.createIndex('items_updated').on('items').column('updated_at').execute();

  await db.schema
    .createTable('offers')
    .addColumn('item_id', 'text', (c) => c.notNull().references('items.id'))
    .addColumn('seller_id', 'text', (c) => c.notNull().references('partners.id'))
    .addColumn('seller_item_id', 'text', (c) => c.notNull())
    .addColumn('list_price_minor', 'bigint', (c) => c.notNull().check(sql`list_price_minor >= 0`))
    .addColumn('currency', 'text', (c) => c.notNull())
    .addColumn('quantity_available', 'integer', (c) =>
      c.notNull().check(sql`quantity_available >= 0`),
    )
    .addColumn('regions', sql`text[]`, (c) => c.notNull().defaultTo(sql`'{}'::text[]`))
    .addColumn('version', 'integer', (c) => c.notNull().defaultTo(1))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('offers_pk', ['item_id', 'seller_id'])
    .addUniqueConstraint('offers_seller_item', ['seller_id', 'seller_item_id'])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('offers').execute();
  await db.schema.dropTable('items').execute();
  await db.schema.dropTable('request_signatures').execute();
  await db.schema.dropTable('signing_keys').execute();
}
