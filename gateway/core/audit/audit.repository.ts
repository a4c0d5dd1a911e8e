/**
 * Queries of the audit log: message log entries by transaction range, the seals. Transaction ids
 * (xid8) travel as decimal strings and are compared in SQL.
 */
import {
  sql,
  type Kysely,
  type Selectable,
  type SelectQueryBuilder,
  type Transaction,
} from 'kysely';
import type { Database, MessageLogTable } from '../../db/tables.ts';
import { LOG_COLUMNS, logFields } from '../messages/messages.repository.ts';
import type { AuditEntry } from './audit.ts';
import type { SealRecord } from './verification.ts';

type Db = Kysely<Database> | Transaction<Database>;

export interface TxidRange {
  fromTxid: string;
  toTxid: string;
}

/** Every instance of the gateway seals the same chain: one sealer at a time. */
const SEALING_LOCK = 0x6e6b5365616c; // "nkSeal"

export async function lockSealing(trx: Transaction<Database>): Promise<void> {
  await sql`select pg_advisory_xact_lock(${SEALING_LOCK})`.execute(trx);
}

/** Every transaction below this has ended: its entries are all visible and final. */
export async function snapshotXmin(trx: Transaction<Database>): Promise<string> {
  const result = await sql<{
    xmin: string;
  }>`select pg_snapshot_xmin(pg_current_snapshot())::text as xmin`.execute(trx);
  return result.rows[0]?.xmin ?? '0';
}

function inRange<QB extends SelectQueryBuilder<Database, 'message_log', object>>(
  query: QB,
  range: TxidRange,
): QB {
  return query
    .where(sql<boolean>`txid >= ${range.fromTxid}::xid8`)
    .where(sql<boolean>`txid < ${range.toTxid}::xid8`) as QB;
}

/** The transaction id of the entry at `offset` in transaction order, if the range has one. */
export async function txidAtOffset(
  db: Db,
  range: TxidRange,
  offset: number,
): Promise<string | undefined> {
  const row = await inRange(db.selectFrom('message_log'), range)
    .select(sql<string>`txid::text`.as('txid'))
    .orderBy('txid')
    .offset(offset)
    .limit(1)
    .executeTakeFirst();
  return row?.txid;
}

const ENTRY_COLUMNS = [
  'id',
  sql<string>`txid::text`.as('txid_text'),
  // The stored microseconds, not a JavaScript Date's milliseconds.
  sql<string>`to_char(logged_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`.as(
    'logged_at_text',
  ),
  ...LOG_COLUMNS,
  'detail',
] as const;

type EntryRow = Pick<
  Selectable<MessageLogTable>,
  'id' | 'detail' | (typeof LOG_COLUMNS)[number]
> & { txid_text: string; logged_at_text: string };

function toEntry(row: EntryRow, bodySha256: string | null): AuditEntry {
  return {
    id: row.id.toString(),
    txid: row.txid_text,
    loggedAt: row.logged_at_text,
    ...logFields(row),
    bodySha256,
    detail: row.detail ?? null,
  };
}

/** The entries of a range in id order, the body hashed by the database (no bytes moved). */
export async function entriesForSealing(db: Db, range: TxidRange): Promise<AuditEntry[]> {
  const rows = await inRange(db.selectFrom('message_log'), range)
    .select(ENTRY_COLUMNS)
    .select(sql<string | null>`encode(sha256(body), 'hex')`.as('body_sha256'))
    .orderBy('id')
    .execute();
  return rows.map((row) => toEntry(row, row.body_sha256));
}

export interface EntryFilter {
  partnerId?: string;
  from?: Date;
  to?: Date;
}

function matching<QB extends SelectQueryBuilder<Database, 'message_log', object>>(
  query: QB,
  filter: EntryFilter,
): QB {
  let result = query;
  if (filter.partnerId !== undefined)
    result = result.where('partner_id', '=', filter.partnerId) as QB;
  if (filter.from !== undefined) result = result.where('logged_at', '>=', filter.from) as QB;
  if (filter.to !== undefined) result = result.where('logged_at', '<', filter.to) as QB;
  return result;
}

export type EntryWithBody = AuditEntry & { body: Uint8Array | null };

/** A page of a range's entries (id order) with their bytes; `hash` computes bodySha256. */
export async function entriesWithBodies(
  db: Db,
  range: TxidRange,
  page: { afterId: string | undefined; limit: number; filter?: EntryFilter },
  hash: (body: Uint8Array) => string,
): Promise<EntryWithBody[]> {
  let query = inRange(db.selectFrom('message_log'), range)
    .select(ENTRY_COLUMNS)
    .select('body')
    .orderBy('id')
    .limit(page.limit);
  if (page.afterId !== undefined) query = query.where('id', '>', BigInt(page.afterId));
  query = matching(query, page.filter ?? {});
  const rows = await query.execute();
  return rows.map((row) => ({
    ...toEntry(row, row.body === null ? null : hash(row.body)),
    body: row.body,
  }));
}

