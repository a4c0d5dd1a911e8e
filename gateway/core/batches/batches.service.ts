/**
 * Batches (`POST /v1/batches`, file drop): a sequence of documents, each taken through exactly
 * the core path of `POST /v1/documents` (receiveDocument: the same validation, idempotency, log
 * and receipt), one after another in the order they stand in the batch, with one entry per
 * position. Documents are processed in order, never concurrently: a batch may revise what an
 * earlier document of the same batch created, and must mean what it would mean sent one by one.
 *
 * Splitting the bytes into documents belongs to the edges (adapters/codec/batch-split.ts): the
 * core sees items — a document with its exact bytes, a position that holds no usable document
 * (too large, missing), or the point from which the input cannot be read at all.
 */
import type { CanonicalDocument, InboundFormat } from '../document.ts';
import { GatewayError, type ErrorCode, type ErrorDetail } from '../errors.ts';
import type { Partner } from '../partners/partners.ts';
import { toStorageError } from '../../db/database.ts';
import {
  admitDocument,
  commitDocument,
  type PipelineDeps,
  type PipelineOutcome,
} from '../pipeline/pipeline.service.ts';

export type BatchItem =
  | {
      kind: 'document';
      /** The document's exact bytes: logged, digested and receipted as they are. */
      bytes: Uint8Array;
      /**
       * What the decoder reads when it differs from `bytes`: an XML document inside `<Batch>`
       * inherits the batch's namespace, which its own bytes do not declare.
       */
      decodeAs?: Uint8Array;
    }
  /** A position without a usable document (too large, an empty array slot): refused, go on. */
  | { kind: 'refused'; code: ErrorCode; message: string }
  /** The input cannot be read from here on; nothing follows. */
  | { kind: 'broken'; code: ErrorCode; message: string };

export type BatchEntry =
  | {
      position: number;
      kind: 'receipt';
      /** The signed receipt: accepted, or rejected with the document's messageId. */
      receipt: CanonicalDocument;
      /** The original receipt of an earlier identical document. */
      replayed: boolean;
    }
  | {
      position: number;
      kind: 'rejection';
      code: ErrorCode;
      errors: readonly ErrorDetail[];
      /** The input could not be read past this position: no entries follow. */
      endOfInput: boolean;
    };

export interface BatchRequest {
  sender: Partner;
  items: AsyncIterable<BatchItem>;
  /** The format of each document (NDJSON lines and JSON array elements are 'json'). */
  format: InboundFormat;
  /** Content type logged with each document. */
  contentType: string;
  requestId?: string;
  /** Positions already recorded by an interrupted run: read past, not processed again. */
  skip?: number;
  /** A document failed for a reason that is not its own (a bug): for the edge's log. */
  onInternalError?: (error: unknown, position: number) => void;
  /** Once aborted, no further document is taken; those already taken are answered. */
  stop?: AbortSignal;
}

/**
 * The entries of a batch, in order, one per position (1-based). A storage failure throws (the
 * retryable GatewayError): the caller stops, and the documents not yet processed may be sent
 * again — idempotency makes that safe for the ones that were.
 */
