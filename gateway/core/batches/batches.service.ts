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
import { receiveDocument, type PipelineDeps } from '../pipeline/pipeline.service.ts';

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
  const skip = request.skip ?? 0;
  let position = 0;
  for await (const item of request.items) {
    position += 1;
    if (position <= skip) continue;
    if (item.kind === 'document') {
      yield await receiveItem(deps, request, item, position);
      continue;
    }
    yield rejection(position, item.code, item.message, item.kind === 'broken');
    if (item.kind === 'broken') return;
  }
}

export function rejection(
  position: number,
  code: ErrorCode,
  message: string,
  endOfInput = false,
): BatchEntry {
  return { position, kind: 'rejection', code, errors: [{ path: '', code, message }], endOfInput };
}

async function receiveItem(
  deps: PipelineDeps,
  request: BatchRequest,
  item: Extract<BatchItem, { kind: 'document' }>,
  position: number,
): Promise<BatchEntry> {
  const { decodeAs } = item;
  const pipeline: PipelineDeps =
    decodeAs === undefined
      ? deps
      : { ...deps, decode: (_bytes, format, sender) => deps.decode(decodeAs, format, sender) };
  try {
    const outcome = await receiveDocument(pipeline, {
      sender: request.sender,
      bytes: item.bytes,
      format: request.format,
      contentType: request.contentType,
      requestId: request.requestId,
    });
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
  } catch (error) {
    const mapped = toStorageError(error);
    if (mapped instanceof GatewayError && mapped.retryable) throw mapped;
    // One document that trips a bug must not hold the rest of the batch (or a dropped file,
    // which would otherwise be retried forever): it is refused, and the edge logs why.
    request.onInternalError?.(error, position);
    return rejection(position, 'INTERNAL', 'internal error while processing this document');
  }
}
