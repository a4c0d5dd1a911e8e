/**
 * The handler registry: one handler per inbound document type. Business features plug their
 * handlers in here; a type without a handler is refused (UNSUPPORTED_DOCUMENT_TYPE), never
 * silently stored.
 */
import type { Transaction } from 'kysely';
import type { Database } from '../../db/tables.ts';
import type { CanonicalDocument } from '../document.ts';
import type { Partner } from '../partners/partners.ts';
import type { Gather } from './group-commit.ts';

export interface OutboundDocument {
  recipientId: string;
  type: string;
  body: Record<string, unknown>;
  refs?: Record<string, string>;
}

export interface HandlerContext {
  /** The transaction of this document: log, effect, outbox and receipt commit together. */
  trx: Transaction<Database>;
  sender: Partner;
  document: CanonicalDocument;
  gatewayId: string;
  /** Queue an outbound document in this transaction (transactional outbox); returns its messageId. */
  send: (outbound: OutboundDocument) => Promise<string>;
  /**
   * There when the document shares its transaction with others (group commit): a write that
   * can be made for all of them at once may be left to the end of the batch. See the rules in
   * group-commit.ts; a handler that does not gather needs nothing from it.
   */
  gather?: Gather;
}

export interface HandlerResult {
  /** Gateway ids assigned or concerned, returned in the receipt (e.g. { itemId }). */
  assigned?: Record<string, string>;
  /** Ids the log entry is indexed by for search and timelines (defaults to `assigned`). */
  refs?: Record<string, string>;
}

/**
 * Resolves to the handler's result — or, when it gathered a write whose outcome the receipt
 * names (a bid's id and version), to a function that gives it once the gathered writes are made.
 */
export type DocumentHandler = (
  ctx: HandlerContext,
) => Promise<HandlerResult | (() => HandlerResult)>;

export type HandlerRegistry = ReadonlyMap<string, DocumentHandler>;

export function createHandlerRegistry(
  ...groups: readonly Readonly<Record<string, DocumentHandler>>[]
): HandlerRegistry {
  const registry = new Map<string, DocumentHandler>();
  for (const group of groups) {
    for (const [type, handler] of Object.entries(group)) {
      if (registry.has(type)) throw new Error(`two handlers for ${type}`);
      registry.set(type, handler);
    }
  }
  return registry;
}
