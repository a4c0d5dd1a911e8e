/**
 * What operators and auditors read from the message log: a search with cursor paging, one entry
 * with its bytes, receipt and delivery history, and the timeline of a deal — every document of
 * its reservation, bids, deal, tenders, check and order, in the order the log holds them.
 */
import type { Kysely } from 'kysely';
import type { Database, LogDirection, LogEvent } from '../../db/tables.ts';
import { GatewayError } from '../errors.ts';
import {
  DOCUMENT_EVENTS,
  entriesByRefs,
  findLogEntry,
  logFields,
  messageHistory,
  outboxState,
  receiptOfEntry,
  REF_KEYS,
  searchLog,
  type LogFilter,
  type LogSummaryRow,
  type RefKey,
} from './messages.repository.ts';

export type { LogFilter };

export const SEARCH_MAX_LIMIT = 500;

export interface MessageSummary {
  id: string;
  loggedAt: Date;
  direction: LogDirection;
  event: LogEvent;
  partnerId: string;
  messageId: string | null;
  documentType: string | null;
  status: string;
  contentType: string | null;
  /** Bytes of the stored body (null: no body, e.g. a delivery attempt). */
  size: number | null;
  digest: string | null;
  refs: Record<string, string>;
  requestId: string | null;
}

function summary(row: LogSummaryRow): MessageSummary {
  return {
    id: row.id.toString(),
    loggedAt: row.logged_at,
    ...logFields(row),
    size: row.size === null ? null : Number(row.size),
  };
}

export function parseLogId(value: string | undefined, what: string): bigint | undefined {
  if (value === undefined || value === '') return undefined;
  if (!/^[1-9][0-9]{0,18}$/.test(value)) {
    throw new GatewayError('BAD_REQUEST', `${what} must be a log entry id`);
  }
  return BigInt(value);
}

export async function searchMessages(
  db: Kysely<Database>,
  filter: LogFilter,
  page: { before?: string; limit?: number },
): Promise<{ messages: MessageSummary[]; nextCursor: string | null }> {
  const limit = page.limit ?? 50;
  if (!Number.isInteger(limit) || limit < 1 || limit > SEARCH_MAX_LIMIT) {
    throw new GatewayError('BAD_REQUEST', `limit must be 1–${SEARCH_MAX_LIMIT}`);
  }
  const rows = await searchLog(db, filter, { before: parseLogId(page.before, 'before'), limit });
  const messages = rows.map(summary);
  return {
    messages,
    nextCursor: messages.length === limit ? (messages.at(-1)?.id ?? null) : null,
  };
}

/** Stored bytes for reading: the text when they are UTF-8 (XML and JSON are), base64 otherwise. */
export function decodeBody(body: Uint8Array): { encoding: 'utf-8' | 'base64'; text: string } {
  try {
    return { encoding: 'utf-8', text: new TextDecoder('utf-8', { fatal: true }).decode(body) };
  } catch {
    return { encoding: 'base64', text: Buffer.from(body).toString('base64') };
  }
}

export interface HistoryEvent extends MessageSummary {
  detail: unknown;
}

export interface MessageDetail {
  message: MessageSummary & { detail: unknown };
  body: Uint8Array | null;
  /** The signed receipt the sender got (inbound documents). */
  receipt: unknown;
  /** Outbound documents: where delivery stands now. */
  delivery: {
    status: string;
    attempts: number;
    lastError: string | null;
    nextAttemptAt: Date | null;
    deliveredAt: Date | null;
    deadAt: Date | null;
  } | null;
  /** Every entry about the same message (its attempts, deliveries, acknowledgement …). */
  history: HistoryEvent[];
}

