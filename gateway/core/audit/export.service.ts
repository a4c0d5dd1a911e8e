/**
 * Audit export: the seals that cover a period (optionally one partner's entries) and their
 * entries with the raw bytes, as records of an NDJSON file that verifies offline
 * (export-verify.ts). Produced a page at a time behind an opaque cursor, so an HTTP stream and
 * the CLI both write it without holding it in memory.
 *
 * Without a partner the export holds every entry of every seal it covers (the first and last
 * seal may reach outside the period), so a verifier can also prove that nothing was left out.
 */
import type { Kysely } from 'kysely';
import type { JWK } from 'jose';
import type { Database } from '../../db/tables.ts';
import { GatewayError } from '../errors.ts';
import { listPublicKeys } from '../signing/signing-keys.repository.ts';
import {
  EXPORT_FORMAT,
  EXPORT_VERSION,
  merkleTree,
  unpackLeaves,
  type AuditEntry,
  type MerkleTree,
} from './audit.ts';
import {
  countUnsealed,
  entriesWithBodies,
  lastSeal,
  sealsAfter,
  sealSpan,
  txidSpan,
  type EntryFilter,
} from './audit.repository.ts';
import type { SealRecord } from './verification.ts';
import { bodyHash } from './verify.service.ts';

const DEFAULT_PAGE_ENTRIES = 200;

export type ExportedEntry = Omit<AuditEntry, 'bodySha256'>;

export type ExportRecord =
  | {
      record: 'header';
      format: typeof EXPORT_FORMAT;
      version: typeof EXPORT_VERSION;
      gatewayId: string;
      exportedAt: string;
      filter: { from: string | null; to: string | null; partner: string | null };
      /** Every entry of every seal in the file is in it (no partner filter). */
      complete: boolean;
      /** Entries the filter selects that no seal covers yet, so not in the file. */
      unsealed: number;
    }
  | { record: 'keys'; keys: JWK[] }
  | ({ record: 'seal' } & SealRecord)
  | {
      record: 'entry';
      seal: string;
      /** Position in the seal's Merkle tree and the sibling hashes up to its root. */
      index: number | null;
      path: string[] | null;
      entry: ExportedEntry;
      /** The raw bytes, base64. */
      body: string | null;
    }
  | { record: 'end'; seals: number; entries: number };

export interface ExportDeps {
  db: Kysely<Database>;
  gatewayId: string;
}

export interface ExportPage {
  records: ExportRecord[];
  /** Pass it back (with the same filter) for the next page; null after the end record. */
  nextCursor: string | null;
}

interface Position {
  /** The seal being written, the id after which its entries continue (null: seal not written). */
  seq: string;
  after: string | null;
  last: string;
  seals: number;
  entries: number;
}

function encodeCursor(position: Position): string {
  return Buffer.from(JSON.stringify(position)).toString('base64url');
}

function decodeCursor(cursor: string): Position {
  try {
    const value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as Position;
    const digits = (v: unknown) => typeof v === 'string' && /^[0-9]{1,19}$/.test(v);
    if (
      digits(value.seq) &&
      digits(value.last) &&
      (value.after === null || digits(value.after)) &&
      Number.isInteger(value.seals) &&
      Number.isInteger(value.entries)
    ) {
      return value;
    }
  } catch {
    // reported below
  }
  throw new GatewayError('BAD_REQUEST', 'cursor is not one this export handed out');
}

export async function exportPage(
  deps: ExportDeps,
  filter: EntryFilter,
  cursor: string | undefined,
  pageEntries = DEFAULT_PAGE_ENTRIES,
): Promise<ExportPage> {
  const complete = filter.partnerId === undefined;
  const records: ExportRecord[] = [];
  let position: Position;
  if (cursor === undefined) {
    const head = await lastSeal(deps.db);
    const sealedBelow = head?.toTxid ?? '0';
    records.push(
      {
        record: 'header',
        format: EXPORT_FORMAT,
        version: EXPORT_VERSION,
        gatewayId: deps.gatewayId,
        exportedAt: new Date().toISOString(),
        filter: {
          from: filter.from?.toISOString() ?? null,
          to: filter.to?.toISOString() ?? null,
          partner: filter.partnerId ?? null,
        },
        complete,
        unsealed: await countUnsealed(deps.db, sealedBelow, filter),
      },
      { record: 'keys', keys: await listPublicKeys(deps.db) },
    );
    const txids = await txidSpan(deps.db, filter, sealedBelow);
    const span = txids === undefined ? undefined : await sealSpan(deps.db, txids.low, txids.high);
    if (span === undefined) {
      records.push({ record: 'end', seals: 0, entries: 0 });
      return { records, nextCursor: null };
    }
    position = { seq: span.first, after: null, last: span.last, seals: 0, entries: 0 };
  } else {
    position = decodeCursor(cursor);
  }

  let budget = pageEntries;
  while (budget > 0) {
    const [seal] = await sealsAfter(deps.db, (BigInt(position.seq) - 1n).toString(), 1);
    if (seal === undefined || seal.seq !== position.seq) {
      throw new GatewayError('CONFLICT', `seal ${position.seq} is gone: start the export again`);
    }
    const { leaves: packed, ...fields } = seal;
    if (position.after === null) {
      records.push({ record: 'seal', ...fields });
      position = { ...position, after: '0', seals: position.seals + 1 };
    }
    const page = await entriesWithBodies(
      deps.db,
      seal,
      { afterId: position.after ?? '0', limit: budget, filter: complete ? undefined : filter },
      bodyHash,
    );
    const locate = locator(packed);
    for (const { body, bodySha256: _hash, ...entry } of page) {
      const index = locate.index.get(entry.id);
      records.push({
        record: 'entry',
        seal: seal.seq,
        index: index ?? null,
        path: index === undefined || locate.tree === undefined ? null : locate.tree.path(index),
        entry,
        body: body === null ? null : Buffer.from(body).toString('base64'),
      });
    }
    budget -= page.length;
    position = { ...position, entries: position.entries + page.length };
    if (page.length > 0 && budget === 0) {
      position = { ...position, after: page.at(-1)!.id };
      break;
    }
    // This seal is done.
    if (position.seq === position.last) {
      records.push({ record: 'end', seals: position.seals, entries: position.entries });
      return { records, nextCursor: null };
    }
    position = { ...position, seq: (BigInt(position.seq) + 1n).toString(), after: null };
  }
  return { records, nextCursor: encodeCursor(position) };
}

/** Where each sealed entry sits in its seal's tree. */
function locator(packed: Uint8Array): { index: Map<string, number>; tree: MerkleTree | undefined } {
  const leaves = unpackLeaves(packed) ?? [];
  return {
    index: new Map(leaves.map((leaf, i) => [leaf.id, i])),
    tree: leaves.length === 0 ? undefined : merkleTree(leaves.map((l) => l.digest)),
  };
}
