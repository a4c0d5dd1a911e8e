import { sql, type Kysely, type Transaction } from 'kysely';
import type { Database } from '../../db/tables.ts';
import type { CanonicalDocument } from '../document.ts';
import { logRow, type LogEntry } from '../messages/message-log.repository.ts';

type Db = Kysely<Database> | Transaction<Database>;

export interface InboundRecord {
  digest: string;
  receipt: CanonicalDocument;
  logId: bigint;
}

export async function findInbound(
  db: Db,
  senderId: string,
  messageId: string,
): Promise<InboundRecord | undefined> {
  const row = await db
    .selectFrom('inbound_messages')
    .select(['digest', 'receipt', 'log_id'])
    .where('sender_id', '=', senderId)
    .where('message_id', '=', messageId)
    .executeTakeFirst();
  return row === undefined
    ? undefined
    : {
        digest: row.digest,
        receipt: row.receipt as unknown as CanonicalDocument,
        logId: row.log_id,
      };
}

/**
 * The accepted document's log entry, and the claim of (sender, messageId) holding its receipt, in
 * one statement (one round trip on the busiest path of the gateway). False when another
 * transaction holds or has committed the claim — the primary key makes a concurrent duplicate
 * wait here, then lose — and the caller must roll back.
 */
export async function logAndClaimInbound(
  trx: Transaction<Database>,
  done: {
    entry: LogEntry & { messageId: string; documentType: string; digest: string };
    receipt: CanonicalDocument;
  },
): Promise<boolean> {
  const row = await trx
    .with('logged', (db) => db.insertInto('message_log').values(logRow(done.entry)).returning('id'))
    .insertInto('inbound_messages')
    .columns(['sender_id', 'message_id', 'digest', 'document_type', 'log_id', 'receipt'])
    .expression((eb) =>
      eb
        .selectFrom('logged')
        .select([
          sql<string>`${done.entry.partnerId}::text`.as('sender_id'),
          sql<string>`${done.entry.messageId}::text`.as('message_id'),
          sql<string>`${done.entry.digest}::text`.as('digest'),
          sql<string>`${done.entry.documentType}::text`.as('document_type'),
          'logged.id as log_id',
          sql<string>`${JSON.stringify(done.receipt)}::jsonb`.as('receipt'),
        ]),
    )
    .onConflict((oc) => oc.columns(['sender_id', 'message_id']).doNothing())
    .returning('message_id')
    .executeTakeFirst();
  return row !== undefined;
}

/** The latest receipt for (sender, messageId): the accepted one, else the last rejection's. */
export async function findReceipt(
  db: Db,
  senderId: string,
  messageId: string,
): Promise<CanonicalDocument | undefined> {
  const accepted = await findInbound(db, senderId, messageId);
  if (accepted !== undefined) return accepted.receipt;
  const rejected = await db
    .selectFrom('message_log')
    .select('detail')
    .where('partner_id', '=', senderId)
    .where('message_id', '=', messageId)
    .where('direction', '=', 'inbound')
    .where('status', '=', 'rejected')
    .orderBy('id', 'desc')
    .limit(1)
    .executeTakeFirst();
  const receipt = (rejected?.detail as { receipt?: CanonicalDocument } | undefined)?.receipt;
  return receipt ?? undefined;
}
