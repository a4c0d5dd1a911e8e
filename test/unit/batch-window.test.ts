/**
 * How far a batch is admitted ahead of its commits: twice BATCH_COMMIT_MAX documents, and never
 * more than WINDOW_BYTES of them — a file of large documents must not pile up in memory, nor go
 * into one transaction. The in-order lane is held shut here, so nothing commits and the batch
 * admits exactly as far as its window lets it.
 */
import { describe, expect, it } from 'vitest';
import {
  receiveBatch,
  WINDOW_BYTES,
  type BatchEntry,
  type BatchItem,
} from '../../gateway/core/batches/batches.service.ts';
import { catalogueHandlers } from '../../gateway/core/catalogue/catalogue.service.ts';
import type { CanonicalDocument } from '../../gateway/core/document.ts';
import type { Partner } from '../../gateway/core/partners/partners.ts';
import type { Committer } from '../../gateway/core/pipeline/group-commit.ts';
import { createHandlerRegistry } from '../../gateway/core/pipeline/handlers.ts';
import type { InboundClaim } from '../../gateway/core/pipeline/inbound.repository.ts';
import type { PipelineDeps } from '../../gateway/core/pipeline/pipeline.service.ts';
import { itemNotice } from '../support/batches.ts';

const seller: Partner = {
  id: 'WINDOW-SELLER',
  name: 'Window seller',
  roles: ['seller'],
  status: 'active',
  format: 'json',
  inboundFormat: 'json',
  deliveryMode: 'mailbox',
  endpointUrl: null,
  endpointDisabledAt: null,
  requireSignedRequests: false,
  createdAt: new Date(),
  updatedAt: new Date(),
};

/** A batch of `count` documents of `size` bytes; how many it admits while nothing commits. */
async function admittedAhead(count: number, size: number, batchCommitMax: number) {
  let admitted = 0;
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  const document = itemNotice(seller.id) as unknown as CanonicalDocument;
  // The lane answers each document with a stand-in receipt, once opened; it runs no unit.
  const heldLane: Committer<InboundClaim> = async <T>(): Promise<T> => {
    await opened;
    return document as T;
  };
  const deps = {
    gatewayId: 'GW',
    handlers: createHandlerRegistry(catalogueHandlers),
    decode: () => {
      admitted += 1;
      return { ok: true, document };
    },
    commitInOrder: () => heldLane,
    batchCommitMax,
  } as unknown as PipelineDeps;
  const items = Array.from({ length: count }, (): BatchItem => ({
    kind: 'document',
    bytes: new Uint8Array(size),
  }));
  const batch = receiveBatch(deps, {
    sender: seller,
    items: asyncItems(items),
    format: 'json',
    contentType: 'application/x-ndjson',
  });
  const first = batch.next();
  // Admission runs on microtasks and stops at the window: a turn of the event loop is enough.
  await new Promise((resolve) => setImmediate(resolve));
  const ahead = admitted;
  open();
  const entries: BatchEntry[] = [(await first).value as BatchEntry];
  for await (const entry of batch) entries.push(entry);
  return { ahead, answered: entries.map((e) => e.kind) };
}

/** The items one by one, as a reader of the input gives them. */
function asyncItems(items: readonly BatchItem[]): AsyncIterable<BatchItem> {
  return {
    [Symbol.asyncIterator]: () => {
      const iterator = items[Symbol.iterator]();
      return { next: () => Promise.resolve(iterator.next()) };
    },
  };
}

describe('a batch admitted ahead of its commits', () => {
  it('takes twice BATCH_COMMIT_MAX small documents', async () => {
    const { ahead, answered } = await admittedAhead(100, 1_000, 16);
    expect(ahead).toBe(32);
    expect(answered).toEqual(Array(100).fill('receipt'));
  });

  it('takes no more than WINDOW_BYTES of large documents, whatever BATCH_COMMIT_MAX allows', async () => {
    const size = 1024 * 1024;
    const { ahead, answered } = await admittedAhead(40, size, 256);
    // The document that takes the window past WINDOW_BYTES is the last one admitted.
    expect(ahead).toBe(Math.floor(WINDOW_BYTES / size) + 1);
    expect(answered).toEqual(Array(40).fill('receipt'));
  });
});
