/**
 * The embedded database's settings: PGlite's shared buffers are sized for a process that has the
 * gateway beside them, not for a database server (gateway/db/database.ts).
 */
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DatabaseHandle } from '../../gateway/db/database.ts';
import { onPostgres, openTestDatabase } from '../support/database.ts';

let database: DatabaseHandle;
beforeAll(async () => {
  database = await openTestDatabase();
});
afterAll(() => database.close());

describe.skipIf(onPostgres)('the embedded database', () => {
  it('runs with 16 MB of shared buffers and its other start parameters kept', async () => {
    const { rows } = await sql<{ shared_buffers: string; max_worker_processes: string }>`
      select current_setting('shared_buffers') as shared_buffers,
        current_setting('max_worker_processes') as max_worker_processes`.execute(database.db);
    expect(rows).toEqual([{ shared_buffers: '16MB', max_worker_processes: '0' }]);
  });
});
