/**
 * The inbound document pipeline, the same for every transport (HTTPS, batches, file drop):
 * decode, validate, check who may send what, then in ONE transaction append the raw bytes to
 * the message log, run the type's handler (the business effect and its outbound documents) and
 * store the signed receipt. Nothing is acknowledged before it is durable.
 *
 * Idempotency is on (sender, messageId), held by the primary key of inbound_messages, claimed by
 * the transaction's last statement, with the log entry and the receipt — for all the documents of
 * a group-committed transaction at once (no round trip of its own):
 *   - the same bytes again get the original receipt back and cause no second effect — the
 *     repeat's effects run, lose the claim, and are rolled back with it;
 *   - other bytes under an accepted messageId are refused (MESSAGE_ID_REUSED);
 *   - of concurrent duplicates exactly one wins the insert; the others wait on its row lock,
 *     then lose, roll back, and replay its receipt.
 * Concurrent documents may share a transaction (group commit): each is acknowledged only after
 * the commit that makes it durable.
 * Only accepted documents take a messageId: a rejected one may be corrected and sent again under
 * the same id. Rejections are logged all the same — a refused attempt is evidence too.
 */
import type { Kysely, Transaction } from 'kysely';
import { INBOUND_SENDER_ROLES, isInboundType } from '../../../schemas/document-types.ts';
import type { Database } from '../../db/tables.ts';
import { sha256Hex } from '../digest.ts';
import type { CanonicalDocument, InboundFormat } from '../document.ts';
import { GatewayError, type ErrorCode, type ErrorDetail } from '../errors.ts';
import { appendLog } from '../messages/message-log.repository.ts';
import { checkMoneyIn } from '../money.ts';
import type { Partner } from '../partners/partners.ts';
import type { Signer } from '../signing/signer.ts';
import type { HandlerRegistry, HandlerResult, OutboundDocument } from './handlers.ts';
import { buildReceipt } from './receipt.ts';
import { ClaimLost, type Committer, type UnitDone } from './group-commit.ts';
import { findInbound, type InboundClaim } from './inbound.repository.ts';

export type DecodeResult =
  | {
      ok: true;
      document: CanonicalDocument;
      /**
       * Partner formats (UBL, CSV): the canonical documents derived from the bytes, `document`
       * first, kept in the log beside the raw bytes. A UBL document may mean several (an RFQ's
       * lines): they take effect in one transaction under the first's messageId, one receipt.
       */
      derived?: readonly CanonicalDocument[];
    }
  | { ok: false; code: ErrorCode; errors: ErrorDetail[]; decoded?: unknown };

/**
 * Port: bytes in a format → schema-valid canonical documents (adapters/codec, ubl, csv). Partner
 * formats name parties and items by aliases, resolved for the sending partner: hence the sender,
 * and a promise.
 */
export type DecodeDocument = (
  bytes: Uint8Array,
  format: InboundFormat,
  sender: Partner,
) => DecodeResult | Promise<DecodeResult>;

/**
 * Port: queue outbound documents in the caller's transaction, in one go however many
 * (core/delivery); resolves to their messageIds, in order.
 */
export type EnqueueOutbound = (
  trx: Transaction<Database>,
  outbounds: readonly (OutboundDocument & { inReplyTo?: string })[],
) => Promise<string[]>;

/** Queues one document at a time through the port, in `trx`: resolves to its messageId. */
export function sendOneBy(
  enqueue: EnqueueOutbound,
  trx: Transaction<Database>,
): (outbound: OutboundDocument & { inReplyTo?: string }) => Promise<string> {
  return async (outbound) => (await enqueue(trx, [outbound]))[0]!;
}

export interface PipelineDeps {
  db: Kysely<Database>;
  gatewayId: string;
  decode: DecodeDocument;
  handlers: HandlerRegistry;
  signer: Signer;
  enqueue: EnqueueOutbound;
  /** Runs the transaction of an accepted document (group commit: see group-commit.ts). */
  commit: Committer<InboundClaim>;
  /** A commit lane of its own, first in first committed: a batch's documents, in file order. */
  commitInOrder: () => Committer<InboundClaim>;
  /** Most documents that commitInOrder commits in one transaction. */
  batchCommitMax: number;
}