export async function* receiveBatch(
  deps: PipelineDeps,
  request: BatchRequest,
): AsyncGenerator<BatchEntry> {
  // The documents are admitted one by one and committed in order through a lane of their own,
  // consecutive documents sharing a transaction (up to batchCommitMax), and a later one (a
  // revision) never taking effect before an earlier one. Twice batchCommitMax of them may await
  // their commit, the next transaction's documents admitted while one commits — and no more than
  // WINDOW_BYTES of them, which bounds the memory a batch holds and a transaction's parameters.
  const inOrder: PipelineDeps = { ...deps, commit: deps.commitInOrder() };
  const window = 2 * deps.batchCommitMax;
  const skip = request.skip ?? 0;
  const pending: { entry: Promise<BatchEntry>; bytes: number }[] = [];
  let pendingBytes = 0;
  const next = (): Promise<BatchEntry> => {
    const { entry, bytes } = pending.shift()!;
    pendingBytes -= bytes;
    return entry;
  };
  let position = 0;
  try {
    for await (const item of request.items) {
      position += 1;
      if (position <= skip) continue;
      if (request.stop?.aborted) break;
      if (item.kind === 'document') {
        const { entry, storageFailed } = await receiveItem(inOrder, request, item, position);
        pending.push({ entry, bytes: item.bytes.byteLength });
        pendingBytes += item.bytes.byteLength;
        if (storageFailed) break; // nothing after it is taken; it throws when its turn comes
      } else {
        const entry = rejection(position, item.code, item.message, item.kind === 'broken');
        pending.push({ entry: Promise.resolve(entry), bytes: 0 });
        if (item.kind === 'broken') break;
      }
      while (pending.length >= window || pendingBytes > WINDOW_BYTES) yield await next();
    }
    while (pending.length > 0) yield await next();
  } finally {
    // Stopped early (a consumer's break, a storage failure): let the rest settle, unobserved.
    await Promise.allSettled(pending.map((p) => p.entry));
  }
}

/**
 * Bytes of the documents admitted ahead, at most: a file of large documents (up to 1 MiB each)
 * holds no more than this awaiting its commit, nor puts more into one transaction.
 */
export const WINDOW_BYTES = 8 * 1024 * 1024;

export function rejection(
  position: number,
  code: ErrorCode,
  message: string,
  endOfInput = false,
): BatchEntry {
  return { position, kind: 'rejection', code, errors: [{ path: '', code, message }], endOfInput };
}

/**
 * Admits one document (waited for: admission is in order) and starts its commit (not waited for:
 * the entry settles once the document is durable, or refused).
 */
async function receiveItem(
  deps: PipelineDeps,
  request: BatchRequest,
  item: Extract<BatchItem, { kind: 'document' }>,
  position: number,
): Promise<{ entry: Promise<BatchEntry>; storageFailed: boolean }> {
  const { decodeAs } = item;
  const pipeline: PipelineDeps =
    decodeAs === undefined
      ? deps
      : { ...deps, decode: (_bytes, format, sender) => deps.decode(decodeAs, format, sender) };
  const failed = (error: unknown): BatchEntry => {
    const storage = storageFailure(error);
    if (storage !== undefined) throw storage;
    // One document that trips a bug must not hold the rest of the batch (or a dropped file,
    // which would otherwise be retried forever): it is refused, and the edge logs why.
    request.onInternalError?.(error, position);
    return rejection(position, 'INTERNAL', 'internal error while processing this document');
  };
  let entry: Promise<BatchEntry>;
  let storageFailed = false;
  try {
    const admitted = await admitDocument(pipeline, {
      sender: request.sender,
      bytes: item.bytes,
      format: request.format,
      contentType: request.contentType,
      requestId: request.requestId,
    });
    const outcome =
      'kind' in admitted ? Promise.resolve(admitted) : commitDocument(pipeline, admitted);
    entry = outcome.then((o) => entryOf(o, position), failed);
  } catch (error) {
    storageFailed = storageFailure(error) !== undefined;
    entry = Promise.resolve().then(() => failed(error));
  }
  // Awaited later, in order; until then a storage failure must not count as unhandled.
  entry.catch(() => undefined);
  return { entry, storageFailed };
}

/** The retryable STORAGE_UNAVAILABLE an error means, if it means one: the batch must stop. */
function storageFailure(error: unknown): GatewayError | undefined {
  const mapped = toStorageError(error);
  return mapped instanceof GatewayError && mapped.retryable ? mapped : undefined;
}

function entryOf(outcome: PipelineOutcome, position: number): BatchEntry {
  if (outcome.kind === 'accepted') {
    return { position, kind: 'receipt', receipt: outcome.receipt, replayed: outcome.replayed };
  }
  if (outcome.receipt !== undefined) {
    return { position, kind: 'receipt', receipt: outcome.receipt, replayed: false };
  }
  return {
    position,
    kind: 'rejection',
    code: outcome.code,
    errors: outcome.errors,
    endOfInput: false,
  };
}
