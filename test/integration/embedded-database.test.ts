/**
 * The embedded database's settings: PGlite's shared buffers are sized for a process that has the
 * gateway beside them, not for a database server; its table of result parsers is cut down to the
 * types in use — and both databases still return the same JavaScript values
 * (gateway/db/database.ts).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type DatabaseHandle } from '../../gateway/db/database.ts';
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

  describe('in a new data directory', () => {
    const made: string[] = [];
    const newDataDir = () => {
      made.push(fs.mkdtempSync(path.join(os.tmpdir(), 'nakadachi-embedded-')));
      return made.at(-1)!;
    };
    afterAll(() => made.forEach((dir) => fs.rmSync(dir, { recursive: true, force: true })));

    it('is created (initdb, in a child process), then opened here, and opens again', async () => {
      const dataDir = newDataDir();
      const created = await openDatabase({ databaseUrl: undefined, dataDir });
      await sql`create table kept (n int)`.execute(created.db);
      await sql`insert into kept values (7)`.execute(created.db);
      await created.close();
      expect(fs.existsSync(path.join(dataDir, 'pglite', 'PG_VERSION'))).toBe(true);

      const reopened = await openDatabase({ databaseUrl: undefined, dataDir });
      try {
        const { rows } = await sql<{ n: number; shared_buffers: string }>`
          select n, current_setting('shared_buffers') as shared_buffers from kept`.execute(
          reopened.db,
        );
        expect(rows).toEqual([{ n: 7, shared_buffers: '16MB' }]);
      } finally {
        await reopened.close();
      }
    });

    it('says which data directory it could not create a database in, and why', async () => {
      const broken = newDataDir();
      // initdb cannot make its folder `base` where a file of that name is
      fs.mkdirSync(path.join(broken, 'pglite'));
      fs.writeFileSync(path.join(broken, 'pglite', 'base'), 'not a folder');
      await expect(openDatabase({ databaseUrl: undefined, dataDir: broken })).rejects.toMatchObject(
        {
          code: 'STORAGE_UNAVAILABLE',
          message: expect.stringContaining(
            `cannot open the embedded database in ${broken}: initdb exited with 1`,
          ) as string,
        },
      );
    });
  });
});

describe('values read back', () => {
  it('are the same JavaScript values on both databases, arrays included (an array of names: its text)', async () => {
    const { rows } = await sql<Record<string, unknown>>`
      select 5::int8 as int8, 7::int4 as int4, 12.50::numeric as numeric, true as bool,
        '2026-11-22'::date as date, '2026-11-22T01:02:03Z'::timestamptz as timestamptz,
        '{"a":[1]}'::jsonb as jsonb, '\\x01ff'::bytea as bytea,
        '0b9c1e6e-6d8f-4a4e-9a53-2f1c8f0e7a11'::uuid as uuid,
        array['a', 'b,c']::text[] as texts, array[1, 2]::int8[] as int8s,
        array['{"x":1}'::jsonb] as jsonbs, array[true, false] as bools,
        array['0b9c1e6e-6d8f-4a4e-9a53-2f1c8f0e7a11'::uuid] as uuids,
        array['2026-11-22'::date] as dates, array['pg_class'::name] as names`.execute(database.db);
    expect(rows).toEqual([
      {
        int8: 5n,
        int4: 7,
        numeric: '12.50',
        bool: true,
        date: '2026-11-22',
        timestamptz: new Date('2026-11-22T01:02:03Z'),
        jsonb: { a: [1] },
        bytea: expect.objectContaining({ 0: 1, 1: 255, length: 2 }),
        uuid: '0b9c1e6e-6d8f-4a4e-9a53-2f1c8f0e7a11',
        texts: ['a', 'b,c'],
        int8s: [1n, 2n],
        jsonbs: [{ x: 1 }],
        bools: [true, false],
        uuids: ['0b9c1e6e-6d8f-4a4e-9a53-2f1c8f0e7a11'],
        dates: ['2026-11-22'],
        names: '{pg_class}',
      },
    ]);
  });
});
