import type { Kysely, Transaction } from 'kysely';
import { namedStatement } from '../../db/prepared.ts';
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
 *
 * Written as SQL text, not built, and prepared once per session (db/prepared.ts): every accepted
 * document runs it, and building it with the query builder cost more CPU than anything else the
 * pipeline does per document. Its columns are checked by the tests that read what it wrote.
 */
export async function logAndClaimInbound(
  trx: Transaction<Database>,
  done: {
    entry: LogEntry & { messageId: string; documentType: string; digest: string };
    receipt: CanonicalDocument;
  },
): Promise<boolean> {
  const row = logRow(done.entry);
  const { rows } = await trx.executeQuery(
    logAndClaim([
      row.direction,
      row.event,
      row.partner_id,
      row.message_id,
      row.document_type,
      row.status,
      row.content_type,
      row.body,
      row.digest,
      row.refs,
      row.detail,
      row.request_id,
      JSON.stringify(done.receipt),
    ]),
  );
  return rows.length === 1;
}

const logAndClaim = namedStatement(
  'log_and_claim_inbound',
  `with logged as (
  insert into message_log (direction, event, partner_id, message_id, document_type, status,
    content_type, body, digest, refs, detail, request_id)
  values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
  returning id)
insert into inbound_messages (sender_id, message_id, digest, document_type, log_id, receipt)
select $3, $4, $9, $5, logged.id, $13::jsonb from logged
on conflict (sender_id, message_id) do nothing
returning message_id`,
);

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
