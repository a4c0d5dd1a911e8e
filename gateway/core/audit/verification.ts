/**
 * The checks that both verifiers share — the one over the database and the offline one over an
 * export file: a seal is signed by a gateway key over exactly its fields, hashes to its stored
 * hash and follows the seal before it; a seal's entry list matches its root; the entries found
 * are the entries sealed. Each check returns the first problem, naming the seal and the entry.
 */
import { compactVerify, createLocalJWKSet, type JWK } from 'jose';
import {
  entryDigest,
  GENESIS_HASH,
  merkleTree,
  sealPayload,
  sha256,
  type AuditEntry,
  type Leaf,
  type SealFields,
} from './audit.ts';

export type AuditProblemCode =
  /** Not signed by any known gateway key: forged, or signed by another key. */
  | 'seal-signature'
  /** The stored fields or hash differ from what the gateway signed. */
  | 'seal-altered'
  /** The seal does not follow the one before it (a seal deleted, or one inserted). */
  | 'seal-chain'
  /** The seal's list of entries does not match its Merkle root, count or id range. */
  | 'seal-entries'
  /** A sealed entry is gone (deleted, or moved out of the seal's range). */
  | 'entry-missing'
  /** An entry in the seal's range that was never sealed (inserted afterwards). */
  | 'entry-unexpected'
  /** An entry whose content changed since it was sealed. */
  | 'entry-altered'
  /** An entry holding what was sealed under another id: the log was reordered. */
  | 'entry-moved'
  /** An export file that is not well formed, or ends early. */
  | 'export-format';

export interface AuditProblem {
  code: AuditProblemCode;
  /** The seq of the first broken seal (null when the file is broken before any seal). */
  seal: string | null;
  /** The id of the first broken entry, when an entry is to blame. */
  entry: string | null;
  message: string;
}

export interface SealHead {
  seq: string;
  hash: string;
  sealedAt: string;
}

export interface AuditReport {
  ok: boolean;
  /** Seals and sealed entries checked before the first problem (all of them when ok). */
  seals: number;
  entries: number;
  /** Entries not sealed yet: they are covered by the next seal-audit run. */
  unsealed: number;
  /** The last seal checked: keep its hash elsewhere to detect a truncated chain later. */
  head: SealHead | null;
  problem: AuditProblem | null;
}

export interface SealRecord extends SealFields {
  sealHash: string;
  /** Compact JWS (EdDSA) over the seal payload. */
  signature: string;
}

export type KeySet = ReturnType<typeof createLocalJWKSet>;

export function keySet(keys: readonly JWK[]): KeySet {
  return createLocalJWKSet({ keys: [...keys] });
}

function sealProblem(seal: SealRecord, code: AuditProblemCode, message: string): AuditProblem {
  return { code, seal: seal.seq, entry: null, message: `seal ${seal.seq}: ${message}` };
}

/**
 * The seal alone and in its chain. `previous` is the seal before it, 'genesis' when it must be
 * the first seal of the log, 'unknown' when the chain before it is not at hand (an export).
 */
export async function checkSeal(
  seal: SealRecord,
  previous: SealRecord | 'genesis' | 'unknown',
  keys: KeySet,
): Promise<AuditProblem | undefined> {
  let payload: string;
  try {
    const verified = await compactVerify(seal.signature, keys, { algorithms: ['EdDSA'] });
    if (verified.protectedHeader.kid !== seal.keyId) {
      return sealProblem(
        seal,
        'seal-altered',
        `signed with key ${String(verified.protectedHeader.kid)}, not ${seal.keyId}`,
      );
    }
    payload = new TextDecoder().decode(verified.payload);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    return sealProblem(
      seal,
      'seal-signature',
      `the signature does not verify with any gateway key (${reason})`,
    );
  }
  if (payload !== sealPayload(seal)) {
    return sealProblem(seal, 'seal-altered', 'its fields differ from what the gateway signed');
  }
  if (seal.sealHash !== sha256(payload).toString('hex')) {
    return sealProblem(seal, 'seal-altered', 'its stored hash is not the hash of its fields');
  }
  if (previous === 'genesis') {
    if (seal.seq !== '1' || seal.prevHash !== GENESIS_HASH || seal.fromTxid !== '0') {
      return sealProblem(seal, 'seal-chain', 'the first seal of the log is missing');
    }
  } else if (previous !== 'unknown') {
    if (BigInt(seal.seq) !== BigInt(previous.seq) + 1n) {
      return sealProblem(seal, 'seal-chain', `it follows seal ${previous.seq}: seals are missing`);
    }
    if (seal.prevHash !== previous.sealHash || seal.fromTxid !== previous.toTxid) {
      return sealProblem(seal, 'seal-chain', `it does not chain to seal ${previous.seq}`);
    }
  }
  return undefined;
}

/** The seal's own entry list against its root, count and id range. */
export function checkSealEntries(
  seal: SealRecord,
  leaves: readonly Leaf[] | undefined,
): AuditProblem | undefined {
  const ordered = leaves?.every(
    (leaf, i) => i === 0 || BigInt(leaves[i - 1]!.id) < BigInt(leaf.id),
  );
  if (
    leaves === undefined ||
    !ordered ||
    leaves.length !== seal.count ||
    leaves[0]?.id !== seal.firstId ||
    leaves.at(-1)?.id !== seal.lastId ||
    merkleTree(leaves.map((l) => l.digest)).root !== seal.merkleRoot
  ) {
    return sealProblem(seal, 'seal-entries', 'its list of entries does not match its Merkle root');
  }
  return undefined;
}

/**
 * The entries found in the seal's range (ordered by id) against the entries sealed, merged by id:
 * the first difference is the first broken entry.
 */
export function compareEntries(
  seal: SealRecord,
  sealed: readonly Leaf[],
  found: readonly AuditEntry[],
): AuditProblem | undefined {
  const entryProblem = (code: AuditProblemCode, entry: string, message: string): AuditProblem => ({
    code,
    seal: seal.seq,
    entry,
    message: `seal ${seal.seq}, entry ${entry}: ${message}`,
  });
  let i = 0;
  let j = 0;
  while (i < sealed.length || j < found.length) {
    const leaf = sealed[i];
    const entry = found[j];
    if (entry === undefined || (leaf !== undefined && BigInt(leaf.id) < BigInt(entry.id))) {
      return entryProblem('entry-missing', leaf!.id, 'sealed, but no longer in the log');
    }
    if (leaf === undefined || BigInt(entry.id) < BigInt(leaf.id)) {
      return entryProblem('entry-unexpected', entry.id, 'in the sealed range, but never sealed');
    }
    if (entryDigest(entry) !== leaf.digest) {
      // Same content under another sealed id: rows were swapped or renumbered.
      const original = sealed.find(
        (other) =>
          other.id !== entry.id && entryDigest({ ...entry, id: other.id }) === other.digest,
      );
      if (original !== undefined) {
        return entryProblem(
          'entry-moved',
          entry.id,
          `holds what was sealed as entry ${original.id}`,
        );
      }
      const hint =
        entry.bodySha256 !== null && entry.digest !== null && entry.bodySha256 !== entry.digest
          ? ' (its body no longer matches its digest)'
          : '';
      return entryProblem('entry-altered', entry.id, `changed since it was sealed${hint}`);
    }
    i += 1;
    j += 1;
  }
  return undefined;
}
