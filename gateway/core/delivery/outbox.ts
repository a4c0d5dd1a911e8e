/**
 * The transactional outbox: an outbound document is queued in the transaction of the effect that
 * causes it, so either both happen or neither does. Delivery happens later, at least once, under
 * the messageId assigned here — stable forever, the partner's key for deduplication.
 */
import type { Transaction } from 'kysely';
import type { Database } from '../../db/tables.ts';
import { sha256Hex } from '../digest.ts';
import type { CanonicalDocument, DocumentHeader } from '../document.ts';
import { GatewayError } from '../errors.ts';
import { newId } from '../ids.ts';
import { NAME_SCHEME } from '../partners/identification.ts';
import type { RenderContext, RenderDocument } from './delivery.ts';
import { queueOutboxRow } from './outbox.repository.ts';

export interface OutboxDeps {
  /** The gateway's own party id: the sender of every outbound document. */
  gatewayId: string;
  render: RenderDocument;
}

export interface OutboundInput {
  recipientId: string;
  type: string;
  body: Record<string, unknown>;
  /** messageId of the document that caused this one. */
  inReplyTo?: string;
  /** Gateway ids the document concerns, for search and timelines. */
  refs?: Record<string, string>;
}

/** `<gatewayId>-<time-ordered random id>`: sorts by creation, unique across processes. */
export function newOutboundMessageId(gatewayId: string): string {
  return newId(gatewayId);
}

/** A UBL partner's first registered identifier (a name is no identifier), so its ERP knows itself. */
async function recipientContext(
  trx: Transaction<Database>,
  partnerId: string,
): Promise<RenderContext> {
  const alias = await trx
    .selectFrom('partner_identifiers')
    .select(['scheme', 'value'])
    .where('partner_id', '=', partnerId)
    .where('scheme', '<>', NAME_SCHEME)
    .orderBy('created_at')
    .orderBy('scheme')
    .orderBy('value')
    .executeTakeFirst();
  return alias === undefined ? {} : { recipientAlias: alias };
}

/**
 * Queues one outbound document in `trx`: fills the header, renders it in the recipient's
 * preferred format (the renderer validates it: an invalid outbound document is a bug and is never
 * queued), stores it with a 'queued' log entry, and has the deliverers woken when `trx` commits.
 */
export async function enqueueOutbound(
  trx: Transaction<Database>,
  deps: OutboxDeps,
  input: OutboundInput,
): Promise<{ messageId: string }> {
  const recipient = await trx
    .selectFrom('partners')
    .select(['id', 'format'])
    .where('id', '=', input.recipientId)
    .executeTakeFirst();
  if (recipient === undefined) {
    throw new GatewayError(
      'INTERNAL',
      `outbound ${input.type} for unknown partner ${input.recipientId}`,
    );
  }
  const messageId = newOutboundMessageId(deps.gatewayId);
  const header: DocumentHeader = {
    messageId,
    type: input.type,
    sender: deps.gatewayId,
    sentAt: new Date().toISOString(),
    recipient: recipient.id,
    ...(input.inReplyTo === undefined ? {} : { inReplyTo: input.inReplyTo }),
  };
  const document: CanonicalDocument = { header, body: input.body };
  const { body, contentType } = deps.render(
    document,
    recipient.format,
    recipient.format === 'ubl' ? await recipientContext(trx, recipient.id) : undefined,
  );
  const digest = sha256Hex(body);
  const refs = input.refs ?? {};

  await queueOutboxRow(
    trx,
    {
      message_id: messageId,
      recipient_id: recipient.id,
      document_type: input.type,
      format: recipient.format,
      content_type: contentType,
      body,
      digest,
      refs: JSON.stringify(refs),
    },
    {
      direction: 'outbound',
      event: 'queued',
      partnerId: recipient.id,
      messageId,
      documentType: input.type,
      status: 'queued',
      contentType,
      body,
      digest,
      refs,
    },
  );
  return { messageId };
}
