/**
 * Pull delivery for mailbox-mode partners. A partner reads its pending documents in queue order
 * (the cursor is the outbox id) and acknowledges what it has stored; unacknowledged documents
 * stay and are read again. Every query is scoped to the calling partner: another partner's
 * documents are never returned, and acknowledging one is indistinguishable from an unknown id.
 */
import type { Kysely } from 'kysely';
import type { Database } from '../../db/tables.ts';
import type { OutboundFormat } from '../document.ts';
import { GatewayError } from '../errors.ts';
import { appendLog } from '../messages/message-log.repository.ts';
import type { Partner } from '../partners/partners.ts';
import {
  acknowledgePending,
  findDelivered,
  listPending,
  type AckSelection,
} from './outbox.repository.ts';

export const MAILBOX_DEFAULT_LIMIT = 100;
export const MAILBOX_MAX_LIMIT = 1000;
/** A page stops growing past this many body bytes (it always holds at least one document). */
export const MAILBOX_PAGE_BYTES = 4 * 1024 * 1024;
export const ACK_MAX_IDS = 1000;

export interface MailboxDocument {
  cursor: string;
  messageId: string;
  type: string;
  format: OutboundFormat;
  contentType: string;
  body: Uint8Array;
}

export interface MailboxPage {
  documents: MailboxDocument[];
  /** Pass as `after` to read on; equals `after` when the page is empty. */
  nextCursor: string;
}

export type AckRequest = { messageIds: readonly string[] } | { upTo: string };

export interface AckResult {
  /** Now acknowledged (including ids acknowledged before: acknowledging is idempotent). */
  acknowledged: string[];
  /** Unknown, or not this partner's: the same answer for both. */
  notFound: string[];
}

function requireMailbox(partner: Partner): void {
  if (partner.deliveryMode !== 'mailbox') {
    throw new GatewayError(
      'FORBIDDEN',
      `partner ${partner.id} receives documents by ${partner.deliveryMode}, not from the mailbox`,
    );
  }
}

/** A cursor is an outbox id: a non-negative decimal integer. */
export function parseCursor(value: string | undefined, what: string): bigint {
  if (value === undefined || value === '') return 0n;
  if (!/^[0-9]{1,19}$/.test(value)) {
    throw new GatewayError(
      'BAD_REQUEST',
      `${what} must be a cursor (a whole number), got "${value}"`,
    );
  }
  return BigInt(value);
}

export async function readMailbox(
  db: Kysely<Database>,
  partner: Partner,
  options: { after?: string; limit?: number },
): Promise<MailboxPage> {
  requireMailbox(partner);
  const after = parseCursor(options.after, 'after');
  const limit = options.limit ?? MAILBOX_DEFAULT_LIMIT;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAILBOX_MAX_LIMIT) {
    throw new GatewayError('BAD_REQUEST', `limit must be 1–${MAILBOX_MAX_LIMIT}`);
  }
  const rows = await listPending(db, partner.id, after, limit);
  const documents: MailboxDocument[] = [];
  let bytes = 0;
  for (const row of rows) {
    if (documents.length > 0 && bytes + row.body.byteLength > MAILBOX_PAGE_BYTES) break;
    bytes += row.body.byteLength;
    documents.push({
      cursor: row.id.toString(),
      messageId: row.message_id,
      type: row.document_type,
      format: row.format,
      contentType: row.content_type,
      body: row.body,
    });
  }
  return { documents, nextCursor: documents.at(-1)?.cursor ?? after.toString() };
}

export async function acknowledgeMailbox(
  db: Kysely<Database>,
  partner: Partner,
  request: AckRequest,
  requestId?: string,
): Promise<AckResult> {
  requireMailbox(partner);
  const ids = 'messageIds' in request ? [...new Set(request.messageIds)] : undefined;
  if (ids !== undefined && (ids.length === 0 || ids.length > ACK_MAX_IDS)) {
    throw new GatewayError('BAD_REQUEST', `messageIds must hold 1–${ACK_MAX_IDS} ids`);
  }
  const selection: AckSelection =
    'upTo' in request ? { upTo: parseCursor(request.upTo, 'upTo') } : { messageIds: ids ?? [] };
  return db.transaction().execute(async (trx) => {
    const acked = await acknowledgePending(trx, partner.id, selection);
    for (const row of acked) {
      await appendLog(trx, {
        direction: 'outbound',
        event: 'acknowledged',
        partnerId: partner.id,
        messageId: row.message_id,
        documentType: row.document_type,
        status: 'acknowledged',
        digest: row.digest,
        refs: row.refs,
        detail: { transport: 'mailbox', cursor: row.id.toString() },
        requestId: requestId ?? null,
      });
    }
    const now = acked.map((r) => r.message_id);
    if (ids === undefined) return { acknowledged: now, notFound: [] };
    const before = new Set(await findDelivered(trx, partner.id, ids));
    const done = new Set(now);
    return {
      acknowledged: ids.filter((id) => done.has(id) || before.has(id)),
      notFound: ids.filter((id) => !done.has(id) && !before.has(id)),
    };
  });
}