export async function getMessage(db: Kysely<Database>, id: string): Promise<MessageDetail> {
  const logId = parseLogId(id, 'the message id');
  const row = logId === undefined ? undefined : await findLogEntry(db, logId);
  if (row === undefined) throw new GatewayError('NOT_FOUND', `no log entry ${id}`);
  const message = { ...summary(row), detail: row.detail ?? null };
  const history =
    row.message_id === null
      ? []
      : (
          await messageHistory(db, {
            direction: row.direction,
            partnerId: row.partner_id,
            messageId: row.message_id,
          })
        ).map((h) => ({ ...summary(h), detail: h.detail ?? null }));
  let receipt: unknown = null;
  if (row.direction === 'inbound') {
    // Accepted: the receipt kept for idempotent replays; rejected: the one in the entry.
    receipt =
      (await receiptOfEntry(db, row.id)) ??
      (row.detail as { receipt?: unknown } | null)?.receipt ??
      null;
  }
  const outbox =
    row.direction === 'outbound' && row.message_id !== null
      ? await outboxState(db, row.message_id)
      : undefined;
  return {
    message,
    body: row.body,
    receipt,
    delivery:
      outbox === undefined
        ? null
        : {
            status: outbox.status,
            attempts: outbox.attempts,
            lastError: outbox.last_error,
            nextAttemptAt: outbox.next_attempt_at,
            deliveredAt: outbox.delivered_at,
            deadAt: outbox.dead_at,
          },
    history,
  };
}

// --- timelines --------------------------------------------------------------------------------

/** Ids that tie the documents of one deal together; itemId is left out (many deals share one). */
const LINK_KEYS: readonly RefKey[] = REF_KEYS.filter((key) => key !== 'itemId');
/** A bound on the ids followed, so a pathological log cannot make a timeline unbounded. */
const MAX_LINKED_IDS = 500;
const MAX_ROUNDS = 8;

export interface TimelineDocument extends MessageSummary {
  /** Outbound: the last thing that happened to it (queued, delivered, dead …). */
  lastEvent: { event: LogEvent; status: string; at: Date } | null;
}

export interface Timeline {
  anchor: string;
  /** Every gateway id found to belong to the deal, by kind. */
  linked: Partial<Record<RefKey, string[]>>;
  documents: TimelineDocument[];
}

/**
 * The documents of the deal that `anchor` (a reservation, bid, deal, tender, check or order id)
 * belongs to, found in the log alone: entries naming a known id bring in the other ids they name,
 * until nothing new turns up.
 */
export async function dealTimeline(db: Kysely<Database>, anchor: string): Promise<Timeline> {
  const known = new Map<string, RefKey>();
  let pairs: { key: string; id: string }[] = LINK_KEYS.map((key) => ({ key, id: anchor }));
  let entries: LogSummaryRow[] = [];
  for (let round = 0; round < MAX_ROUNDS; round += 1) {
    entries = await entriesByRefs(db, pairs);
    const before = known.size;
    for (const entry of entries) {
      for (const key of LINK_KEYS) {
        const id = entry.refs[key];
        if (id !== undefined && !known.has(id) && known.size < MAX_LINKED_IDS) known.set(id, key);
      }
    }
    if (known.size === before) break;
    pairs = [...known].map(([id, key]) => ({ key, id }));
  }
  if (entries.length === 0)
    throw new GatewayError('NOT_FOUND', `nothing in the log concerns ${anchor}`);

  const last = new Map<string, LogSummaryRow>();
  for (const entry of entries) {
    if (entry.direction === 'outbound' && entry.message_id !== null) {
      last.set(`${entry.partner_id}\u0000${entry.message_id}`, entry);
    }
  }
  const linked: Partial<Record<RefKey, string[]>> = {};
  for (const [id, key] of known) (linked[key] ??= []).push(id);
  return {
    anchor,
    linked,
    documents: entries
      .filter((entry) => DOCUMENT_EVENTS.includes(entry.event))
      .map((entry) => {
        const latest =
          entry.direction === 'outbound' && entry.message_id !== null
            ? last.get(`${entry.partner_id}\u0000${entry.message_id}`)
            : undefined;
        return {
          ...summary(entry),
          lastEvent:
            latest === undefined
              ? null
              : { event: latest.event, status: latest.status, at: latest.logged_at },
        };
      }),
  };
}
