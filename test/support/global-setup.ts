/**
 * Runs once per test run. PGlite takes seconds to initialise and migrate, so the integration
 * suite builds one migrated database here, dumps it, and every test file starts from the dump.
 * On PostgreSQL (TEST_DATABASE_URL) each test file gets a fresh schema instead (support/database.ts).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { randomBytes } from 'node:crypto';
import { Kysely } from 'kysely';
import pg from 'pg';
import { PGliteDialect } from 'kysely-pglite-dialect';
import type { TestProject } from 'vitest/node';
import { migrateToLatest } from '../../gateway/db/migrate.ts';
import type { Database } from '../../gateway/db/tables.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    pgliteSnapshot: string;
    /** PostgreSQL: the prefix of this run's schemas, dropped together when the run ends. */
    schemaPrefix: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nakadachi-test-'));
  const file = path.join(dir, 'migrated.tar');
  if (process.env.TEST_DATABASE_URL === undefined) {
    const client = await PGlite.create();
    const db = new Kysely<Database>({ dialect: new PGliteDialect(client) });
    await migrateToLatest(db);
    const dump = await client.dumpDataDir('none');
    fs.writeFileSync(file, Buffer.from(await dump.arrayBuffer()));
    await db.destroy();
  }
  project.provide('pgliteSnapshot', file);
  const schemaPrefix = `test_${randomBytes(3).toString('hex')}_`;
  project.provide('schemaPrefix', schemaPrefix);
  return async () => {
    fs.rmSync(dir, { recursive: true, force: true });
    if (process.env.TEST_DATABASE_URL !== undefined) {
      await dropSchemas(process.env.TEST_DATABASE_URL, schemaPrefix);
    }
  };
}

/**
 * The run's schemas are dropped here, after every file, not by each file as it ends: a schema
 * dropped while another file migrates breaks that file's migration (Kysely's migrator looks at
 * the tables of every schema, and meets one that is going away).
 */
async function dropSchemas(url: string, prefix: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ name: string }>(
      'select nspname as name from pg_namespace where starts_with(nspname, $1)',
      [prefix],
    );
    for (const { name } of rows) await client.query(`drop schema "${name}" cascade`);
  } finally {
    await client.end();
  }
}
