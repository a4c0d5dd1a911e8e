/**
 * The one Kysely instance: embedded PGlite in DATA_DIR when no DATABASE_URL is set, PostgreSQL
 * through `pg` otherwise. Both speak the same SQL dialect and return the same JavaScript types
 * (int8 as bigint, timestamptz as Date, date and numeric as strings, bytea as Buffer), so nothing
 * above this file knows which one it has.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import path from 'node:path';
import { PGlite, types } from '@electric-sql/pglite';
import { Kysely, PostgresDialect, sql } from 'kysely';
import { PGliteDialect } from 'kysely-pglite-dialect';
import pg from 'pg';
import { GatewayError } from '../core/errors.ts';
import { statementNameOf } from './prepared.ts';
import type { Database } from './tables.ts';

export type DatabaseKind = 'pglite' | 'postgres';

export interface DatabaseHandle {
  db: Kysely<Database>;
  kind: DatabaseKind;
  /** Throws STORAGE_UNAVAILABLE when the database does not answer. */
  ping(): Promise<void>;
  /**
   * LISTEN on a channel: `onNotify` runs for every notification (PostgreSQL delivers a
   * `pg_notify` at the commit of its transaction, never on rollback), and once more after every
   * reconnection, since notifications sent while disconnected are lost. Resolves to `unlisten`.
   */
  listen(channel: string, onNotify: () => void): Promise<() => Promise<void>>;
  close(): Promise<void>;
}

export interface OpenDatabaseOptions {
  databaseUrl: string | undefined;
  dataDir: string;
  poolSize?: number;
  /** PostgreSQL only: the schema to work in (tests give each file its own). */
  searchPath?: string;
  /** PGlite only: start from this data directory dump instead of a folder (tests). */
  pgliteDump?: Blob;
}

const PGLITE_SHARED_BUFFERS = '16MB';
const INT8_OID = 20;
/** `date` stays the ISO string yyyy-mm-dd: a JavaScript Date would shift it by the time zone. */
const DATE_OID = 1082;
const INT8_ARRAY_OID = 1016;
const DATE_ARRAY_OID = 1182;
const TEXT_ARRAY_OID = 1009;
/** uuid has no parser of its own, and its arrays still come back as arrays (as from pg). */
const UUID_OID = 2950;
const BYTEA_OID = 17;

/**
 * PGlite sends every parameter as text, and its own bytea serializer writes the hex in
 * JavaScript, one string per byte: with a batch's bodies laid end to end in one bytea
 * (prepared.ts) that was the gateway's largest single cost under ingest on the embedded database
 * (6.3 % of its CPU). Node's hex is one native call.
 */
function byteaAsHex(value: unknown): string {
  if (!(value instanceof Uint8Array)) throw new Error('Invalid input for bytea type');
  return `\\x${Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('hex')}`;
}

/**
 * And back: PGlite's own parser reads the hex two digits at a time in JavaScript, for every body a
 * delivery or a search reads. Node decodes it natively, into a Buffer, as pg returns a bytea.
 * The text is in the server's default bytea_output, hex (`\x…`), as PGlite's parser assumes too.
 */
function byteaFromHex(value: string): Buffer {
  return Buffer.from(value.slice(2), 'hex');
}

export async function openDatabase(options: OpenDatabaseOptions): Promise<DatabaseHandle> {
  return options.databaseUrl === undefined
    ? openPglite(options)
    : openPostgres(options.databaseUrl, options);
}

async function openPglite(options: OpenDatabaseOptions): Promise<DatabaseHandle> {
  const parsers = {
    [INT8_OID]: (value: string) => BigInt(value),
    [DATE_OID]: (value: string) => value,
    [BYTEA_OID]: byteaFromHex,
  };
  const serializers = { [BYTEA_OID]: byteaAsHex };
  // PGlite's shared buffers live in the gateway's own memory (128 MB by default, sized for a
  // server): the pages it reads stay in the operating system's cache behind its files anyway.
  const startParams = [
    ...PGlite.defaultStartParams,
    '-c',
    `shared_buffers=${PGLITE_SHARED_BUFFERS}`,
  ];
  let client: PGlite;
  try {
    if (options.pgliteDump === undefined) {
      const dir = path.join(options.dataDir, 'pglite');
      fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
      if (!fs.existsSync(path.join(dir, 'PG_VERSION'))) await createPglite(dir, startParams);
      client = await PGlite.create(dir, { parsers, serializers, startParams });
    } else {
      client = await PGlite.create({
        loadDataDir: options.pgliteDump,
        parsers,
        serializers,
        startParams,
      });
    }
    await keepParsersInUse(client, parsers);
  } catch (error) {
    throw new GatewayError(
      'STORAGE_UNAVAILABLE',
      `cannot open the embedded database in ${options.dataDir}: ${describe(error)}`,
      { cause: error },
    );
  }
  const db = new Kysely<Database>({ dialect: new PGliteDialect(client) });
  return {
    db,
    kind: 'pglite',
    ping: () => pingDatabase(db),
    async listen(channel, onNotify) {
      const unlisten = await client.listen(channel, () => onNotify());
      return () => unlisten();
    },
    close: () => db.destroy(),
  };
}

