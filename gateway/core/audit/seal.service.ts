/**
 * Sealing the message log: new entries go into signed seals, each chained to the one before.
 *
 * Watermark invariant (as the feeds' cursors, feeds.service.ts): a seal covers the entries of
 * the transactions in [previous seal's toTxid, xmin), xmin being the oldest transaction still
 * running when the sealer looked. Every transaction below xmin has ended, so the entries in the
 * range are final: a writer that drew a lower entry id but commits later has a txid ≥ xmin and
 * goes into the next seal, never missed and never sealed twice. Appends take no lock at all; the
 * sealers take one advisory lock among themselves, so the chain has one head. Ordering entries
 * by id inside a seal only fixes their order in the Merkle tree. A seal holds at most
 * MAX_ENTRIES_PER_SEAL entries (more only when one transaction wrote more), cut at a transaction
 * boundary so the range stays exact.
 *
 * Rejected alternative: sealing by id ranges, which would need a lock on every append (or
 * would skip late commits).
 */
import type { Kysely } from 'kysely';
import type { Database } from '../../db/tables.ts';
import type { Signer } from '../signing/signer.ts';
import {
  entryDigest,
  GENESIS_HASH,
  merkleTree,
  packLeaves,
  sealHash,
  sealPayload,
  type AuditEntry,
  type SealFields,
} from './audit.ts';
import {
  entriesForSealing,
  insertSeal,
  lastSeal,
  lockSealing,
  snapshotXmin,
  txidAtOffset,
} from './audit.repository.ts';

export const MAX_ENTRIES_PER_SEAL = 5000;
/** Entries digested between two turns of the event loop. */
const DIGESTS_PER_TURN = 250;

export interface SealDeps {
  db: Kysely<Database>;
  signer: Signer;
}

export interface SealResult {
  seals: number;
  entries: number;
}

/** Seals everything sealable now, one seal per transaction, until caught up or stopped. */
export async function sealPending(
  deps: SealDeps,
  options: { signal?: AbortSignal; maxSeals?: number } = {},
): Promise<SealResult> {
  const result: SealResult = { seals: 0, entries: 0 };
  while (options.signal?.aborted !== true && result.seals < (options.maxSeals ?? 1000)) {
    const sealed = await sealNext(deps);
    if (sealed === 0) break;
    result.seals += 1;
    result.entries += sealed;
  }
  return result;
}

/** One seal; the number of entries it covers (0: nothing to seal). */
async function sealNext(deps: SealDeps): Promise<number> {
  return deps.db.transaction().execute(async (trx) => {
    await lockSealing(trx);
    const head = await lastSeal(trx);
    const fromTxid = head?.toTxid ?? '0';
    const xmin = await snapshotXmin(trx);
    if (BigInt(xmin) <= BigInt(fromTxid)) return 0;
    const sealable = { fromTxid, toTxid: xmin };
    let toTxid = xmin;
    const cut = await txidAtOffset(trx, sealable, MAX_ENTRIES_PER_SEAL);
    if (cut !== undefined) {
      // Cut before the transaction of the entry past the limit, unless it is the first one.
      const firstTxid = await txidAtOffset(trx, sealable, 0);
      toTxid = cut === firstTxid ? (BigInt(cut) + 1n).toString() : cut;
    }
    const entries = await entriesForSealing(trx, { fromTxid, toTxid });
    const first = entries[0];
    const last = entries.at(-1);
    if (first === undefined || last === undefined) return 0;

    const leaves = await leavesOf(entries);
    const fields: SealFields = {
      seq: head === undefined ? '1' : (BigInt(head.seq) + 1n).toString(),
      fromTxid,
      toTxid,
      firstId: first.id,
      lastId: last.id,
      count: entries.length,
      merkleRoot: merkleTree(leaves.map((l) => l.digest)).root,
      prevHash: head?.sealHash ?? GENESIS_HASH,
      sealedAt: new Date().toISOString(),
      keyId: deps.signer.keyId,
    };
    const seal = {
      ...fields,
      sealHash: sealHash(fields),
      signature: deps.signer.sign(sealPayload(fields)),
    };
    return (await insertSeal(trx, seal, packLeaves(leaves))) ? entries.length : 0;
  });
}

/**
 * The entries' digests, in order — giving the event loop a turn every DIGESTS_PER_TURN entries:
 * digesting a full seal's 5,000 entries takes ~70 ms here, which the requests served beside the
 * seal job would otherwise wait out.
 */
async function leavesOf(entries: readonly AuditEntry[]): Promise<{ id: string; digest: string }[]> {
  const leaves: { id: string; digest: string }[] = [];
  for (const [i, entry] of entries.entries()) {
    if (i > 0 && i % DIGESTS_PER_TURN === 0) await new Promise((resolve) => setImmediate(resolve));
    leaves.push({ id: entry.id, digest: entryDigest(entry) });
  }
  return leaves;
}
