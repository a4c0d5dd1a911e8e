import type { Kysely, Transaction } from 'kysely';
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
 * Take (sender, messageId) for this transaction. False when another transaction holds or has
 * committed it: the primary key makes concurrent duplicates wait here, then lose.
 */
export async function claimMessageId(
  trx: Transaction<Database>,
  claim: { senderId: string; messageId: string; digest: string; type: string },
): Promise<boolean> {
  const row = await trx
    .insertInto('inbound_messages')
    .values({
      sender_id: claim.senderId,
      message_id: claim.messageId,
      digest: claim.digest,
      document_type: claim.type,
      log_id: 0n,
      receipt: '{}',
    })
    .onConflict((oc) => oc.columns(['sender_id', 'message_id']).doNothing())
    .returning('message_id')
    .executeTakeFirst();
  return row !== undefined;
}

/**
 * The accepted document's log entry and its receipt on the idempotency row, in one statement (one
 * round trip on the busiest path of the gateway).
 */
export async function logAndCompleteInbound(
  trx: Transaction<Database>,
  done: { entry: LogEntry; receipt: CanonicalDocument },
): Promise<void> {
  await trx
    .with('logged', (db) => db.insertInto('message_log').values(logRow(done.entry)).returning('id'))
    .updateTable('inbound_messages')
    .set((eb) => ({
      log_id: eb.selectFrom('logged').select('logged.id'),
      receipt: JSON.stringify(done.receipt),
    }))
    .where('sender_id', '=', done.entry.partnerId)
    .where('message_id', '=', done.entry.messageId ?? '')
    .execute();
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
