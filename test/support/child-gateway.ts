/**
 * Real gateway processes for crash and scale-out tests: `node bin/nakadachi.js serve` (or another
 * CLI, such as the build's `dist/gateway/cli.js`) with the
 * environment a test gives, over a store the test can also reach — a PGlite data directory
 * (opened by the test only while no gateway holds it) or a PostgreSQL schema of its own.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sql, type Kysely } from 'kysely';
import { loadConfig } from '../../gateway/config.ts';
import type { DatabaseHandle } from '../../gateway/db/database.ts';
import type { Database } from '../../gateway/db/tables.ts';
import { openMigratedDatabase } from '../../gateway/main.ts';
import { onPostgres, openTestDatabase } from './database.ts';

const BIN = path.join(import.meta.dirname, '../../bin/nakadachi.js');

export interface ChildGateway {
  pid: number;
  /** Everything the process wrote so far (JSON log lines). */
  output(): string;
  kill(signal: NodeJS.Signals): void;
  /** The exit code (null when killed by a signal). */
  exited: Promise<number | null>;
}

export async function spawnGateway(
  env: Record<string, string>,
  readyTimeoutMs = 30_000,
  cli = BIN,
): Promise<ChildGateway> {
  const child = spawn(process.execPath, [cli, 'serve'], {
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      HOST: '127.0.0.1',
      PORT: '0',
      LOG_LEVEL: 'info',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => resolve(code)),
  );
  const started = Date.now();
  while (!output.includes('"msg":"gateway started"')) {
    const early = await Promise.race([exited, new Promise((r) => setTimeout(() => r('wait'), 25))]);
    if (early !== 'wait')
      throw new Error(`gateway exited (${String(early)}) before starting:\n${output}`);
    if (Date.now() - started > readyTimeoutMs) {
      child.kill('SIGKILL');
      throw new Error(`gateway did not start within ${readyTimeoutMs} ms:\n${output}`);
    }
  }
  return {
    pid: child.pid!,
    output: () => output,
    kill: (signal) => child.kill(signal),
    exited,
  };
}

/** A database that test code and gateway processes share. */
export interface SharedStore {
  /** Settings that point a gateway process at the store. */
  env: Record<string, string>;
  /** Runs `fn` on the store; on PGlite only while no gateway process holds it. */
  use<T>(fn: (db: Kysely<Database>) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

export async function openSharedStore(): Promise<SharedStore> {
  if (onPostgres) {
    const handle: DatabaseHandle = await openTestDatabase();
    const schema = (await sql<{ s: string }>`select current_schema() as s`.execute(handle.db))
      .rows[0]!.s;
    const url = new URL(process.env.TEST_DATABASE_URL!);
    url.searchParams.set('options', `-c search_path=${schema}`);
    return {
      env: { DATABASE_URL: url.toString() },
      use: (fn) => fn(handle.db),
      close: () => handle.close(),
    };
  }
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'nakadachi-child-'));
  const config = loadConfig({ DATA_DIR: dataDir, LOG_LEVEL: 'silent' });
  return {
    env: { DATA_DIR: dataDir },
    async use(fn) {
      const { database, lock } = await openMigratedDatabase(config);
      try {
        return await fn(database.db);
      } finally {
        await database.close();
        lock?.release();
      }
    },
    close() {
      fs.rmSync(dataDir, { recursive: true, force: true });
      return Promise.resolve();
    },
  };
}
