/**
 * A database of this test file's own: the migrated PGlite snapshot by default, a fresh schema on
 * the PostgreSQL server named by TEST_DATABASE_URL otherwise.
 */
import fs from 'node:fs';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { inject } from 'vitest';
import { openDatabase, type DatabaseHandle } from '../../gateway/db/database.ts';
import { migrateToLatest } from '../../gateway/db/migrate.ts';

export const onPostgres = process.env.TEST_DATABASE_URL !== undefined;

export async function openTestDatabase(): Promise<DatabaseHandle> {
  const url = process.env.TEST_DATABASE_URL;
  if (url === undefined) {
    const dump = new Blob([fs.readFileSync(inject('pgliteSnapshot'))]);
    return openDatabase({ databaseUrl: undefined, dataDir: '', pgliteDump: dump });
  }
  const schema = `${inject('schemaPrefix')}${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  await admin.query(`create schema ${schema}`);
  await admin.end();
  const handle = await openDatabase({
    databaseUrl: url,
    dataDir: '',
    poolSize: 10,
    searchPath: schema,
  });
  await migrateToLatest(handle.db);
  // The schema stays until the run ends (global-setup.ts drops the run's schemas together).
  return handle;
}