/** The smallest and largest transaction id of the sealed entries a filter selects. */
export async function txidSpan(
  db: Db,
  filter: EntryFilter,
  below: string,
): Promise<{ low: string; high: string } | undefined> {
  const query = db
    .selectFrom('message_log')
    .select([
      sql<string | null>`min(txid)::text`.as('low'),
      sql<string | null>`max(txid)::text`.as('high'),
    ])
    .where(sql<boolean>`txid < ${below}::xid8`);
  const row = await matching(query, filter).executeTakeFirst();
  return row?.low == null || row.high == null ? undefined : { low: row.low, high: row.high };
}

/** Entries a filter selects that no seal covers yet. */
export async function countUnsealed(
  db: Db,
  sealedBelow: string,
  filter: EntryFilter = {},
): Promise<number> {
  const query = db
    .selectFrom('message_log')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .where(sql<boolean>`txid >= ${sealedBelow}::xid8`);
  const row = await matching(query, filter).executeTakeFirstOrThrow();
  return Number(row.n);
}

// --- seals ------------------------------------------------------------------------------------

const SEAL_COLUMNS = [
  'seq',
  sql<string>`from_txid::text`.as('from_text'),
  sql<string>`to_txid::text`.as('to_text'),
  'first_id',
  'last_id',
  'entry_count',
  'merkle_root',
  'prev_hash',
  'seal_hash',
  'key_id',
  'signature',
  'sealed_at',
] as const;

interface SealRow {
  seq: bigint;
  from_text: string;
  to_text: string;
  first_id: bigint;
  last_id: bigint;
  entry_count: number;
  merkle_root: string;
  prev_hash: string;
  seal_hash: string;
  key_id: string;
  signature: string;
  sealed_at: Date;
}

function toSeal(row: SealRow): SealRecord {
  return {
    seq: row.seq.toString(),
    fromTxid: row.from_text,
    toTxid: row.to_text,
    firstId: row.first_id.toString(),
    lastId: row.last_id.toString(),
    count: row.entry_count,
    merkleRoot: row.merkle_root,
    prevHash: row.prev_hash,
    sealedAt: row.sealed_at.toISOString(),
    keyId: row.key_id,
    sealHash: row.seal_hash,
    signature: row.signature,
  };
}

export async function lastSeal(db: Db): Promise<SealRecord | undefined> {
  const row = await db
    .selectFrom('audit_seals')
    .select(SEAL_COLUMNS)
    .orderBy('seq', 'desc')
    .limit(1)
    .executeTakeFirst();
  return row === undefined ? undefined : toSeal(row);
}

export async function sealTotals(db: Db): Promise<{ seals: number; entries: number }> {
  const row = await db
    .selectFrom('audit_seals')
    .select((eb) => [
      eb.fn.countAll<string>().as('seals'),
      eb.fn.coalesce(eb.fn.sum<string>('entry_count'), sql<string>`0`).as('entries'),
    ])
    .executeTakeFirstOrThrow();
  return { seals: Number(row.seals), entries: Number(row.entries) };
}

/** Seals in seq order after `afterSeq`, each with its packed entry list. */
export async function sealsAfter(
  db: Db,
  afterSeq: string,
  limit: number,
  upTo?: string,
): Promise<(SealRecord & { leaves: Uint8Array })[]> {
  let query = db
    .selectFrom('audit_seals')
    .select(SEAL_COLUMNS)
    .select('leaves')
    .where('seq', '>', BigInt(afterSeq))
    .orderBy('seq')
    .limit(limit);
  if (upTo !== undefined) query = query.where('seq', '<=', BigInt(upTo));
  const rows = await query.execute();
  return rows.map((row) => ({ ...toSeal(row), leaves: row.leaves }));
}

/** The seq range of the seals that cover transactions [low, high]. */
export async function sealSpan(
  db: Db,
  low: string,
  high: string,
): Promise<{ first: string; last: string } | undefined> {
  const row = await db
    .selectFrom('audit_seals')
    .select((eb) => [eb.fn.min('seq').as('first'), eb.fn.max('seq').as('last')])
    .where(sql<boolean>`to_txid > ${low}::xid8`)
    .where(sql<boolean>`from_txid <= ${high}::xid8`)
    .executeTakeFirst();
  return row?.first == null || row.last == null
    ? undefined
    : { first: String(row.first), last: String(row.last) };
}

/** False when another sealer took this seq first. */
export async function insertSeal(
  trx: Transaction<Database>,
  seal: SealRecord,
  leaves: Uint8Array,
): Promise<boolean> {
  const row = await trx
    .insertInto('audit_seals')
    .values({
      seq: BigInt(seal.seq),
      from_txid: seal.fromTxid,
      to_txid: seal.toTxid,
      first_id: BigInt(seal.firstId),
      last_id: BigInt(seal.lastId),
      entry_count: seal.count,
      merkle_root: seal.merkleRoot,
      prev_hash: seal.prevHash,
      seal_hash: seal.sealHash,
      key_id: seal.keyId,
      signature: seal.signature,
      leaves,
      sealed_at: new Date(seal.sealedAt),
    })
    .onConflict((oc) => oc.column('seq').doNothing())
    .returning('seq')
    .executeTakeFirst();
  return row !== undefined;
}
