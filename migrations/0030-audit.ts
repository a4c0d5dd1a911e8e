import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  // Sealing reads the log by transaction id, not by entry id: an id is drawn at insert time, so a
  // lower id may commit after a higher one was read, while every transaction below the snapshot
  // xmin has ended. Existing rows take the migration's own transaction id.
  await db.schema
    .alterTable('message_log')
    .addColumn('txid', sql`xid8`, (c) => c.notNull().defaultTo(sql`pg_current_xact_id()`))
    .execute();
  await db.schema.createIndex('message_log_txid').on('message_log').column('txid').execute();
  // Search and timelines look entries up by the gateway ids they concern.
  await sql`create index message_log_refs on message_log using gin (refs jsonb_path_ops)`.execute(
    db,
  );

  // Append-only, enforced by the database: the gateway only ever inserts, so an UPDATE, DELETE
  // or TRUNCATE is tampering (a superuser can still disable the trigger: the seals catch that).
  await sql`
    create function refuse_change() returns trigger language plpgsql as $$
    begin
      raise exception '% is append-only: % refused', tg_table_name, tg_op
        using errcode = 'insufficient_privilege';
    end
    $$`.execute(db);
  await appendOnly(db, 'message_log');

  // One row per seal: a range of the log sealed by the gateway key, chained to the seal before.
  await db.schema
    .createTable('audit_seals')
    .addColumn('seq', 'bigint', (c) => c.primaryKey().check(sql`seq > 0`))
    .addColumn('from_txid', sql`xid8`, (c) => c.notNull())
    .addColumn('to_txid', sql`xid8`, (c) => c.notNull())
    .addColumn('first_id', 'bigint', (c) => c.notNull())
    .addColumn('last_id', 'bigint', (c) => c.notNull())
    .addColumn('entry_count', 'integer', (c) => c.notNull().check(sql`entry_count > 0`))
    .addColumn('merkle_root', 'text', (c) => c.notNull())
    .addColumn('prev_hash', 'text', (c) => c.notNull())
    .addColumn('seal_hash', 'text', (c) => c.notNull().unique())
    .addColumn('key_id', 'text', (c) => c.notNull())
    .addColumn('signature', 'text', (c) => c.notNull())
    // (entry id, entry digest) of every sealed entry, 40 bytes each: names the entry that changed.
    .addColumn('leaves', 'bytea', (c) => c.notNull())
    .addColumn('sealed_at', 'timestamptz', (c) => c.notNull())
    .addCheckConstraint('audit_seals_range', sql`from_txid < to_txid and first_id <= last_id`)
    .execute();
  await appendOnly(db, 'audit_seals');
}

async function appendOnly(db: Kysely<unknown>, table: string): Promise<void> {
  await sql`
    create trigger ${sql.id(`${table}_append_only`)} before update or delete on ${sql.table(table)}
    for each row execute function refuse_change()`.execute(db);
  await sql`
    create trigger ${sql.id(`${table}_no_truncate`)} before truncate on ${sql.table(table)}
    for each statement execute function refuse_change()`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('audit_seals').execute();
  await sql`drop trigger message_log_append_only on message_log`.execute(db);
  await sql`drop trigger message_log_no_truncate on message_log`.execute(db);
  await sql`drop function refuse_change()`.execute(db);
  await db.schema.dropIndex('message_log_refs').execute();
  await db.schema.dropIndex('message_log_txid').execute();
  await db.schema.alterTable('message_log').dropColumn('txid').execute();
}