/**
 * PGlite copies its table of result parsers into a new object for every query, and the table
 * holds an array parser for every array type in the catalogue (316 entries): under ingest the
 * copy was 15 % of the gateway's CPU. Keep the parsers of the types a query here can return —
 * PGlite's scalar parsers, ours, and the arrays of those and of uuid; a value of any other type
 * comes back as its text, as any type without a parser does (and as pg returns most of them).
 */
async function keepParsersInUse(client: PGlite, ownParsers: object): Promise<void> {
  const numeric = (key: string): boolean => /^\d+$/.test(key);
  const scalarOids = [...Object.keys(types.parsers), ...Object.keys(ownParsers)]
    .filter(numeric)
    .map(Number);
  const { rows } = await client.query<{ typarray: number }>(
    'select typarray::int from pg_catalog.pg_type where oid = any($1::int[]) and typarray <> 0',
    [[...scalarOids, UUID_OID]],
  );
  const kept = new Set([...scalarOids, ...rows.map((row) => row.typarray)].map(String));
  client.parsers = Object.fromEntries(
    Object.entries(client.parsers).filter(([key]) => !numeric(key) || kept.has(key)),
  );
}

/**
 * Makes a new embedded database (initdb) in a child process. Made in this process — even in a
 * worker thread, whose heap goes with it — initdb leaves memory the process never gives back:
 * a gateway that created its database idled at 434 MB RSS (peak 840 MB) against 254 MB when it
 * opened the same database made by another process. A child's memory goes with the child.
 */
async function createPglite(dir: string, startParams: readonly string[]): Promise<void> {
  const child = spawn(
    process.execPath,
    [
      '--input-type=module',
      '--eval',
      `const [pglite, dir, startParams] = JSON.parse(process.argv[1]);
      const { PGlite } = await import(pglite);
      const db = await PGlite.create(dir, { startParams });
      await db.close();`,
      JSON.stringify([import.meta.resolve('@electric-sql/pglite'), dir, startParams]),
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const [code, signal] = (await once(child, 'exit')) as [number | null, string | null];
  if (code !== 0)
    throw new Error(`initdb exited with ${code ?? signal}: ${stderr.trim().slice(-2000)}`);
}

/**
 * The query builder sends text; text registered in prepared.ts goes to this session as a named
 * statement instead (prepared on its first use in the session, then bound and executed).
 */
function sendNamedStatements(client: pg.PoolClient): void {
  const query = client.query.bind(client) as (...args: unknown[]) => unknown;
  client.query = ((config: unknown, ...rest: unknown[]) => {
    const name = typeof config === 'string' ? statementNameOf(config) : undefined;
    if (name === undefined || !Array.isArray(rest[0])) return query(config, ...rest);
    return query({ name, text: config, values: rest[0] });
  }) as typeof client.query;
}

const parseTextArray = (pg.types.getTypeParser as (oid: number) => unknown)(TEXT_ARRAY_OID) as (
  value: string,
) => (string | null)[];

/** pg's parsers, with int8 as bigint and date as its ISO string, alone and in arrays (as PGlite). */
function postgresTypeParser(oid: number, format?: 'text' | 'binary'): unknown {
  switch (oid) {
    case INT8_OID:
      return (value: string) => BigInt(value);
    case DATE_OID:
      return (value: string) => value;
    case INT8_ARRAY_OID:
      return (value: string) =>
        parseTextArray(value).map((item) => (item === null ? null : BigInt(item)));
    case DATE_ARRAY_OID:
      return parseTextArray;
    default:
      return pg.types.getTypeParser(oid, format);
  }
}

async function openPostgres(url: string, options: OpenDatabaseOptions): Promise<DatabaseHandle> {
  const pool = new pg.Pool({
    connectionString: url,
    max: options.poolSize ?? 10,
    connectionTimeoutMillis: 5_000,
    options: options.searchPath === undefined ? undefined : `-c search_path=${options.searchPath}`,
    types: { getTypeParser: postgresTypeParser as typeof pg.types.getTypeParser },
  });
  // A client losing its connection (server restart, pg_terminate_backend) must not crash the
  // process: pg emits 'error' on the client, and nothing else listens while it is checked out
  // (the pool listens only to idle ones). The query in flight fails on its own (mapped to
  // STORAGE_UNAVAILABLE), the pool drops the dead client at release, and the next query gets a
  // fresh connection.
  pool.on('error', () => undefined);
  pool.on('connect', (client) => {
    client.on('error', () => undefined);
    sendNamedStatements(client);
  });
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  await pingDatabase(db);
  return {
    db,
    kind: 'postgres',
    ping: () => pingDatabase(db),
    listen: (channel, onNotify) => listenPostgres(url, channel, onNotify),
    close: () => db.destroy(),
  };
}

const LISTEN_RETRY_MIN_MS = 100;
const LISTEN_RETRY_MAX_MS = 5_000;

/**
 * LISTEN needs a session of its own (a pooled connection goes back to the pool between queries),
 * so each listener holds a dedicated client and replaces it, with backoff, whenever it drops.
 */
async function listenPostgres(
  url: string,
  channel: string,
  onNotify: () => void,
): Promise<() => Promise<void>> {
  let current: pg.Client | undefined;
  let stopped = false;
  let retry: NodeJS.Timeout | undefined;
  let delay = LISTEN_RETRY_MIN_MS;

  async function connect(): Promise<void> {
    const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5_000 });
    let lost = false;
    const onLost = (): void => {
      if (lost) return;
      lost = true;
      if (current === client) current = undefined;
      client.end().catch(() => undefined);
      reconnectLater();
    };
    client.on('notification', (message) => {
      if (message.channel === channel) onNotify();
    });
    client.on('error', onLost);
    client.on('end', onLost);
    try {
      await client.connect();
      await client.query(`listen ${client.escapeIdentifier(channel)}`);
    } catch (error) {
      lost = true;
      client.end().catch(() => undefined);
      throw toStorageError(error);
    }
    if (stopped) {
      await client.end();
      return;
    }
    current = client;
    delay = LISTEN_RETRY_MIN_MS;
    onNotify();
  }

  function reconnectLater(): void {
    if (stopped || retry !== undefined) return;
    retry = setTimeout(() => {
      retry = undefined;
      connect().catch(() => {
        delay = Math.min(delay * 2, LISTEN_RETRY_MAX_MS);
        reconnectLater();
      });
    }, delay);
  }

  await connect();
  return async () => {
    stopped = true;
    clearTimeout(retry);
    const client = current;
    current = undefined;
    await client?.end().catch(() => undefined);
  };
}

