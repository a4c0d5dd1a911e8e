/**
 * `POST /v1/batches`: many documents in one request — an XML `<Batch>`, a JSON array or NDJSON
 * (`application/x-ndjson`), or one document — each through the core path of `POST /v1/documents`,
 * answered 200 with one entry per document, in order, in the request's format
 * (adapters/codec/batch-receipts.ts).
 *
 * The body is streamed to a spool file first (never held in memory; BATCH_BODY_LIMIT_BYTES,
 * hashed on the way for partners that sign), then split and processed one document at a time
 * while the receipts stream back. Spooling first means a client that sends everything before it
 * reads (most do) cannot deadlock against a server that would only read as fast as it answers,
 * and a bad signature or an oversize body is refused before any document takes effect.
 *
 * A body that cannot be read at all gets the usual error status (400, 413, 415, 401). Once the
 * 200 has started, a storage failure cannot change it: the document it hit and every one after
 * it get a STORAGE_UNAVAILABLE rejection (send them again — idempotency makes that safe for any
 * that did commit). A client that disconnects stops the processing after the current document.
 */
import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Hono, type Context } from 'hono';
import type { Kysely } from 'kysely';
import {
  entryJson,
  RECEIPTS_CONTENT_TYPES,
  receiptsLayout,
} from '../../../adapters/codec/batch-receipts.ts';
import {
  batchDocumentFormat,
  batchFormatFromContentType,
  splitBatch,
  type BatchFormat,
} from '../../../adapters/codec/batch-split.ts';
import type { SchemaRegistry } from '../../../schemas/registry.ts';
import { receiveBatch, rejection, type BatchEntry } from '../../core/batches/batches.service.ts';
import { GatewayError } from '../../core/errors.ts';
import type { PipelineDeps } from '../../core/pipeline/pipeline.service.ts';
import { rememberRequestSignature } from '../../core/pipeline/request-signatures.ts';
import { isStorageUnavailable } from '../../db/database.ts';
import type { Database } from '../../db/tables.ts';
import type { Logger } from '../../logger.ts';
import type { AppEnv } from '../env.ts';
import { startSignatureCheck, type RequestSignature } from '../request-signature.ts';

export interface BatchRouteDeps {
  pipeline: PipelineDeps;
  registry: SchemaRegistry;
  db: Kysely<Database>;
  logger: Logger;
  /** BATCH_BODY_LIMIT_BYTES. */
  limitBytes: number;
  /** Where bodies wait while they are processed (DATA_DIR/spool). */
  spoolDir: string;
}

/** Receipts are sent in pieces of about this size (one write per document would cost more). */
const RESPONSE_PIECE_BYTES = 16 * 1024;

export function batchRoutes(deps: BatchRouteDeps) {
  return new Hono<AppEnv>().post('/', async (c) => {
    const contentType = c.req.header('content-type') ?? '';
    const format = batchFormatFromContentType(contentType);
    const { partner, signingSecret } = c.get('caller');
    const documents = format === undefined ? undefined : batchDocumentFormat(format, partner);
    if (format === undefined || documents === undefined) {
      throw new GatewayError(
        'UNSUPPORTED_MEDIA_TYPE',
        format === 'csv'
          ? `${partner.id} is not registered to send CSV catalogues (its inbound format is ${partner.inboundFormat})`
          : `Content-Type ${contentType || '(none)'} is not supported: send application/xml, application/json, application/x-ndjson or text/csv`,
      );
    }
    const declared = Number(c.req.header('content-length') ?? '0');
    if (declared > deps.limitBytes) throw tooLarge(deps.limitBytes);
    const signature = partner.requireSignedRequests
      ? startSignatureCheck(signingSecret, {
          id: c.req.header('webhook-id'),
          timestamp: c.req.header('webhook-timestamp'),
          signature: c.req.header('webhook-signature'),
        })
      : undefined;

    const spool = await spoolBody(c, deps, signature);
    try {
      if (signature !== undefined) {
        signature.verify();
        if (!(await rememberRequestSignature(deps.db, partner.id, signature.id))) {
          throw new GatewayError(
            'BAD_SIGNATURE',
            'request signature refused: this webhook-id was already used (replay)',
          );
        }
      }
      const requestId = c.get('requestId');
      const entries = receiveBatch(deps.pipeline, {
        sender: partner,
        items: splitBatch(createReadStream(spool), format),
        format: documents.format,
        contentType: documents.contentType,
        requestId,
        onInternalError: (error, position) =>
          deps.logger.error({ err: error, requestId, position }, 'batch document failed'),
      });
      const first = await entries.next();
      if (first.done !== true && first.value.kind === 'rejection' && first.value.endOfInput) {
        // Nothing could be read: the request is refused as a whole, as one document would be.
        throw new GatewayError(first.value.code, first.value.errors[0]?.message ?? 'unreadable', {
          details: first.value.errors,
        });
      }
      const body = receiptStream(
        deps,
        format,
        first.done === true ? undefined : first.value,
        entries,
        spool,
        (error) =>
          deps.logger.warn({ err: error, requestId }, 'batch stopped: storage unavailable'),
      );
      return c.body(body, 200, { 'content-type': RECEIPTS_CONTENT_TYPES[format] });
    } catch (error) {
      await rm(spool, { force: true });
      throw error;
    }
  });
}