export interface InboundRequest {
  sender: Partner;
  bytes: Uint8Array;
  /** Undefined when the Content-Type names no format the gateway reads (refused, and logged). */
  format: InboundFormat | undefined;
  contentType: string;
  requestId?: string;
}

export type PipelineOutcome =
  | {
      kind: 'accepted';
      receipt: CanonicalDocument;
      /** True when this is the original receipt of an earlier identical request. */
      replayed: boolean;
    }
  | {
      kind: 'rejected';
      code: ErrorCode;
      /** A signed rejection receipt when the document's messageId could be read. */
      receipt: CanonicalDocument | undefined;
      errors: readonly ErrorDetail[];
      message: string;
    };

const MESSAGE_ID = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;

function readableMessageId(decoded: unknown): string | undefined {
  if (typeof decoded !== 'object' || decoded === null) return undefined;
  const header = (decoded as { header?: unknown }).header;
  if (typeof header !== 'object' || header === null) return undefined;
  const id = (header as { messageId?: unknown }).messageId;
  return typeof id === 'string' && MESSAGE_ID.test(id) ? id : undefined;
}

class Refusal extends Error {
  readonly code: ErrorCode;
  readonly details: readonly ErrorDetail[];
  constructor(code: ErrorCode, message: string, details: readonly ErrorDetail[] = []) {
    super(message);
    this.code = code;
    this.details = details.length > 0 ? details : [{ path: '', code, message }];
  }
}

/** Checks that need no database: who may send this, and is every amount exact. */
function admit(sender: Partner, document: CanonicalDocument, handlers: HandlerRegistry): void {
  const { header } = document;
  if (header.sender !== sender.id) {
    throw new Refusal(
      'SENDER_MISMATCH',
      `header.sender is ${header.sender} but the API key belongs to ${sender.id}`,
      [
        {
          path: '/header/sender',
          code: 'SENDER_MISMATCH',
          message: `must be ${sender.id}, the authenticated partner`,
        },
      ],
    );
  }
  if (!isInboundType(header.type)) {
    throw new Refusal('ROLE_NOT_ALLOWED', `${header.type} is sent by the gateway, not to it`, [
      {
        path: '/header/type',
        code: 'ROLE_NOT_ALLOWED',
        message: `partners do not send ${header.type}`,
      },
    ]);
  }
  const allowed = INBOUND_SENDER_ROLES[header.type];
  if (!allowed.some((role) => sender.roles.includes(role))) {
    throw new Refusal(
      'ROLE_NOT_ALLOWED',
      `${header.type} may be sent by ${allowed.join(' or ')} only`,
      [
        {
          path: '/header/type',
          code: 'ROLE_NOT_ALLOWED',
          message: `${sender.id} (${sender.roles.join(', ')}) may not send ${header.type}`,
        },
      ],
    );
  }
  if (!handlers.has(header.type)) {
    throw new Refusal(
      'UNSUPPORTED_DOCUMENT_TYPE',
      `${header.type} is not processed by this gateway yet`,
      [
        {
          path: '/header/type',
          code: 'UNSUPPORTED_DOCUMENT_TYPE',
          message: `no handler for ${header.type}`,
        },
      ],
    );
  }
  const moneyErrors = checkMoneyIn(document.body, '/body');
  if (moneyErrors.length > 0) {
    throw new Refusal(
      moneyErrors[0]?.code as ErrorCode,
      'an amount is not valid for its currency',
      moneyErrors,
    );
  }
}

/** A document that passed every check that needs no database, ready for its transaction. */
export interface AdmittedDocument {
  request: InboundRequest;
  digest: string;
  document: CanonicalDocument;
  parts: readonly CanonicalDocument[];
  canonical: readonly CanonicalDocument[] | undefined;
}

/** Takes a partner document: the outcome is sent only once it is durable. */
export async function receiveDocument(
  deps: PipelineDeps,
  request: InboundRequest,
): Promise<PipelineOutcome> {
  const admitted = await admitDocument(deps, request);
  return 'kind' in admitted ? admitted : commitDocument(deps, admitted);
}