async function pingDatabase(db: Kysely<Database>): Promise<void> {
  try {
    await sql`select 1`.execute(db);
  } catch (error) {
    throw toStorageError(error);
  }
}

/** PostgreSQL error classes that mean "the database is not there right now": retry later. */
const UNAVAILABLE_SQLSTATE = /^(08|53|57P0[1-3])/;
/** A serialization failure (40001), a deadlock victim (40P01): rolled back for what ran beside it. */
const CONFLICT_SQLSTATE = new Set(['40001', '40P01']);
/**
 * Errors that end the transaction but say nothing against the request: statement_timeout or a
 * cancel (57014), lock_timeout (55P03), a conflict with another transaction (above).
 * The transaction was rolled back whole; the same request may simply be sent again.
 */
const TRANSIENT_SQLSTATE = new Set(['57014', '55P03', ...CONFLICT_SQLSTATE]);
const UNAVAILABLE_NODE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EPIPE',
  'EHOSTUNREACH',
]);

/**
 * A deadlock victim or a serialization failure (CONFLICT_SQLSTATE): the transaction was rolled
 * back for what ran beside it, not for anything it did — the same work may run again at once.
 */
export function isConflictVictim(error: unknown): boolean {
  const code = error instanceof Error ? (error as { code?: unknown }).code : undefined;
  return typeof code === 'string' && CONFLICT_SQLSTATE.has(code);
}

export function isStorageUnavailable(error: unknown): boolean {
  if (error instanceof GatewayError) return error.code === 'STORAGE_UNAVAILABLE';
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code;
  if (
    typeof code === 'string' &&
    (UNAVAILABLE_SQLSTATE.test(code) ||
      TRANSIENT_SQLSTATE.has(code) ||
      UNAVAILABLE_NODE_CODES.has(code))
  ) {
    return true;
  }
  return /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|Cannot use a pool after calling end/.test(
    error.message,
  );
}

/** Map a driver error to STORAGE_UNAVAILABLE when it is one; other errors pass through. */
export function toStorageError(error: unknown): unknown {
  if (error instanceof GatewayError || !isStorageUnavailable(error)) return error;
  const code = (error as { code?: unknown }).code;
  const what =
    typeof code === 'string' && TRANSIENT_SQLSTATE.has(code)
      ? 'database busy, retry'
      : 'database unavailable';
  return new GatewayError('STORAGE_UNAVAILABLE', `${what}: ${describe(error)}`, { cause: error });
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
