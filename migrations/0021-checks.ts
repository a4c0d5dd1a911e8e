import { sql, type Kysely } from 'kysely';

// The electronic-check order flow of seed 004: checks and the commodity orders they pay for.
// Every status column is text + CHECK, and every transition a compare-and-set on it.
export async function up(db: Kysely<unknown>): Promise<void> {
  //   issued ─order→ presented ─demand→ paid                      (release on-demand)
  //                            └demand→ demanded ─delivered→ paid (release on-delivery)
  //   issued ─expiry→ expired;  issued | presented ─operator→ voided
  await db.schema
    .createTable('checks')
    .addColumn('check_number', 'text', (c) => c.primaryKey())
    .addColumn('buyer_id', 'text', (c) => c.notNull().references('partners.id'))
    .addColumn('seller_id', 'text', (c) => c.notNull().references('partners.id'))
    .addColumn('carrier_id', 'text', (c) => c.notNull().references('partners.id'))
    .addColumn('deal_id', 'text', (c) => c.references('deals.id'))
    .addColumn('settlement_organ_id', 'text', (c) => c.references('partners.id'))
    .addColumn('amount_minor', 'bigint', (c) => c.notNull().check(sql`amount_minor > 0`))
    .addColumn('currency', 'text', (c) => c.notNull())
    .addColumn('commission_minor', 'bigint', (c) => c.notNull())
    // What the check pays for: [{ itemId, quantity, unitPriceMinor }] (list prices or the deal's).
    .addColumn('lines', 'jsonb', (c) => c.notNull())
    .addColumn('request_message_id', 'text', (c) => c.notNull())
    .addColumn('jws', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) =>
      c
        .notNull()
        .defaultTo('issued')
        .check(sql`status in ('issued','presented','demanded','paid','voided','expired')`),
    )
    .addColumn('issued_at', 'timestamptz', (c) => c.notNull())
    .addColumn('expires_at', 'timestamptz', (c) => c.notNull())
    .addColumn('presented_at', 'timestamptz')
    .addColumn('demanded_at', 'timestamptz')
    .addColumn('paid_at', 'timestamptz')
    .addColumn('closed_at', 'timestamptz')
    .addCheckConstraint(
      'checks_commission',
      sql`commission_minor >= 0 and commission_minor <= amount_minor`,
    )
    .addCheckConstraint('checks_expiry', sql`expires_at > issued_at`)
    .execute();
  // A deal is paid by one check at a time: another may be issued once the first is void or expired.
  await sql`create unique index checks_one_live_per_deal on checks (deal_id) where status in ('issued','presented','demanded','paid')`.execute(
    db,
  );
  await sql`create index checks_due on checks (expires_at) where status = 'issued'`.execute(db);
  await db.schema.createIndex('checks_buyer').on('checks').column('buyer_id').execute();

  //   ordered ─instruction→ instructed ─schedule→ scheduled ─complete→ delivered
  //                                   └────────────complete────────→ delivered
  await db.schema
    .createTable('commodity_orders')
    .addColumn('id', 'text', (c) => c.primaryKey())
    // One order per check: a check cannot pay twice, so it cannot be presented twice.
    .addColumn('check_number', 'text', (c) =>
      c.notNull().unique().references('checks.check_number'),
    )
    .addColumn('buyer_id', 'text', (c) => c.notNull().references('partners.id'))
    .addColumn('seller_id', 'text', (c) => c.notNull().references('partners.id'))
    .addColumn('carrier_id', 'text', (c) => c.notNull().references('partners.id'))
    .addColumn('deal_id', 'text', (c) => c.references('deals.id'))
    .addColumn('total_minor', 'bigint', (c) => c.notNull())
    .addColumn('currency', 'text', (c) => c.notNull())
    .addColumn('lines', 'jsonb', (c) => c.notNull())
    .addColumn('distribution_address', 'jsonb', (c) => c.notNull())
    .addColumn('order_reference', 'text')
    .addColumn('status', 'text', (c) =>
      c
        .notNull()
        .defaultTo('ordered')
        .check(sql`status in ('ordered','instructed','scheduled','delivered')`),
    )
    .addColumn('distribution_noticed_at', 'timestamptz')
    .addColumn('expected_ship_date', 'date')
    .addColumn('payment_noticed_at', 'timestamptz')
    .addColumn('instructed_at', 'timestamptz')
    .addColumn('delivery_date', 'date')
    .addColumn('window_start', 'timestamptz')
    .addColumn('window_end', 'timestamptz')
    .addColumn('last_delivery_status', 'text')
    .addColumn('last_delivery_status_at', 'timestamptz')
    .addColumn('delivered_at', 'timestamptz')
    .addColumn('received_by', 'text')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await db.schema
    .createIndex('commodity_orders_seller')
    .on('commodity_orders')
    .column('seller_id')
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('commodity_orders').execute();
  await db.schema.dropTable('checks').execute();
}
