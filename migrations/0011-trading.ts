import { sql, type Kysely } from 'kysely';

// The trading flow of seed 000: purchase reservations, order bids, deals, settlement and
// transport tenders, feed subscriptions. Every status column is text + CHECK, and every transition
// is a compare-and-set on it.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('reservations')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('buyer_id', 'text', (c) => c.notNull().references('partners.id'))
    .addColumn('item_id', 'text', (c) => c.notNull().references('items.id'))
    .addColumn('quantity', 'integer', (c) => c.notNull().check(sql`quantity > 0`))
    .addColumn('max_unit_price_minor', 'bigint', (c) =>
      c.notNull().check(sql`max_unit_price_minor >= 0`),
    )
    .addColumn('currency', 'text', (c) => c.notNull())
    .addColumn('needed_by', 'date', (c) => c.notNull())
    .addColumn('bidding_deadline', 'timestamptz', (c) => c.notNull())
    .addColumn('delivery_region', 'text')
    .addColumn('buyer_reference', 'text')
    .addColumn('status', 'text', (c) =>
      c
        .notNull()
        .defaultTo('open')
        .check(sql`status in ('open','awarded','confirmed','no-award')`),
    )
    .addColumn('change_txid', sql`xid8`, (c) => c.notNull().defaultTo(sql`pg_current_xact_id()`))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('judged_at', 'timestamptz')
    .execute();
  await sql`create index reservations_due on reservations (bidding_deadline) where status = 'open'`.execute(
    db,
  );
  await db.schema.createIndex('reservations_item').on('reservations').column('item_id').execute();
  await db.schema
    .createIndex('reservations_change')
    .on('reservations')
    .column('change_txid')
    .execute();

  await db.schema
    .createTable('bids')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('reservation_id', 'text', (c) => c.notNull().references('reservations.id'))
    .addColumn('seller_id', 'text', (c) => c.notNull().references('partners.id'))
    .addColumn('version', 'integer', (c) => c.notNull().defaultTo(1))
    .addColumn('status', 'text', (c) =>
      c
        .notNull()
        .defaultTo('active')
        .check(
          sql`status in ('active','withdrawn','selected','not-selected','ineligible','declined','lapsed')`,
        ),
    )
    .addColumn('unit_price_minor', 'bigint', (c) => c.notNull().check(sql`unit_price_minor >= 0`))
    .addColumn('currency', 'text', (c) => c.notNull())
    .addColumn('quantity', 'integer', (c) => c.notNull().check(sql`quantity > 0`))
    .addColumn('promised_delivery_date', 'date', (c) => c.notNull())
    .addColumn('note', 'text')
    .addColumn('received_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addUniqueConstraint('bids_one_per_seller', ['reservation_id', 'seller_id'])
    .execute();

  // A deal: the award of one bid. At most one live deal (awarded or confirmed) per reservation;
  // a declined or lapsed deal makes way for the next eligible bid.
  await db.schema
    .createTable('deals')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('reservation_id', 'text', (c) => c.notNull().references('reservations.id'))
    .addColumn('bid_id', 'text', (c) => c.notNull().unique().references('bids.id'))
    .addColumn('buyer_id', 'text', (c) => c.notNull().references('partners.id'))
    .addColumn('seller_id', 'text', (c) => c.notNull().references('partners.id'))
    .addColumn('item_id', 'text', (c) => c.notNull().references('items.id'))
    .addColumn('quantity', 'integer', (c) => c.notNull())
    .addColumn('unit_price_minor', 'bigint', (c) => c.notNull())
    .addColumn('currency', 'text', (c) => c.notNull())
    .addColumn('total_minor', 'bigint', (c) => c.notNull())
    .addColumn('commission_minor', 'bigint', (c) => c.notNull())
    .addColumn('commission_rate_percent', 'text', (c) => c.notNull())
    .addColumn('promised_delivery_date', 'date', (c) => c.notNull())
    .addColumn('confirm_by', 'timestamptz', (c) => c.notNull())
    .addColumn('buyer_decision', 'text', (c) =>
      c.check(sql`buyer_decision in ('accept','decline')`),
    )
    .addColumn('seller_decision', 'text', (c) =>
      c.check(sql`seller_decision in ('accept','decline')`),
    )
    .addColumn('status', 'text', (c) =>
      c
        .notNull()
        .defaultTo('awarded')
        .check(sql`status in ('awarded','confirmed','declined','lapsed')`),
    )
    .addColumn('settlement_organ_id', 'text', (c) => c.references('partners.id'))
    .addColumn('carrier_id', 'text', (c) => c.references('partners.id'))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('confirmed_at', 'timestamptz')
    .execute();
  await sql`create unique index deals_one_live on deals (reservation_id) where status in ('awarded','confirmed')`.execute(
    db,
  );
  await sql`create index deals_confirm_due on deals (confirm_by) where status = 'awarded'`.execute(
    db,
  );

  await db.schema
    .createTable('tenders')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('deal_id', 'text', (c) => c.notNull().references('deals.id'))
    .addColumn('kind', 'text', (c) => c.notNull().check(sql`kind in ('settlement','transport')`))
    .addColumn('terms_deadline', 'timestamptz', (c) => c.notNull())
    .addColumn('status', 'text', (c) =>
      c
        .notNull()
        .defaultTo('open')
        .check(sql`status in ('open','awarded','no-terms')`),
    )
    .addColumn('winner_id', 'text', (c) => c.references('partners.id'))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('judged_at', 'timestamptz')
    .addUniqueConstraint('tenders_one_per_kind', ['deal_id', 'kind'])
    .execute();
  await sql`create index tenders_due on tenders (terms_deadline) where status = 'open'`.execute(db);

  await db.schema
    .createTable('tender_invitations')
    .addColumn('tender_id', 'text', (c) => c.notNull().references('tenders.id'))
    .addColumn('organ_id', 'text', (c) => c.notNull().references('partners.id'))
    .addPrimaryKeyConstraint('tender_invitations_pk', ['tender_id', 'organ_id'])
    .execute();

  await db.schema
    .createTable('tender_terms')
    .addColumn('tender_id', 'text', (c) => c.notNull().references('tenders.id'))
    .addColumn('organ_id', 'text', (c) => c.notNull().references('partners.id'))
    .addColumn('version', 'integer', (c) => c.notNull().defaultTo(1))
    .addColumn('cost_minor', 'bigint', (c) => c.notNull().check(sql`cost_minor >= 0`))
    .addColumn('currency', 'text', (c) => c.notNull())
    .addColumn('fixed_fee_minor', 'bigint')
    .addColumn('rate_percent', 'text')
    .addColumn('settlement_days', 'integer')
    .addColumn('pickup_date', 'date')
    .addColumn('delivery_date', 'date')
    .addColumn('note', 'text')
    .addColumn('received_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('tender_terms_pk', ['tender_id', 'organ_id'])
    .execute();

  // Feed subscriptions: "regularly" (a cron schedule) or "not-regularly" (immediately). The cursor
  // is a transaction-id watermark, not a sequence number: a feed run reads the changes of
  // transactions in [cursor, xmin of its snapshot) — all finished, all visible — and moves the
  // cursor to that xmin. A sequence would skip a change whose transaction drew a lower number but
  // committed after a higher one had already been read.
  await db.schema
    .createTable('feed_subscriptions')
    .addColumn('partner_id', 'text', (c) => c.notNull().references('partners.id'))
    .addColumn('feed', 'text', (c) => c.notNull().check(sql`feed in ('items','reservations')`))
    .addColumn('mode', 'text', (c) => c.notNull().check(sql`mode in ('scheduled','immediate')`))
    .addColumn('schedule', 'text')
    .addColumn('categories', sql`text[]`, (c) => c.notNull().defaultTo(sql`'{}'::text[]`))
    .addColumn('regions', sql`text[]`, (c) => c.notNull().defaultTo(sql`'{}'::text[]`))
    .addColumn('cursor', sql`xid8`, (c) => c.notNull().defaultTo(sql`'0'::xid8`))
    .addColumn('last_sent_at', 'timestamptz')
    .addPrimaryKeyConstraint('feed_subscriptions_pk', ['partner_id', 'feed'])
    .addCheckConstraint(
      'feed_subscriptions_schedule',
      sql`mode = 'immediate' or schedule is not null`,
    )
    .execute();

  // The transaction that last changed an item (or any of its offers), for the feed cursors.
  await db.schema
    .alterTable('items')
    .addColumn('change_txid', sql`xid8`, (c) => c.notNull().defaultTo(sql`pg_current_xact_id()`))
    .execute();
  await db.schema.createIndex('items_change').on('items').column('change_txid').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('items').dropColumn('change_txid').execute();
  for (const table of [
    'feed_subscriptions',
    'tender_terms',
    'tender_invitations',
    'tenders',
    'deals',
    'bids',
    'reservations',
  ]) {
    await db.schema.dropTable(table).execute();
  }
}
