/**
 * The message log: append-only evidence of every document in and out, every rejection and every
 * delivery attempt, with the raw bytes and their SHA-256. This module only ever inserts.
 */
import type { Kysely, Transaction } from 'kysely';
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
  const row = await db
    .insertInto('message_log')
    .values(logRow(entry))
    .returning('id')
    .executeTakeFirstOrThrow();
  return row.id;
}

/** Several entries in one statement, in order (busy paths: one round trip for a batch). */
export async function appendLogs(db: Db, entries: readonly LogEntry[]): Promise<void> {
  if (entries.length === 0) return;
  await db.insertInto('message_log').values(entries.map(logRow)).execute();
}

export function logRow(entry: LogEntry) {
  return {
    direction: entry.direction,
    event: entry.event,
    partner_id: entry.partnerId,
    message_id: entry.messageId ?? null,
    document_type: entry.documentType ?? null,
    status: entry.status,
    content_type: entry.contentType ?? null,
    body: entry.body ?? null,
    digest: entry.digest ?? null,
    refs: JSON.stringify(entry.refs ?? {}),
    detail: entry.detail === undefined ? null : JSON.stringify(entry.detail),
    request_id: entry.requestId ?? null,
  };
}
