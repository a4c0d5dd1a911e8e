/**
 * A PostgreSQL server of the test's own, for tests that stop, crash and restart the database:
 * initdb (trust authentication) in a temporary directory, listening on a free port of 127.0.0.1
 * outside the ephemeral range. The shared server on 5432 is never touched. The binaries are
 * Debian's (/usr/lib/postgresql/15/bin); when the tests run as root they run as the `postgres`
 * OS user (initdb and postgres refuse root), via runuser.
 */
import { execFile, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';

const run = promisify(execFile);

export const POSTGRES_BIN = process.env.POSTGRES_BIN ?? '/usr/lib/postgresql/15/bin';
const OS_USER = 'postgres';
/** Below Linux's default ephemeral range (32768–60999): no outgoing socket takes our port. */
const PORT_RANGE = { from: 20_000, to: 32_000 };

export interface ThrowawayPostgres {
  port: number;
  /** Connection string of a database on the server (default: `postgres`), with query options. */
  url(database?: string, params?: Record<string, string>): string;
  /** `pg_ctl start`, waiting until it accepts connections. */
  start(): Promise<void>;
  /** `pg_ctl stop -m immediate`: every backend killed at once, as in a crash. */
  stop(): Promise<void>;
  /** Creates a database (empty) and returns its name. */
  createDatabase(name: string): Promise<string>;
  /** The server's own log, for failure messages. */
  log(): string;
  /** Stops the server if it runs and deletes its directory. */
  remove(): Promise<void>;
}

/** Why a throwaway server cannot be made here, or undefined when it can. */
export function throwawayPostgresUnavailable(): string | undefined {
  if (!fs.existsSync(path.join(POSTGRES_BIN, 'initdb'))) {
    return `no PostgreSQL binaries in ${POSTGRES_BIN} (set POSTGRES_BIN)`;
  }
  if (process.getuid?.() === 0 && osUser() === undefined) {
    return `running as root and there is no "${OS_USER}" OS user to run PostgreSQL as`;
  }
  return undefined;
}

function osUser(): { uid: number; gid: number } | undefined {
  const line = fs
    .readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((l) => l.startsWith(`${OS_USER}:`));
  if (line === undefined) return undefined;
  const [, , uid, gid] = line.split(':');
  return { uid: Number(uid), gid: Number(gid) };
}

/** Runs a PostgreSQL binary, as the postgres OS user when we are root. */
function binary(name: string, args: string[]): { file: string; args: string[] } {
  const file = path.join(POSTGRES_BIN, name);
  return process.getuid?.() === 0
    ? { file: 'runuser', args: ['-u', OS_USER, '--', file, ...args] }
    : { file, args };
}

async function exec(name: string, args: string[], timeoutMs = 60_000): Promise<string> {
  const command = binary(name, args);
  try {
    const { stdout } = await run(command.file, command.args, {
      timeout: timeoutMs,
      cwd: os.tmpdir(),
    });
    return stdout;
  } catch (error) {
    const e = error as Error & { stdout?: string; stderr?: string };
    throw new Error(`${name} ${args.join(' ')} failed: ${e.message}\n${e.stdout}\n${e.stderr}`, {
      cause: error,
    });
  }
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

async function freePort(): Promise<number> {
  for (let i = 0; i < 50; i++) {
    const port = PORT_RANGE.from + Math.floor(Math.random() * (PORT_RANGE.to - PORT_RANGE.from));
    if (await canListen(port)) return port;
  }
  throw new Error('no free port for a throwaway PostgreSQL server');
}

export async function startThrowawayPostgres(): Promise<ThrowawayPostgres> {
  const unavailable = throwawayPostgresUnavailable();
  if (unavailable !== undefined) throw new Error(unavailable);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nakadachi-pg-'));
  const dataDir = path.join(dir, 'data');
  const logFile = path.join(dir, 'postgres.log');
  const owner = process.getuid?.() === 0 ? osUser() : undefined;
  if (owner !== undefined) fs.chownSync(dir, owner.uid, owner.gid);
  const port = await freePort();
  let running = false;

  const stopSync = (): void => {
    if (!running) return;
    const command = binary('pg_ctl', ['stop', '-D', dataDir, '-m', 'immediate', '-w']);
    try {
      execFileSync(command.file, command.args, { stdio: 'ignore', timeout: 30_000 });
    } catch {
      // Already gone.
    }
    running = false;
  };
  // A test run that dies before its afterAll must not leave a server behind.
  process.once('exit', stopSync);

  const url = (database = 'postgres', params: Record<string, string> = {}): string => {
    const u = new URL(`postgres://postgres@127.0.0.1:${port}/${database}`);
    for (const [key, value] of Object.entries(params)) u.searchParams.set(key, value);
    return u.toString();
  };

  const server: ThrowawayPostgres = {
    port,
    url,
    async start() {
      await exec('pg_ctl', ['start', '-D', dataDir, '-l', logFile, '-w', '-t', '60']);
      running = true;
    },
    async stop() {
      await exec('pg_ctl', ['stop', '-D', dataDir, '-m', 'immediate', '-w', '-t', '60']);
      running = false;
    },
    async createDatabase(name) {
      const client = new pg.Client({ connectionString: url() });
      await client.connect();
      try {
        await client.query(`create database ${client.escapeIdentifier(name)}`);
      } finally {
        await client.end();
      }
      return name;
    },
    log: () => (fs.existsSync(logFile) ? fs.readFileSync(logFile, 'utf8') : ''),
    async remove() {
      if (running) await server.stop().catch(() => stopSync());
      process.off('exit', stopSync);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };

  try {
    await exec('initdb', [
      '-D',
      dataDir,
      '-A',
      'trust',
      '-U',
      OS_USER,
      '-E',
      'UTF8',
      '--no-sync',
      '--no-instructions',
    ]);
    // Durability against an OS crash is not what these tests are about: without fsync a commit
    // still reaches the kernel before it is acknowledged, so a crash of the server (stop -m
    // immediate) loses nothing. (synchronous_commit must stay on: it would lose the last commits.)
    fs.appendFileSync(
      path.join(dataDir, 'postgresql.conf'),
      [
        '',
        `port = ${port}`,
        "listen_addresses = '127.0.0.1'",
        `unix_socket_directories = '${dir}'`,
        'max_connections = 100',
        'shared_buffers = 32MB',
        'fsync = off',
        'full_page_writes = off',
        '',
      ].join('\n'),
    );
    await server.start();
  } catch (error) {
    await server.remove();
    throw error;
  }
  return server;
}
