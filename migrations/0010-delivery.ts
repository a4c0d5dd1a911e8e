import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  // A partner endpoint that answered 410 Gone is switched off until an operator sets an endpoint
  // again; its documents stay pending meanwhile (nothing is lost, nothing is pushed).
  await db.schema.alterTable('partners').addColumn('endpoint_disabled_at', 'timestamptz').execute();

  // When the current delivery cycle began: the maximum age of a delivery counts from here, so a
  // replayed dead letter gets a full cycle again while created_at keeps the document's own age.
  await db.schema
    .alterTable('outbox')
    .addColumn('queued_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await sql`update outbox set queued_at = created_at`.execute(db);

  // The claim walks each recipient's due rows in order; the reaper finds expired leases.
  await sql`create index outbox_claim on outbox (recipient_id, next_attempt_at, id) where status = 'pending'`.execute(
    db,
  );
  await sql`create index outbox_leases on outbox (lease_until) where status = 'delivering'`.execute(
    db,
  );
  // Pruning old run records.
  await db.schema.createIndex('job_runs_started').on('job_runs').column('started_at').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex('job_runs_started').execute();
  await db.schema.dropIndex('outbox_leases').execute();
  await db.schema.dropIndex('outbox_claim').execute();
  await db.schema.alterTable('outbox').dropColumn('queued_at').execute();
  await db.schema.alterTable('partners').dropColumn('endpoint_disabled_at').execute();
}
