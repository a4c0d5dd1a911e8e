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
import { queueOutboxRows, type QueuedDocument } from './outbox.repository.ts';

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

/**
 * Each UBL recipient's first registered identifier (a name is no identifier), so its ERP knows
 * itself: one query for all of them.
 */
async function recipientContexts(
  trx: Transaction<Database>,
  partnerIds: readonly string[],
): Promise<Map<string, RenderContext>> {
  const contexts = new Map<string, RenderContext>();
  if (partnerIds.length === 0) return contexts;
  const aliases = await trx
    .selectFrom('partner_identifiers')
    .select(['partner_id', 'scheme', 'value'])
    .where('partner_id', 'in', partnerIds)
    .where('scheme', '<>', NAME_SCHEME)
    .orderBy('partner_id')
    .orderBy('created_at')
    .orderBy('scheme')
    .orderBy('value')
    .execute();
  for (const { partner_id, scheme, value } of aliases) {
    if (!contexts.has(partner_id)) contexts.set(partner_id, { recipientAlias: { scheme, value } });
  }
  return contexts;
}

/**
 * Queues outbound documents in `trx`: fills each header, renders each in its recipient's
 * preferred format (the renderer validates it: an invalid outbound document is a bug and is never
 * queued), stores them with their 'queued' log entries, and has the deliverers woken when `trx`
 * commits — in two round trips whatever their number (the recipients' formats, then the rows and
 * entries; a third when UBL recipients need their identifiers). Returns the messageIds in order.
 */
export async function enqueueOutboundMany(
  trx: Transaction<Database>,
  deps: OutboxDeps,
  inputs: readonly OutboundInput[],
): Promise<string[]> {
  if (inputs.length === 0) return [];
  const recipientIds = [...new Set(inputs.map((input) => input.recipientId))];
  const recipients = new Map(
    (
      await trx
        .selectFrom('partners')
        .select(['id', 'format'])
        .where('id', 'in', recipientIds)
        .execute()
    ).map((partner) => [partner.id, partner]),
  );
  const contexts = await recipientContexts(
    trx,
    [...recipients.values()].filter((r) => r.format === 'ubl').map((r) => r.id),
  );
  const queued = inputs.map((input) => {
    const recipient = recipients.get(input.recipientId);
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
      contexts.get(recipient.id),
    );
    return {
      message_id: messageId,
      recipient_id: recipient.id,
      document_type: input.type,
      format: recipient.format,
      content_type: contentType,
      body,
      digest: sha256Hex(body),
      refs: input.refs ?? {},
    } satisfies QueuedDocument;
  });
  await queueOutboxRows(trx, queued);
  return queued.map((q) => q.message_id);
}
