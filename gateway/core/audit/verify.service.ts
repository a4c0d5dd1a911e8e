/**
 * Verifying the audit log in the database: every seal in order (signature, hash, chain, entry
 * list), then the entries of its transaction range recomputed from the stored rows — the body
 * hashed here, not by the database — against the entries it sealed. Stops at the first problem.
 */
import type { Kysely } from 'kysely';
import type { Database } from '../../db/tables.ts';
import { listPublicKeys } from '../signing/signing-keys.repository.ts';
import { sha256, unpackLeaves, type AuditEntry } from './audit.ts';
import {
  countUnsealed,
  entriesWithBodies,
  lastSeal,
  sealsAfter,
  sealTotals,
  type TxidRange,
} from './audit.repository.ts';
import {
  checkSeal,
  checkSealEntries,
  compareEntries,
  keySet,
  type AuditReport,
  type SealHead,
  type SealRecord,
} from './verification.ts';

const SEALS_PER_PAGE = 20;
const ENTRIES_PER_PAGE = 500;

export function bodyHash(body: Uint8Array): string {
  return sha256(body).toString('hex');
}

function headOf(seal: SealRecord | undefined): SealHead | null {
  return seal === undefined
    ? null
    : { seq: seal.seq, hash: seal.sealHash, sealedAt: seal.sealedAt };
}

async function rangeEntries(db: Kysely<Database>, range: TxidRange): Promise<AuditEntry[]> {
  const entries: AuditEntry[] = [];
  for (let afterId: string | undefined; ;) {
    const page = await entriesWithBodies(db, range, { afterId, limit: ENTRIES_PER_PAGE }, bodyHash);
    for (const { body: _body, ...entry } of page) entries.push(entry);
    if (page.length < ENTRIES_PER_PAGE) return entries;
    afterId = page.at(-1)?.id;
  }
}

export async function verifyAuditLog(db: Kysely<Database>): Promise<AuditReport> {
  const keys = keySet(await listPublicKeys(db));
  let previous: SealRecord | undefined;
  let entries = 0;
  let seals = 0;
  for (;;) {
    const page = await sealsAfter(db, previous?.seq ?? '0', SEALS_PER_PAGE);
    for (const { leaves: packed, ...seal } of page) {
      const leaves = unpackLeaves(packed);
      const problem =
        (await checkSeal(seal, previous ?? 'genesis', keys)) ??
        checkSealEntries(seal, leaves) ??
        compareEntries(seal, leaves ?? [], await rangeEntries(db, seal));
      if (problem !== undefined) {
        return { ok: false, seals, entries, unsealed: 0, head: headOf(previous), problem };
      }
      previous = seal;
      seals += 1;
      entries += seal.count;
    }
    if (page.length < SEALS_PER_PAGE) break;
  }
  const unsealed = await countUnsealed(db, previous?.toTxid ?? '0');
  return { ok: true, seals, entries, unsealed, head: headOf(previous), problem: null };
}

export interface AuditStatus {
  seals: number;
  sealedEntries: number;
  unsealed: number;
  head: SealHead | null;
}

/** What the seals cover so far, without verifying anything (cheap: for dashboards). */
export async function auditStatus(db: Kysely<Database>): Promise<AuditStatus> {
  const head = await lastSeal(db);
  const totals = await sealTotals(db);
  return {
    seals: totals.seals,
    sealedEntries: totals.entries,
    unsealed: await countUnsealed(db, head?.toTxid ?? '0'),
    head: headOf(head),
  };
}
