/**
 * The message log: append-only evidence of every document in and out, every rejection and every
 * delivery attempt, with the raw bytes and their SHA-256. This module only ever inserts.
 */
import type { Kysely, Transaction } from 'kysely';
import { jsonRows, namedStatement, packBytes } from '../../db/prepared.ts';
import type { Database, LogDirection, LogEvent } from '../../db/tables.ts';

type Db = Kysely<Database> | Transaction<Database>;

export interface LogEntry {
  direction: LogDirection;
  event: LogEvent;
  /** Sender of an inbound document, recipient of an outbound one. */
  partnerId: string;
  messageId?: string | null;
  documentType?: string | null;
  /** accepted | rejected for inbound; queued | delivered | retry | failed | dead … for outbound. */
  status: string;
  contentType?: string | null;
  body?: Uint8Array | null;
  digest?: string | null;
  /** Gateway ids the entry concerns (itemId, reservationId, dealId, checkNumber …), for search. */
  refs?: Record<string, string>;
  detail?: unknown;
  requestId?: string | null;
}

export async function appendLog(db: Db, entry: LogEntry): Promise<bigint> {
  const [id] = await appendLogs(db, [entry]);
  return id!;
}

/**
 * Several entries in one statement, in order (busy paths: one round trip for a batch); resolves to
 * their ids, in the same order. SQL text, not built, and prepared (db/prepared.ts): the entries go
 * as one JSON array and their bodies as one bytea, so the text is the same however many there are.
 */
export async function appendLogs(db: Db, entries: readonly LogEntry[]): Promise<bigint[]> {
  if (entries.length === 0) return [];
  const bodies = packBytes(entries.map((e) => e.body));
  const rows = entries.map((entry, i) => ({
    direction: entry.direction,
    event: entry.event,
    partner_id: entry.partnerId,
    message_id: entry.messageId ?? null,
    document_type: entry.documentType ?? null,
    status: entry.status,
    content_type: entry.contentType ?? null,
    ...bodies.slices[i],
    digest: entry.digest ?? null,
    refs: entry.refs ?? {},
    detail: entry.detail ?? null,
    request_id: entry.requestId ?? null,
  }));
  const { rows: logged } = await db.executeQuery<{ id: bigint }>(
    appendLogsStatement([jsonRows(rows), bodies.bytes]),
  );
  return logged.map((row) => row.id);
}

// Entry ids are drawn in the order of n: the entries are logged in the order given.
const appendLogsStatement = namedStatement(
  'append_log_entries',
  `insert into message_log (direction, event, partner_id, message_id, document_type, status,
  content_type, body, digest, refs, detail, request_id)
select direction, event, partner_id, message_id, document_type, status, content_type,
  substring($2::bytea from body_at + 1 for body_length),
  digest, refs, detail, request_id
from rows from (json_to_recordset($1::json) as (direction text, event text, partner_id text,
  message_id text, document_type text, status text, content_type text, body_at int,
  body_length int, digest text, refs jsonb, detail jsonb, request_id text))
with ordinality as e(direction, event, partner_id, message_id, document_type, status,
  content_type, body_at, body_length, digest, refs, detail, request_id, n)
order by n
returning id`,
);
