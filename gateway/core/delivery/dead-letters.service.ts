/**
 * Dead letters: deliveries that failed permanently, ran out of attempts or grew too old. They
 * keep their bytes and messageId; a replay puts them back in the queue with a fresh delivery
 * cycle, and the partner receives the same messageId it may already have seen.
 */
import type { Kysely } from 'kysely';
import type { Database } from '../../db/tables.ts';
import type { OutboundFormat } from '../document.ts';
import { GatewayError } from '../errors.ts';
import { appendLog } from '../messages/message-log.repository.ts';
import { parseCursor } from './mailbox.service.ts';
import {
  findDeadLetterRow,
  listDeadLetterRows,
  notifyOutbox,
  reviveDeadLetters,
  type DeadLetterFilter,
  type ReplaySelection,
} from './outbox.repository.ts';

export type { DeadLetterFilter };

export const DEAD_LETTERS_MAX_LIMIT = 1000;
export const REPLAY_DEFAULT_LIMIT = 1000;
export const REPLAY_MAX_LIMIT = 10_000;
export const REPLAY_MAX_IDS = 1000;

export interface DeadLetter {
  cursor: string;
  messageId: string;
  recipientId: string;
  type: string;
  format: OutboundFormat;
  attempts: number;
  createdAt: Date;
  deadAt: Date | null;
  lastError: string | null;
}

export interface DeadLetterEvent {
  loggedAt: Date;
  event: string;
  status: string;
  detail: unknown;
}

export type ReplayRequest =
  { messageIds: readonly string[] } | { filter: DeadLetterFilter; limit?: number };

export interface ReplayResult {
  replayed: string[];
  /** Asked for by id but not (or no longer) a dead letter. */
  notFound: string[];
}

export async function listDeadLetters(
  db: Kysely<Database>,
  filter: DeadLetterFilter,
  page: { after?: string; limit?: number },
): Promise<{ deadLetters: DeadLetter[]; nextCursor: string }> {
  const after = parseCursor(page.after, 'after');
  const limit = page.limit ?? 100;
  if (!Number.isInteger(limit) || limit < 1 || limit > DEAD_LETTERS_MAX_LIMIT) {
    throw new GatewayError('BAD_REQUEST', `limit must be 1–${DEAD_LETTERS_MAX_LIMIT}`);
  }
  const rows = await listDeadLetterRows(db, filter, after, limit);
  const deadLetters = rows.map((r) => ({
    cursor: r.id.toString(),
    messageId: r.message_id,
    recipientId: r.recipient_id,
    type: r.document_type,
    format: r.format,
    attempts: r.attempts,
    createdAt: r.created_at,
    deadAt: r.dead_at,
    lastError: r.last_error,
  }));
  return { deadLetters, nextCursor: deadLetters.at(-1)?.cursor ?? after.toString() };
}

/** One dead letter with its delivery history from the message log. */
export async function getDeadLetter(
  db: Kysely<Database>,
  messageId: string,
): Promise<DeadLetter & { contentType: string; history: DeadLetterEvent[] }> {
  const row = await findDeadLetterRow(db, messageId);
  if (row === undefined) throw new GatewayError('NOT_FOUND', `no dead letter ${messageId}`);
  const history = await db
    .selectFrom('message_log')
    .select(['logged_at', 'event', 'status', 'detail'])
    .where('partner_id', '=', row.recipient_id)
    .where('message_id', '=', messageId)
    .where('direction', '=', 'outbound')
    .orderBy('id')
    .execute();
  return {
    cursor: row.id.toString(),
    messageId: row.message_id,
    recipientId: row.recipient_id,
    type: row.document_type,
    format: row.format,
    contentType: row.content_type,
    attempts: row.attempts,
    createdAt: row.created_at,
    deadAt: row.dead_at,
    lastError: row.last_error,
    history: history.map((h) => ({
      loggedAt: h.logged_at,
      event: h.event,
      status: h.status,
      detail: h.detail,
    })),
  };
}

/** Back into the queue, each with a 'replayed' log entry; the deliverers wake at commit. */
export async function replayDeadLetters(
  db: Kysely<Database>,
  request: ReplayRequest,
  requestId?: string,
): Promise<ReplayResult> {
  let selection: ReplaySelection;
  if ('messageIds' in request) {
    const ids = [...new Set(request.messageIds)];
    if (ids.length === 0 || ids.length > REPLAY_MAX_IDS) {
      throw new GatewayError('BAD_REQUEST', `messageIds must hold 1–${REPLAY_MAX_IDS} ids`);
    }
    selection = { messageIds: ids };
  } else {
    const limit = request.limit ?? REPLAY_DEFAULT_LIMIT;
    if (!Number.isInteger(limit) || limit < 1 || limit > REPLAY_MAX_LIMIT) {
      throw new GatewayError('BAD_REQUEST', `limit must be 1–${REPLAY_MAX_LIMIT}`);
    }
    selection = { filter: request.filter, limit };
  }
  return db.transaction().execute(async (trx) => {
    const revived = await reviveDeadLetters(trx, selection);
    revived.sort((a, b) => (a.id < b.id ? -1 : 1));
    for (const row of revived) {
      await appendLog(trx, {
        direction: 'outbound',
        event: 'replayed',
        partnerId: row.recipient_id,
        messageId: row.message_id,
        documentType: row.document_type,
        status: 'replayed',
        detail: { previousError: row.last_error },
        requestId: requestId ?? null,
      });
    }
    if (revived.length > 0) await notifyOutbox(trx);
    const replayed = revived.map((r) => r.message_id);
    const done = new Set(replayed);
    const asked = 'messageIds' in selection ? selection.messageIds : [];
    return { replayed, notFound: asked.filter((id) => !done.has(id)) };
  });
}
