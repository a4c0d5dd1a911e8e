import { sql, type Kysely } from 'kysely';

// Partner formats (issue 11): a partner reads and writes its own format per direction, and is
// known by identifier aliases (UBL EndpointID / PartyIdentification / names) besides its id.
export async function up(db: Kysely<unknown>): Promise<void> {
  // `format` stays what the partner receives (now xml | json | ubl); `inbound_format` is what it
  // sends: for ubl, application/xml is UBL; csv adds CSV catalogues. Existing partners keep
  // sending what they received.
  await sql`alter table partners drop constraint partners_format_check`.execute(db);
  await sql`alter table partners add constraint partners_format_check check (format in ('xml','json','ubl'))`.execute(
    db,
  );
  await db.schema
    .alterTable('partners')
    .addColumn('inbound_format', 'text', (c) =>
      c
        .notNull()
        .defaultTo('json')
        .check(sql`inbound_format in ('xml','json','ubl','csv')`),
    )
    .execute();
  await sql`update partners set inbound_format = format`.execute(db);

  await sql`alter table outbox drop constraint outbox_format_check`.execute(db);
  await sql`alter table outbox add constraint outbox_format_check check (format in ('xml','json','ubl'))`.execute(
    db,
  );

  // One identifier names one partner; a partner may have many. Schemes are stored upper-case,
  // names lower-case with single spaces (core/partners/identification.ts), so lookups are exact.
  await db.schema
    .createTable('partner_identifiers')
    .addColumn('scheme', 'text', (c) => c.notNull())
    .addColumn('value', 'text', (c) => c.notNull())
    .addColumn('partner_id', 'text', (c) => c.notNull().references('partners.id'))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('partner_identifiers_pk', ['scheme', 'value'])
    .execute();
  await db.schema
    .createIndex('partner_identifiers_partner')
    .on('partner_identifiers')
    .column('partner_id')
    .execute();

  // Item aliases are the catalogue's own (offers' seller item ids, items' GTINs: both indexed).
  // UBL documents refer to orders by the buyer's order number and to reservations by the RFQ id.
  await db.schema
    .createIndex('commodity_orders_reference')
    .on('commodity_orders')
    .column('order_reference')
    .execute();
  await db.schema
    .createIndex('reservations_buyer_reference')
    .on('reservations')
    .columns(['buyer_reference', 'item_id'])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex('reservations_buyer_reference').execute();
  await db.schema.dropIndex('commodity_orders_reference').execute();
  await db.schema.dropTable('partner_identifiers').execute();
  await sql`alter table outbox drop constraint outbox_format_check`.execute(db);
  await sql`alter table outbox add constraint outbox_format_check check (format in ('xml','json'))`.execute(
    db,
  );
  await db.schema.alterTable('partners').dropColumn('inbound_format').execute();
  await sql`alter table partners drop constraint partners_format_check`.execute(db);
  await sql`alter table partners add constraint partners_format_check check (format in ('xml','json'))`.execute(
    db,
  );
}
