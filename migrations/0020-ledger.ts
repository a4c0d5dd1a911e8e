import { sql, type Kysely } from 'kysely';

// The account database of seed 004: accounts, double-entry transfers and holds. Money is bigint
// minor units throughout. Sign convention: an entry's amount is what it adds to its account
// (+ credit, − debit), so the entries of every transfer sum to zero, and so do all entries.
export async function up(db: Kysely<unknown>): Promise<void> {
  // One account per (partner, currency); the gateway's own accounts — the intermediary's
  // revenue and the external funding source of each currency — have no partner.
  await db.schema
    .createTable('accounts')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('kind', 'text', (c) =>
      c.notNull().check(sql`kind in ('partner','revenue','external')`),
    )
    .addColumn('partner_id', 'text', (c) => c.references('partners.id'))
    .addColumn('currency', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) =>
      c
        .notNull()
        .defaultTo('active')
        .check(sql`status in ('active','suspended')`),
    )
    .addColumn('balance_minor', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('credit_limit_minor', 'bigint', (c) =>
      c
        .notNull()
        .defaultTo(0)
        .check(sql`credit_limit_minor >= 0`),
    )
    .addColumn('held_minor', 'bigint', (c) =>
      c
        .notNull()
        .defaultTo(0)
        .check(sql`held_minor >= 0`),
    )
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addCheckConstraint('accounts_owner', sql`(kind = 'partner') = (partner_id is not null)`)
    // The ledger's invariant, held by the database itself whatever the code does: no account
    // below −credit limit once its holds are counted. The external source alone goes negative.
    .addCheckConstraint(
      'accounts_within_credit',
      sql`kind = 'external' or balance_minor + credit_limit_minor - held_minor >= 0`,
    )
    .execute();
  await sql`create unique index accounts_partner on accounts (partner_id, currency) where kind = 'partner'`.execute(
    db,
  );
  await sql`create unique index accounts_gateway on accounts (kind, currency) where kind <> 'partner'`.execute(
    db,
  );

  // A transfer is one business event (a funding, a payment); its entries are its legs.
  await db.schema
    .createTable('ledger_transfers')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('kind', 'text', (c) => c.notNull().check(sql`kind in ('funding','payment')`))
    .addColumn('reference', 'text')
    .addColumn('currency', 'text', (c) => c.notNull())
    .addColumn('amount_minor', 'bigint', (c) => c.notNull().check(sql`amount_minor > 0`))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  // A check is paid once, a funding reference is used once: held by the database, not by luck.
  await sql`create unique index ledger_transfers_reference on ledger_transfers (kind, reference) where reference is not null`.execute(
    db,
  );

  await db.schema
    .createTable('ledger_entries')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('transfer_id', 'text', (c) => c.notNull().references('ledger_transfers.id'))
    .addColumn('account_id', 'text', (c) => c.notNull().references('accounts.id'))
    .addColumn('amount_minor', 'bigint', (c) => c.notNull().check(sql`amount_minor <> 0`))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await db.schema
    .createIndex('ledger_entries_account')
    .on('ledger_entries')
    .columns(['account_id', 'id'])
    .execute();
  await db.schema
    .createIndex('ledger_entries_transfer')
    .on('ledger_entries')
    .column('transfer_id')
    .execute();

  // A hold reserves part of an account's available funds for one reference (a check number)
  // until it is captured by a payment or released. accounts.held_minor is the sum of the held ones.
  await db.schema
    .createTable('holds')
    .addColumn('reference', 'text', (c) => c.primaryKey())
    .addColumn('account_id', 'text', (c) => c.notNull().references('accounts.id'))
    .addColumn('amount_minor', 'bigint', (c) => c.notNull().check(sql`amount_minor > 0`))
    .addColumn('status', 'text', (c) =>
      c
        .notNull()
        .defaultTo('held')
        .check(sql`status in ('held','captured','released')`),
    )
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('settled_at', 'timestamptz')
    .execute();
  await sql`create index holds_account on holds (account_id) where status = 'held'`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const table of ['holds', 'ledger_entries', 'ledger_transfers', 'accounts']) {
    await db.schema.dropTable(table).execute();
  }
}
