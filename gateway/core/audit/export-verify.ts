/**
 * Offline verification of an audit export (no database, no gateway): each seal is checked for
 * its signature, hash and link to the seal before it in the file; each entry's digest is
 * recomputed from its fields and its raw bytes and must lead, through its Merkle path, to the
 * root its seal signed. A complete export (no partner filter) must also hold every entry of
 * every seal. The keys are the caller's (trusted, e.g. the JWKS fetched earlier) or, failing
 * that, the ones the file carries — which proves integrity, not origin.
 */
import type { JWK } from 'jose';
import {
  entryDigest,
  EXPORT_FORMAT,
  EXPORT_VERSION,
  rootFromPath,
  sha256,
  type AuditEntry,
} from './audit.ts';
import {
  checkSeal,
  keySet,
  type AuditProblem,
  type AuditProblemCode,
  type AuditReport,
  type KeySet,
  type SealRecord,
} from './verification.ts';

export interface ExportVerification extends AuditReport {
  /** The file claims to hold every entry of its seals (and that was checked). */
  complete: boolean;
  /** Where the verifying keys came from. */
  keys: 'given' | 'file';
}

type Json = Record<string, unknown>;

class Malformed extends Error {}

function text(record: Json, field: string): string {
  const value = record[field];
  if (typeof value !== 'string') throw new Malformed(`${field} must be a string`);
  return value;
}

function nullableText(record: Json, field: string): string | null {
  return record[field] === null ? null : text(record, field);
}

function decimal(record: Json, field: string): string {
  const value = text(record, field);
  if (!/^(0|[1-9][0-9]{0,19})$/.test(value)) throw new Malformed(`${field} must be decimal digits`);
  return value;
}

function integer(record: Json, field: string): number {
  const value = record[field];
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new Malformed(`${field} must be a whole number`);
  }
  return value;
}

function object(value: unknown, what: string): Json {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new Malformed(`${what} must be an object`);
  }
  return value as Json;
}

function sealOf(record: Json): SealRecord {
  return {
    seq: decimal(record, 'seq'),
    fromTxid: decimal(record, 'fromTxid'),
    toTxid: decimal(record, 'toTxid'),
    firstId: decimal(record, 'firstId'),
    lastId: decimal(record, 'lastId'),
    count: integer(record, 'count'),
    merkleRoot: text(record, 'merkleRoot'),
    prevHash: text(record, 'prevHash'),
    sealedAt: text(record, 'sealedAt'),
    keyId: text(record, 'keyId'),
    sealHash: text(record, 'sealHash'),
    signature: text(record, 'signature'),
  };
}

function entryOf(record: Json): AuditEntry {
  const entry = object(record.entry, 'entry');
  const body = nullableText(record, 'body');
  return {
    id: decimal(entry, 'id'),
    txid: decimal(entry, 'txid'),
    loggedAt: text(entry, 'loggedAt'),
    direction: text(entry, 'direction'),
    event: text(entry, 'event'),
    partnerId: text(entry, 'partnerId'),
    messageId: nullableText(entry, 'messageId'),
    documentType: nullableText(entry, 'documentType'),
    status: text(entry, 'status'),
    contentType: nullableText(entry, 'contentType'),
    bodySha256: body === null ? null : sha256(Buffer.from(body, 'base64')).toString('hex'),
    digest: nullableText(entry, 'digest'),
    refs: entry.refs,
    detail: entry.detail ?? null,
    requestId: nullableText(entry, 'requestId'),
  };
}

function pathOf(record: Json): { index: number; path: string[] } | undefined {
  if (record.index === null || record.path === null) return undefined;
  const path = record.path;
  if (!Array.isArray(path) || !path.every((p) => typeof p === 'string')) {
    throw new Malformed('path must be a list of hashes');
  }
  return { index: integer(record, 'index'), path };
}

interface OpenSeal {
  seal: SealRecord;
  nextIndex: number;
  lastId: bigint;
}

