/**
 * The evidence format of the audit log, as pure functions (README "Audit and operations" gives
 * the same definitions for people writing their own verifier):
 *
 *  - canonical JSON: RFC 8785 (JCS) for the values we produce — object keys sorted by UTF-16 code
 *    units, no whitespace, strings and numbers as ECMAScript JSON.stringify writes them;
 *  - the entry digest: SHA-256 of the canonical JSON of an entry's fields, the body represented
 *    by its own SHA-256;
 *  - the Merkle tree over a seal's entry digests, in entry id order, hashed as RFC 6962 (leaf =
 *    SHA-256(0x00 ‖ digest), node = SHA-256(0x01 ‖ left ‖ right), an odd last node moves up);
 *  - the seal payload (canonical JSON) that the gateway key signs; its SHA-256 is the seal hash
 *    the next seal chains to.
 */
import { createHash } from 'node:crypto';

export const AUDIT_FORMAT_VERSION = 1;
export const EXPORT_FORMAT = 'nakadachi-audit-export';
export const EXPORT_VERSION = 1;
/** The previous-seal hash of the first seal. */
export const GENESIS_HASH = '0'.repeat(64);

/** A message log entry as sealed: every column, the body replaced by its SHA-256. */
export interface AuditEntry {
  /** Decimal strings for the bigint and xid8 columns. */
  id: string;
  txid: string;
  /** RFC 3339, UTC, microseconds: exactly what the database holds. */
  loggedAt: string;
  direction: string;
  event: string;
  partnerId: string;
  messageId: string | null;
  documentType: string | null;
  status: string;
  contentType: string | null;
  bodySha256: string | null;
  digest: string | null;
  refs: unknown;
  detail: unknown;
  requestId: string | null;
}

export interface SealFields {
  seq: string;
  /** The sealed transactions are [fromTxid, toTxid). */
  fromTxid: string;
  toTxid: string;
  firstId: string;
  lastId: string;
  count: number;
  merkleRoot: string;
  prevHash: string;
  sealedAt: string;
  keyId: string;
}

/** One sealed entry: its id and its digest, as the seal keeps them. */
export interface Leaf {
  id: string;
  digest: string;
}