/**
 * The first half of receiveDocument: decode, validate and admit — or the logged rejection. The
 * two halves are apart for batches, which admit documents one by one and commit them in order
 * without waiting for each commit (see receiveBatch).
 */
export async function admitDocument(
  deps: PipelineDeps,
  request: InboundRequest,
): Promise<AdmittedDocument | PipelineOutcome> {
  const digest = sha256Hex(request.bytes);
  if (request.format === undefined) {
    const message = `Content-Type ${request.contentType || '(none)'} is not supported: send application/xml or application/json`;
    return reject(
      deps,
      request,
      digest,
      new Refusal('UNSUPPORTED_MEDIA_TYPE', message),
      undefined,
      undefined,
    );
  }
  const decoded = await deps.decode(request.bytes, request.format, request.sender);
  let document: CanonicalDocument;
  let parts: readonly CanonicalDocument[];
  try {
    if (!decoded.ok) {
      throw Object.assign(
        new Refusal(decoded.code, describeFirst(decoded.errors), decoded.errors),
        {
          messageId: readableMessageId(decoded.decoded),
        },
      );
    }
    document = decoded.document;
    parts = decoded.derived ?? [document];
    for (const part of parts) admit(request.sender, part, deps.handlers);
  } catch (error) {
    if (!(error instanceof Refusal)) throw error;
    const messageId =
      (error as Refusal & { messageId?: string }).messageId ??
      (decoded.ok ? decoded.document.header.messageId : undefined);
    return reject(
      deps,
      request,
      digest,
      error,
      messageId,
      decoded.ok ? decoded.document.header.type : undefined,
      decoded.ok ? decoded.derived : undefined,
    );
  }
  return { request, digest, document, parts, canonical: decoded.derived };
}

/**
 * The second half: the document's transaction (its handler, log entry, claim and receipt), then
 * the outcome. `deps.commit` takes the unit before this function first waits, so documents
 * committed one after another through one lane take effect in that order.
 */
export async function commitDocument(
  deps: PipelineDeps,
  admitted: AdmittedDocument,
): Promise<PipelineOutcome> {
  const { request, digest, document, parts, canonical } = admitted;
  const { header } = document;
  try {
    const receipt = await deps.commit(async (trx, gather) => {
      const receivedAt = new Date();
      const sendOne = sendOneBy(deps.enqueue, trx);
      const results: (HandlerResult | (() => HandlerResult))[] = [];
      for (const part of parts) {
        const handler = deps.handlers.get(part.header.type);
        if (handler === undefined) throw new Error(`no handler for ${part.header.type}`); // admitted
        results.push(
          await handler({
            trx,
            sender: request.sender,
            document: part,
            gatewayId: deps.gatewayId,
            send: (outbound) => sendOne({ ...outbound, inReplyTo: header.messageId }),
            gather,
          }),
        );
      }
      // The receipt names what the handlers assigned: known now, or once gathered writes are made.
      const done = async (): Promise<UnitDone<InboundClaim, CanonicalDocument>> => {
        const result = mergeResults(results.map((r) => (typeof r === 'function' ? r() : r)));
        const assigned = result.assigned ?? {};
        const receipt = await buildReceipt(
          {
            gatewayId: deps.gatewayId,
            messageId: header.messageId,
            sender: request.sender.id,
            status: 'accepted',
            digest,
            receivedAt,
            assigned,
            errors: [],
          },
          deps.signer,
        );
        // Claimed with the other documents of its transaction, last before COMMIT (group-commit.ts).
        const claim: InboundClaim = {
          sender: request.sender.id,
          messageId: header.messageId,
          documentType: header.type,
          contentType: request.contentType,
          body: request.bytes,
          digest,
          refs: result.refs ?? assigned,
          ...(canonical === undefined ? {} : { detail: { canonical } }),
          requestId: request.requestId,
          receipt,
        };
        return { claim, value: receipt };
      };
      if (results.some((r) => typeof r === 'function')) return done;
      // Known now: the receipt is signed (off the thread) while the transaction goes on.
      const signed = done();
      signed.catch(() => undefined); // the committer awaits it, unless the batch fails first
      return () => signed;
    });
    return { kind: 'accepted', receipt, replayed: false };
  } catch (error) {
    // A duplicate loses the claim — or, since its effects ran first, may trip over the
    // original's (a unique key, a closed deadline). Whichever: an accepted document under this
    // messageId decides the answer.
    const earlier = await findInbound(deps.db, request.sender.id, header.messageId).catch(
      () => undefined,
    );
    if (earlier !== undefined) return replayOrRefuse(deps, request, digest, header, earlier);
    if (error instanceof ClaimLost) {
      throw new GatewayError('INTERNAL', 'a concurrent duplicate vanished');
    }
    if (error instanceof GatewayError && !error.retryable && error.code !== 'INTERNAL') {
      return reject(
        deps,
        request,
        digest,
        new Refusal(error.code, error.message, error.details),
        header.messageId,
        header.type,
        canonical,
      );
    }
    throw error;
  }
}

