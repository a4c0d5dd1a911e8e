/**
 * Runs once per test run. PGlite takes seconds to initialise and migrate, so the integration
 * suite builds one migrated database here, dumps it, and every test file starts from the dump.
 * On PostgreSQL (TEST_DATABASE_URL) each test file gets a fresh schema instead (support/database.ts).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { Kysely } from 'kysely';
import { PGliteDialect } from 'kysely-pglite-dialect';
import type { TestProject } from 'vitest/node';
import { migrateToLatest } from '../../gateway/db/migrate.ts';
import type { Database } from '../../gateway/db/tables.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    pgliteSnapshot: string;
  }
}

export default async function setup(project: TestProject): Promise<() => void> {
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
  return () => fs.rmSync(dir, { recursive: true, force: true });
}
