import type { Kysely, Transaction } from 'kysely';
import { jsonRows, namedStatement, packBytes } from '../../db/prepared.ts';
import type { Database } from '../../db/tables.ts';
import type { CanonicalDocument } from '../document.ts';

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

/** An accepted document's log entry and the claim of its (sender, messageId). */
export interface InboundClaim {
  sender: string;
  messageId: string;
  documentType: string;
  contentType: string;
  body: Uint8Array;
  digest: string;
  /** Gateway ids the document concerns, for search. */
  refs: Record<string, string>;
  detail?: unknown;
  requestId?: string;
  receipt: CanonicalDocument;
}

/**
 * The accepted documents' log entries (in order), and the claims of their (sender, messageId)
 * holding their receipts, all in one statement: one round trip for a group-committed batch, on
 * the busiest path of the gateway. Resolves, in order, to whether each claim was won: false when
 * another transaction holds or has committed it (the primary key makes a concurrent duplicate
 * wait here, then lose), or an earlier document of the same call took it — and the caller must
 * roll back.
 *
 * Written as SQL text, not built, and prepared once per session (db/prepared.ts): building it
 * with the query builder cost more CPU than anything else the pipeline does per document. The
 * documents go as one JSON array and their bodies as one bytea, so the text is the same however
 * many there are. Its columns are checked by the tests that read what it wrote.
 */
export async function logAndClaimInbound(
  trx: Transaction<Database>,
  claims: readonly InboundClaim[],
): Promise<boolean[]> {
  if (claims.length === 0) return [];
  const bodies = packBytes(claims.map((c) => c.body));
  const documents = claims.map((c, i) => ({
    sender_id: c.sender,
    message_id: c.messageId,
    document_type: c.documentType,
    content_type: c.contentType,
    ...bodies.slices[i],
    digest: c.digest,
    refs: c.refs,
    detail: c.detail ?? null,
    request_id: c.requestId ?? null,
    receipt: c.receipt,
  }));
  const { rows } = await trx.executeQuery<{ n: number }>(
    logAndClaim([jsonRows(documents), bodies.bytes]),
  );
  const won = new Set(rows.map((row) => Number(row.n)));
  return claims.map((_, i) => won.has(i + 1));
}

// Entry ids are drawn in the order of n (the insert reads the documents sorted by it), so the
// n-th id of this statement is the n-th document's entry.
const logAndClaim = namedStatement(
  'log_and_claim_inbound',
  `with documents as (
  select * from rows from (json_to_recordset($1::json) as (sender_id text, message_id text,
    document_type text, content_type text, body_at int, body_length int, digest text, refs jsonb,
    detail jsonb, request_id text, receipt jsonb))
  with ordinality as d(sender_id, message_id, document_type, content_type, body_at, body_length,
    digest, refs, detail, request_id, receipt, n)),
logged as (
  insert into message_log (direction, event, partner_id, message_id, document_type, status,
    content_type, body, digest, refs, detail, request_id)
  select 'inbound', 'received', sender_id, message_id, document_type, 'accepted', content_type,
    substring($2::bytea from body_at + 1 for body_length), digest, refs, detail, request_id
  from documents order by n
  returning id),
numbered as (select id, row_number() over (order by id) as n from logged),
claimed as (
  insert into inbound_messages (sender_id, message_id, digest, document_type, log_id, receipt)
  select d.sender_id, d.message_id, d.digest, d.document_type, numbered.id, d.receipt
  from documents d join numbered using (n) order by n
  on conflict (sender_id, message_id) do nothing
  returning log_id)
select numbered.n::int as n from numbered join claimed on claimed.log_id = numbered.id`,
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