export async function verifyExport(
  lines: AsyncIterable<string> | Iterable<string>,
  trustedKeys?: readonly JWK[],
): Promise<ExportVerification> {
  let lineNo = 0;
  let header: Json | undefined;
  let keys: KeySet | undefined;
  let open: OpenSeal | undefined;
  let previous: SealRecord | undefined;
  let seals = 0;
  let entries = 0;
  let ended = false;

  const report = (problem: AuditProblem | null): ExportVerification => ({
    ok: problem === null,
    seals,
    entries,
    unsealed: typeof header?.unsealed === 'number' ? header.unsealed : 0,
    head:
      previous === undefined
        ? null
        : { seq: previous.seq, hash: previous.sealHash, sealedAt: previous.sealedAt },
    problem,
    complete: header?.complete === true,
    keys: trustedKeys === undefined ? 'file' : 'given',
  });
  const fail = (code: AuditProblemCode, message: string, entry: string | null = null) =>
    report({
      code,
      seal: open?.seal.seq ?? null,
      entry,
      message: open === undefined ? message : `seal ${open.seal.seq}: ${message}`,
    });

  /** A complete export must hold each of a seal's entries, in tree order. */
  const closeSeal = (): ExportVerification | undefined => {
    if (open === undefined) return undefined;
    if (header?.complete === true && open.nextIndex !== open.seal.count) {
      return fail(
        'entry-missing',
        `entry number ${open.nextIndex + 1} of its ${open.seal.count} is not in the export`,
      );
    }
    previous = open.seal;
    seals += 1;
    open = undefined;
    return undefined;
  };

  try {
    for await (const line of lines) {
      lineNo += 1;
      if (line.trim() === '') continue;
      if (ended) return fail('export-format', `line ${lineNo}: records after the end record`);
      let record: Json;
      try {
        record = object(JSON.parse(line), 'a record');
      } catch {
        return fail('export-format', `line ${lineNo} is not a JSON object`);
      }
      const kind = record.record;
      if (header === undefined) {
        if (
          kind !== 'header' ||
          record.format !== EXPORT_FORMAT ||
          record.version !== EXPORT_VERSION
        ) {
          return fail('export-format', `not a ${EXPORT_FORMAT} file of version ${EXPORT_VERSION}`);
        }
        header = record;
        continue;
      }
      if (keys === undefined) {
        if (kind !== 'keys' || !Array.isArray(record.keys)) {
          return fail('export-format', `line ${lineNo}: the keys record must follow the header`);
        }
        keys = keySet(trustedKeys ?? (record.keys as JWK[]));
        continue;
      }
      switch (kind) {
        case 'seal': {
          const closed = closeSeal();
          if (closed !== undefined) return closed;
          const seal = sealOf(record);
          const problem = await checkSeal(seal, previous ?? 'unknown', keys);
          if (problem !== undefined) return report(problem);
          open = { seal, nextIndex: 0, lastId: -1n };
          break;
        }
        case 'entry': {
          if (open === undefined || record.seal !== open.seal.seq) {
            return fail('export-format', `line ${lineNo}: an entry outside its seal`);
          }
          const entry = entryOf(record);
          const id = BigInt(entry.id);
          const at = pathOf(record);
          const txid = BigInt(entry.txid);
          if (
            at === undefined ||
            txid < BigInt(open.seal.fromTxid) ||
            txid >= BigInt(open.seal.toTxid)
          ) {
            return fail('entry-unexpected', `entry ${entry.id}: not covered by the seal`, entry.id);
          }
          if (id <= open.lastId || at.index < open.nextIndex) {
            return fail('export-format', `line ${lineNo}: entries out of order`, entry.id);
          }
          if (header.complete === true && at.index !== open.nextIndex) {
            return fail(
              'entry-missing',
              `entry number ${open.nextIndex + 1} of its ${open.seal.count} is not in the export`,
            );
          }
          const root = rootFromPath(entryDigest(entry), at.index, open.seal.count, at.path);
          if (root !== open.seal.merkleRoot) {
            return fail(
              'entry-altered',
              `entry ${entry.id}: changed since it was sealed`,
              entry.id,
            );
          }
          open = { ...open, nextIndex: at.index + 1, lastId: id };
          entries += 1;
          break;
        }
        case 'end': {
          const closed = closeSeal();
          if (closed !== undefined) return closed;
          if (record.seals !== seals || record.entries !== entries) {
            return fail('export-format', 'the end record does not count what the file holds');
          }
          ended = true;
          break;
        }
        default:
          return fail('export-format', `line ${lineNo}: unknown record ${String(kind)}`);
      }
    }
  } catch (error) {
    if (error instanceof Malformed) {
      return fail('export-format', `line ${lineNo}: ${error.message}`);
    }
    throw error;
  }
  if (!ended) return fail('export-format', 'the file ends without its end record (truncated?)');
  return report(null);
}
