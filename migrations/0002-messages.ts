import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  // The message log: every document in and out, every rejection and every delivery attempt,
  // with its raw bytes and their SHA-256. Append-only: entries are never updated or deleted.
  await db.schema
    .createTable('message_log')
    .addColumn('id', 'bigint', (c) => c.primaryKey().generatedAlwaysAsIdentity())
    .addColumn('logged_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('direction', 'text', (c) =>
      c.notNull().check(sql`direction in ('inbound','outbound')`),
    )
    .addColumn('event', 'text', (c) =>
      c
        .notNull()
        .check(
          sql`event in ('received','queued','delivery-attempt','acknowledged','dead-lettered','replayed')`,
        ),
    )
    .addColumn('partner_id', 'text', (c) => c.notNull())
    .addColumn('message_id', 'text')
    .addColumn('document_type', 'text')
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('content_type', 'text')
    .addColumn('body', 'bytea')
    .addColumn('digest', 'text')
    .addColumn('refs', 'jsonb', (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
    .addColumn('detail', 'jsonb')
    .addColumn('request_id', 'text')
    .execute();
  await db.schema
    .createIndex('message_log_partner_message')
    .on('message_log')
    .columns(['partner_id', 'message_id'])
    .execute();
  await db.schema
    .createIndex('message_log_logged_at')
    .on('message_log')
    .column('logged_at')
    .execute();

  // Idempotency: one row per accepted inbound document, keyed by (sender, messageId). The same
  // bytes again get this receipt back; other bytes under the same key are refused with 409.
  await db.schema
    .createTable('inbound_messages')
    .addColumn('sender_id', 'text', (c) => c.notNull())
    .addColumn('message_id', 'text', (c) => c.notNull())
    .addColumn('digest', 'text', (c) => c.notNull())
    .addColumn('document_type', 'text', (c) => c.notNull())
    .addColumn('log_id', 'bigint', (c) => c.notNull())
    .addColumn('receipt', 'jsonb', (c) => c.notNull())
    .addColumn('received_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('inbound_messages_pk', ['sender_id', 'message_id'])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('inbound_messages').execute();
  await db.schema.dropTable('message_log').execute();
}
