import { sql, type Kysely } from 'kysely';

// Migrations use Kysely<unknown>: they describe the schema as it was then, never today's types.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('partners')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('roles', sql`text[]`, (c) =>
      c
        .notNull()
        .check(
          sql`roles <@ array['seller','buyer','settlement','carrier']::text[] and cardinality(roles) > 0`,
        ),
    )
    .addColumn('status', 'text', (c) =>
      c
        .notNull()
        .defaultTo('active')
        .check(sql`status in ('active','suspended')`),
    )
    .addColumn('format', 'text', (c) =>
      c
        .notNull()
        .defaultTo('json')
        .check(sql`format in ('xml','json')`),
    )
    .addColumn('delivery_mode', 'text', (c) =>
      c
        .notNull()
        .defaultTo('mailbox')
        .check(sql`delivery_mode in ('push','mailbox','file')`),
    )
    .addColumn('endpoint_url', 'text')
    .addColumn('signing_secret', 'text', (c) => c.notNull())
    .addColumn('require_signed_requests', 'boolean', (c) => c.notNull().defaultTo(false))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addCheckConstraint(
      'partners_push_needs_endpoint',
      sql`delivery_mode <> 'push' or endpoint_url is not null`,
    )
    .execute();

  await db.schema
    .createTable('partner_api_keys')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('partner_id', 'text', (c) => c.notNull().references('partners.id'))
    .addColumn('key_hash', 'text', (c) => c.notNull().unique())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('revoked_at', 'timestamptz')
    .execute();
  await db.schema
    .createIndex('partner_api_keys_partner')
    .on('partner_api_keys')
    .column('partner_id')
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('partner_api_keys').execute();
  await db.schema.dropTable('partners').execute();
}