export function canonicalJson(value: unknown): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return JSON.stringify(value);
    case 'number':
      if (!Number.isFinite(value)) throw new TypeError('canonical JSON has no NaN or Infinity');
      return JSON.stringify(value);
    case 'object': {
      if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v ?? null)).join(',')}]`;
      const record = value as Record<string, unknown>;
      const members = Object.keys(record)
        .filter((key) => record[key] !== undefined)
        .sort()
        .map((key) => `${JSON.stringify(key)}:${canonicalJson(record[key])}`);
      return `{${members.join(',')}}`;
    }
    default:
      throw new TypeError(`canonical JSON cannot hold a ${typeof value}`);
  }
}

export function sha256(data: Uint8Array | string): Buffer {
  return createHash('sha256').update(data).digest();
}

/** The fields that go into an entry digest, named explicitly so nothing else slips in. */
export function entryDigest(entry: AuditEntry): string {
  return sha256(
    canonicalJson({
      v: AUDIT_FORMAT_VERSION,
      id: entry.id,
      txid: entry.txid,
      loggedAt: entry.loggedAt,
      direction: entry.direction,
      event: entry.event,
      partnerId: entry.partnerId,
      messageId: entry.messageId,
      documentType: entry.documentType,
      status: entry.status,
      contentType: entry.contentType,
      bodySha256: entry.bodySha256,
      digest: entry.digest,
      refs: entry.refs,
      detail: entry.detail ?? null,
      requestId: entry.requestId,
    }),
  ).toString('hex');
}

// --- Merkle tree (RFC 6962 hashing) ----------------------------------------------------------

function leafHash(digest: string): Buffer {
  return sha256(Buffer.concat([Buffer.from([0]), Buffer.from(digest, 'hex')]));
}

function nodeHash(left: Buffer, right: Buffer): Buffer {
  return sha256(Buffer.concat([Buffer.from([1]), left, right]));
}

export interface MerkleTree {
  root: string;
  /** The sibling hashes from leaf `index` up to the root (none on a level where it moves up). */
  path(index: number): string[];
}

/** Built bottom-up: pairs hashed level by level, an odd last node carried up unchanged. */
export function merkleTree(digests: readonly string[]): MerkleTree {
  if (digests.length === 0) throw new RangeError('a Merkle tree needs at least one leaf');
  const levels = [digests.map(leafHash)];
  for (let level = levels[0]!; level.length > 1;) {
    const next: Buffer[] = [];
    for (let i = 0; i < level.length; i += 2) {
      const right = level[i + 1];
      next.push(right === undefined ? level[i]! : nodeHash(level[i]!, right));
    }
    levels.push(next);
    level = next;
  }
  return {
    root: levels[levels.length - 1]![0]!.toString('hex'),
    path(index) {
      const path: string[] = [];
      let at = index;
      for (const level of levels.slice(0, -1)) {
        const sibling = level[at % 2 === 1 ? at - 1 : at + 1];
        if (sibling !== undefined) path.push(sibling.toString('hex'));
        at = Math.floor(at / 2);
      }
      return path;
    },
  };
}

/** The root that leaf `index` of `size` leaves and its path lead to (undefined if malformed). */
export function rootFromPath(
  digest: string,
  index: number,
  size: number,
  path: readonly string[],
): string | undefined {
  if (!Number.isInteger(index) || index < 0 || index >= size) return undefined;
  let hash = leafHash(digest);
  let at = index;
  let width = size;
  let used = 0;
  while (width > 1) {
    if (at % 2 === 1 || at + 1 < width) {
      const sibling = path[used];
      if (sibling === undefined || !/^[0-9a-f]{64}$/.test(sibling)) return undefined;
      used += 1;
      const other = Buffer.from(sibling, 'hex');
      hash = at % 2 === 1 ? nodeHash(other, hash) : nodeHash(hash, other);
    }
    at = Math.floor(at / 2);
    width = Math.ceil(width / 2);
  }
  return used === path.length ? hash.toString('hex') : undefined;
}

// --- seals ------------------------------------------------------------------------------------

/** What the gateway key signs: the canonical JSON of the seal's fields. */
export function sealPayload(fields: SealFields): string {
  return canonicalJson({
    v: AUDIT_FORMAT_VERSION,
    seq: fields.seq,
    fromTxid: fields.fromTxid,
    toTxid: fields.toTxid,
    firstId: fields.firstId,
    lastId: fields.lastId,
    count: fields.count,
    merkleRoot: fields.merkleRoot,
    prevHash: fields.prevHash,
    sealedAt: fields.sealedAt,
    keyId: fields.keyId,
  });
}

export function sealHash(fields: SealFields): string {
  return sha256(sealPayload(fields)).toString('hex');
}

const LEAF_BYTES = 40;

/** (id as 8 bytes big-endian, digest as 32 bytes) per leaf, in order. */
export function packLeaves(leaves: readonly Leaf[]): Buffer {
  const packed = Buffer.alloc(leaves.length * LEAF_BYTES);
  leaves.forEach((leaf, i) => {
    packed.writeBigUInt64BE(BigInt(leaf.id), i * LEAF_BYTES);
    packed.write(leaf.digest, i * LEAF_BYTES + 8, 32, 'hex');
  });
  return packed;
}

export function unpackLeaves(packed: Uint8Array): Leaf[] | undefined {
  if (packed.length % LEAF_BYTES !== 0) return undefined;
  const buffer = Buffer.from(packed.buffer, packed.byteOffset, packed.length);
  const leaves: Leaf[] = [];
  for (let at = 0; at < buffer.length; at += LEAF_BYTES) {
    leaves.push({
      id: buffer.readBigUInt64BE(at).toString(),
      digest: buffer.toString('hex', at + 8, at + LEAF_BYTES),
    });
  }
  return leaves;
}