async function replayOrRefuse(
  deps: PipelineDeps,
  request: InboundRequest,
  digest: string,
  header: CanonicalDocument['header'],
  earlier: { digest: string; receipt: CanonicalDocument },
): Promise<PipelineOutcome> {
  if (earlier.digest === digest)
    return { kind: 'accepted', receipt: earlier.receipt, replayed: true };
  return reject(
    deps,
    request,
    digest,
    new Refusal(
      'MESSAGE_ID_REUSED',
      `messageId ${header.messageId} was already accepted with other content`,
      [
        {
          path: '/header/messageId',
          code: 'MESSAGE_ID_REUSED',
          message: 'already used for a different document: give each document its own messageId',
        },
      ],
    ),
    header.messageId,
    header.type,
  );
}

async function reject(
  deps: PipelineDeps,
  request: InboundRequest,
  digest: string,
  refusal: Refusal,
  messageId: string | undefined,
  documentType: string | undefined,
  canonical?: readonly CanonicalDocument[],
): Promise<PipelineOutcome> {
  const receipt =
    messageId === undefined
      ? undefined
      : await buildReceipt(
          {
            gatewayId: deps.gatewayId,
            messageId,
            sender: request.sender.id,
            status: 'rejected',
            digest,
            receivedAt: new Date(),
            assigned: {},
            errors: refusal.details,
          },
          deps.signer,
        );
  await appendLog(deps.db, {
    direction: 'inbound',
    event: 'received',
    partnerId: request.sender.id,
    messageId: messageId ?? null,
    documentType: documentType ?? null,
    status: 'rejected',
    contentType: request.contentType,
    body: request.bytes,
    digest,
    detail: {
      code: refusal.code,
      errors: refusal.details,
      receipt,
      ...(canonical === undefined ? {} : { canonical }),
    },
    requestId: request.requestId,
  });
  return {
    kind: 'rejected',
    code: refusal.code,
    receipt,
    errors: refusal.details,
    message: refusal.message,
  };
}

/**
 * One result for the parts of one partner document: a single part's as it is; several parts'
 * ids numbered by part (reservationId1, reservationId2 …), since one receipt answers them all.
 */
function mergeResults(results: readonly HandlerResult[]): HandlerResult {
  if (results.length === 1) return results[0] ?? {};
  const assigned: Record<string, string> = {};
  const refs: Record<string, string> = {};
  results.forEach((result, i) => {
    for (const [name, value] of Object.entries(result.assigned ?? {}))
      assigned[`${name}${i + 1}`] = value;
    // The log is searched by ref names: the first part keeps them, the others are numbered.
    for (const [name, value] of Object.entries(result.refs ?? result.assigned ?? {})) {
      refs[i === 0 ? name : `${name}${i + 1}`] = value;
    }
  });
  return { assigned, refs };
}

function describeFirst(errors: readonly ErrorDetail[]): string {
  const first = errors[0];
  if (first === undefined) return 'the document is not valid';
  const more = errors.length > 1 ? ` (and ${errors.length - 1} more)` : '';
  return `${first.path === '' ? '' : `${first.path}: `}${first.message}${more}`;
}
