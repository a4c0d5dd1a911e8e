/** Reading the message log: search with keyset paging, one entry, entries by the ids they concern. */
import { sql, type Expression, type Kysely, type Selectable, type SqlBool } from 'kysely';
import type { Database, LogDirection, LogEvent, MessageLogTable } from '../../db/tables.ts';

type Db = Kysely<Database>;

/** The gateway ids an entry's refs may carry, searchable by value. */
export const REF_KEYS = [
  'reservationId',
  'dealId',
  'bidId',
  'tenderId',
  'checkNumber',
  'orderId',
  'itemId',
] as const;
export type RefKey = (typeof REF_KEYS)[number];

/** As the message_log event check allows (migration 0002). */
export const LOG_EVENTS = [
  'received',
  'queued',
  'delivery-attempt',
  'acknowledged',
  'dead-lettered',
  'replayed',
] as const satisfies readonly LogEvent[];

/** The documents themselves, as opposed to what happened to them afterwards. */
export const DOCUMENT_EVENTS: readonly LogEvent[] = ['received', 'queued'];

export interface LogFilter {
  partnerId?: string;
  documentType?: string;
  direction?: LogDirection;
  status?: string;
  /** One event, or 'document' for received and queued entries. */
  event?: LogEvent | 'document';
  from?: Date;
  to?: Date;
  messageId?: string;
  /** A gateway id (reservation, deal, check …) the entry concerns. */
  ref?: string;
}

/** The columns every reader of the log shows as they are stored. */
export const LOG_COLUMNS = [
  'direction',
  'event',
  'partner_id',
  'message_id',
  'document_type',
  'status',
  'content_type',
  'digest',
  'refs',
  'request_id',
] as const;

export function logFields(row: Pick<Selectable<MessageLogTable>, (typeof LOG_COLUMNS)[number]>) {
  return {
    direction: row.direction,
    event: row.event,
    partnerId: row.partner_id,
    messageId: row.message_id,
    documentType: row.document_type,
    status: row.status,
    contentType: row.content_type,
    digest: row.digest,
    refs: row.refs,
    requestId: row.request_id,
  };
}

const SUMMARY_COLUMNS = [
  'id',
  'logged_at',
  ...LOG_COLUMNS,
  sql<number | null>`octet_length(body)`.as('size'),
] as const;

export function refMatch(pairs: readonly { key: string; id: string }[]): Expression<SqlBool> {
  return sql<SqlBool>`(${sql.join(
    pairs.map(({ key, id }) => sql`refs @> ${JSON.stringify({ [key]: id })}::jsonb`),
    sql` or `,
  )})`;
}

/** Newest first; `before` is the id of the last entry of the previous page. */
export async function searchLog(
  db: Db,
  filter: LogFilter,
  page: { before: bigint | undefined; limit: number },
) {
  let query = db
    .selectFrom('message_log')
    .select(SUMMARY_COLUMNS)
    .orderBy('id', 'desc')
    .limit(page.limit);
  if (page.before !== undefined) query = query.where('id', '<', page.before);
  if (filter.partnerId !== undefined) query = query.where('partner_id', '=', filter.partnerId);
  if (filter.documentType !== undefined) {
    query = query.where('document_type', '=', filter.documentType);
  }
  if (filter.direction !== undefined) query = query.where('direction', '=', filter.direction);
  if (filter.status !== undefined) query = query.where('status', '=', filter.status);
  if (filter.event === 'document') query = query.where('event', 'in', DOCUMENT_EVENTS);
  else if (filter.event !== undefined) query = query.where('event', '=', filter.event);
  if (filter.from !== undefined) query = query.where('logged_at', '>=', filter.from);
  if (filter.to !== undefined) query = query.where('logged_at', '<', filter.to);
  if (filter.messageId !== undefined) query = query.where('message_id', '=', filter.messageId);
  if (filter.ref !== undefined) {
    const ref = filter.ref;
    query = query.where(refMatch(REF_KEYS.map((key) => ({ key, id: ref }))));
  }
  return query.execute();
}

export type LogSummaryRow = Awaited<ReturnType<typeof searchLog>>[number];

export async function findLogEntry(db: Db, id: bigint) {
  return db
    .selectFrom('message_log')
    .select(SUMMARY_COLUMNS)
    .select(['body', 'detail'])
    .where('id', '=', id)
    .executeTakeFirst();
}

/** Every entry about one message of one partner in one direction, in order. */
export async function messageHistory(
  db: Db,
  key: { direction: LogDirection; partnerId: string; messageId: string },
) {
  return db
    .selectFrom('message_log')
    .select(SUMMARY_COLUMNS)
    .select('detail')
    .where('direction', '=', key.direction)
    .where('partner_id', '=', key.partnerId)
    .where('message_id', '=', key.messageId)
    .orderBy('id')
    .execute();
}

export async function receiptOfEntry(db: Db, logId: bigint) {
  const row = await db
    .selectFrom('inbound_messages')
    .select('receipt')
    .where('log_id', '=', logId)
    .executeTakeFirst();
  return row?.receipt;
}

export async function outboxState(db: Db, messageId: string) {
  return db
    .selectFrom('outbox')
    .select(['status', 'attempts', 'last_error', 'next_attempt_at', 'delivered_at', 'dead_at'])
    .where('message_id', '=', messageId)
    .executeTakeFirst();
}

/** The entries whose refs name any of these (key, id) pairs, oldest first. */
export async function entriesByRefs(db: Db, pairs: readonly { key: string; id: string }[]) {
  if (pairs.length === 0) return [];
  return db
    .selectFrom('message_log')
    .select(SUMMARY_COLUMNS)
    .where(refMatch(pairs))
    .orderBy('id')
    .execute();
}
