/**
 * A place for one bench phase's data: an empty database of its own. On PGlite, a temporary data
 * directory holding a copy of a migrated database made once (PGlite takes seconds to create one,
 * and a quick bench needs five); on PostgreSQL (DATABASE_URL), a fresh schema, which the gateway
 * migrates when it opens it. `drop()` removes it.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { loadConfig } from '../../gateway/config.ts';
import { openMigratedDatabase } from '../../gateway/main.ts';
import { cachedFolder } from './cache.ts';

export interface Store {
  /** DATA_DIR, and DATABASE_URL on PostgreSQL (its search_path set to the store's schema). */
  env: Record<string, string>;
  dataDir: string;
  drop(): Promise<void>;
}

export async function freshStore(name: string, databaseUrl: string | undefined): Promise<Store> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), `nakadachi-bench-${name}-`));
  const removeDataDir = () => fs.rmSync(dataDir, { recursive: true, force: true });
  if (databaseUrl === undefined) {
    try {
      fs.cpSync(await migratedPglite(), path.join(dataDir, 'pglite'), { recursive: true });
    } catch (error) {
      removeDataDir();
      throw error;
    }
    return { env: { DATA_DIR: dataDir }, dataDir, drop: () => Promise.resolve(removeDataDir()) };
  }
  const schema = `bench_${name}_${randomBytes(4).toString('hex')}`;
  await onServer(databaseUrl, `create schema ${schema}`).catch((error: unknown) => {
    removeDataDir();
    throw error;
  });
  const url = new URL(databaseUrl);
  url.searchParams.set('options', `-c search_path=${schema}`);
  return {
    env: { DATA_DIR: dataDir, DATABASE_URL: url.toString() },
    dataDir,
    async drop() {
      removeDataDir();
      await onServer(databaseUrl, `drop schema ${schema} cascade`);
    },
  };
}

async function onServer(databaseUrl: string, statement: string): Promise<void> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    await client.query(statement);
  } finally {
    await client.end();
  }
}

let template: Promise<string> | undefined;

/**
 * The folder of a migrated embedded database, made by the gateway's own code, once per set of
 * migrations (kept between runs: cache.ts).
 */
export function migratedPglite(): Promise<string> {
  template ??= cachedFolder(
    'pglite',
    {
      paths: ['migrations', 'gateway/db'],
      packages: ['@electric-sql/pglite', 'kysely', 'kysely-pglite-dialect'],
    },
    async (dataDir) => {
      const { database, lock } = await openMigratedDatabase(
        loadConfig({ DATA_DIR: dataDir, LOG_LEVEL: 'silent' }),
      );
      await database.close();
      lock?.release();
    },
  ).then((dataDir) => path.join(dataDir, 'pglite'));
  return template;
}