function tooLarge(limit: number): GatewayError {
  return new GatewayError('PAYLOAD_TOO_LARGE', `the batch is larger than ${limit} bytes`);
}

/** The body, to a spool file of its own (0600), counted against the limit and hashed if signed. */
async function spoolBody(
  c: Context<AppEnv>,
  deps: BatchRouteDeps,
  signature: RequestSignature | undefined,
): Promise<string> {
  await mkdir(deps.spoolDir, { recursive: true, mode: 0o700 });
  const file = path.join(deps.spoolDir, `batch-${randomBytes(9).toString('base64url')}`);
  const body = c.req.raw.body;
  let size = 0;
  try {
    await pipeline(
      async function* () {
        if (body === null) return;
        for await (const chunk of body as AsyncIterable<Uint8Array>) {
          size += chunk.byteLength;
          if (size > deps.limitBytes) throw tooLarge(deps.limitBytes);
          signature?.update(chunk);
          yield chunk;
        }
      },
      createWriteStream(file, { flags: 'wx', mode: 0o600 }),
    );
  } catch (error) {
    await rm(file, { force: true });
    throw error;
  }
  return file;
}

/**
 * The 200 body: entries are produced as the client reads (pull), so a slow reader slows the
 * processing instead of piling receipts up in memory. The spool file goes when the stream ends.
 */
function receiptStream(
  deps: BatchRouteDeps,
  format: BatchFormat,
  first: BatchEntry | undefined,
  entries: AsyncGenerator<BatchEntry>,
  spool: string,
  onStorageFailure: (error: unknown) => void,
): ReadableStream<Uint8Array> {
  const layout = receiptsLayout(format, deps.registry);
  const encoder = new TextEncoder();
  let pending = first;
  let written = 0;
  let source = entries;
  const cleanup = () => rm(spool, { force: true });

  async function next(): Promise<BatchEntry | undefined> {
    if (pending !== undefined) {
      const entry = pending;
      pending = undefined;
      return entry;
    }
    try {
      const result = await source.next();
      return result.done === true ? undefined : result.value;
    } catch (error) {
      if (!isStorageUnavailable(error)) throw error;
      onStorageFailure(error);
      // Every position from here on is answered, unprocessed: read past what was answered.
      source = unprocessed(splitBatch(createReadStream(spool), format), written);
      return next();
    }
  }

  return new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(encoder.encode(layout.open));
    },
    async pull(controller) {
      try {
        let piece = '';
        while (piece.length < RESPONSE_PIECE_BYTES) {
          const entry = await next();
          if (entry === undefined) {
            controller.enqueue(encoder.encode(piece + layout.close));
            controller.close();
            await cleanup();
            return;
          }
          piece += layout.entry(entryJson(entry), written === 0);
          written = entry.position;
        }
        controller.enqueue(encoder.encode(piece));
      } catch (error) {
        controller.error(error);
        await cleanup();
      }
    },
    async cancel() {
      await source.return(undefined);
      await cleanup();
    },
  });
}

async function* unprocessed(
  items: AsyncIterable<{ kind: string }>,
  answered: number,
): AsyncGenerator<BatchEntry> {
  let position = 0;
  for await (const item of items) {
    position += 1;
    if (position <= answered) continue;
    yield rejection(
      position,
      'STORAGE_UNAVAILABLE',
      'not processed: the gateway cannot reach its storage; send this document again',
      item.kind === 'broken',
    );
  }
}
