import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  // The transactional outbox: each outbound document, rendered for its recipient, written in the
  // transaction of the effect that caused it, with its delivery state on the same row
  // (retry, backoff and dead letter are data, as in pg-boss).
  await db.schema
    .createTable('outbox')
    .addColumn('id', 'bigint', (c) => c.primaryKey().generatedAlwaysAsIdentity())
    .addColumn('message_id', 'text', (c) => c.notNull().unique())
    .addColumn('recipient_id', 'text', (c) => c.notNull().references('partners.id'))
    .addColumn('document_type', 'text', (c) => c.notNull())
    .addColumn('format', 'text', (c) => c.notNull().check(sql`format in ('xml','json')`))
    .addColumn('content_type', 'text', (c) => c.notNull())
    .addColumn('body', 'bytea', (c) => c.notNull())
    .addColumn('digest', 'text', (c) => c.notNull())
    .addColumn('refs', 'jsonb', (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('status', 'text', (c) =>
      c
        .notNull()
        .defaultTo('pending')
        .check(sql`status in ('pending','delivering','delivered','dead')`),
    )
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('next_attempt_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('lease_until', 'timestamptz')
    .addColumn('leased_by', 'text')
    .addColumn('last_error', 'text')
    .addColumn('delivered_at', 'timestamptz')
    .addColumn('dead_at', 'timestamptz')
    .execute();
  // The worker's claim scans due pending rows; the mailbox reads a partner's pending rows in order.
  await sql`create index outbox_due on outbox (next_attempt_at) where status in ('pending','delivering')`.execute(
    db,
  );
  await sql`create index outbox_recipient on outbox (recipient_id, id) where status = 'pending'`.execute(
    db,
  );
  await sql`create index outbox_dead on outbox (recipient_id, dead_at) where status = 'dead'`.execute(
    db,
  );

  // Every run of every scheduled job. A cron tick is (job, slot): the unique key is the tick
  // guard, so each tick runs once across any number of gateway processes.
  await db.schema
    .createTable('job_runs')
    .addColumn('id', 'bigint', (c) => c.primaryKey().generatedAlwaysAsIdentity())
    .addColumn('job', 'text', (c) => c.notNull())
    .addColumn('slot', 'timestamptz', (c) => c.notNull())
    .addColumn('instance', 'text', (c) => c.notNull())
    .addColumn('started_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('finished_at', 'timestamptz')
    .addColumn('outcome', 'text', (c) =>
      c
        .notNull()
        .defaultTo('running')
        .check(sql`outcome in ('running','ok','failed','skipped')`),
    )
    .addColumn('counts', 'jsonb', (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
    .addColumn('error', 'text')
    .addUniqueConstraint('job_runs_tick', ['job', 'slot'])
    .execute();

  // No job overlaps itself: a run holds its job's lease, renewed while it runs; a crashed
  // process's lease simply expires.
  await db.schema
    .createTable('job_leases')
    .addColumn('job', 'text', (c) => c.primaryKey())
    .addColumn('holder', 'text', (c) => c.notNull())
    .addColumn('lease_until', 'timestamptz', (c) => c.notNull())
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('job_leases').execute();
  await db.schema.dropTable('job_runs').execute();
  await db.schema.dropTable('outbox').execute();
}
