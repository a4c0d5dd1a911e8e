/**
 * Named statements (gateway/db/prepared.ts): registered SQL text is prepared once per PostgreSQL
 * session and then only bound and executed; other text runs as before. PGlite runs both as text.
 */
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DatabaseHandle } from '../../gateway/db/database.ts';
import { namedStatement } from '../../gateway/db/prepared.ts';
import { onPostgres, openTestDatabase } from '../support/database.ts';

const echoTwice = namedStatement(
  'test_echo_twice',
  'select $1::text || $1::text as doubled, $2::bigint + 1 as next',
);

let database: DatabaseHandle;
beforeAll(async () => {
  database = await openTestDatabase();
});
afterAll(() => database.close());

describe('named statements', () => {
  it('run with their parameters, again and again in one session', async () => {
    const results = await database.db.connection().execute(async (session) => {
      const seen: unknown[] = [];
      for (const [text, n] of [
        ['ab', 1n],
        ['c', 41n],
        ['', 9_007_199_254_740_993n],
      ] as const) {
        const { rows } = await session.executeQuery(echoTwice([text, n]));
        seen.push(rows[0]);
      }
      return seen;
    });
    expect(results).toEqual([
      { doubled: 'abab', next: 2n },
      { doubled: 'cc', next: 42n },
      { doubled: '', next: 9_007_199_254_740_994n },
    ]);
  });

  it.skipIf(!onPostgres)('are prepared in the session; other text is not', async () => {
    const prepared = await database.db.connection().execute(async (session) => {
      await session.executeQuery(echoTwice(['x', 0n]));
      await sql`select ${'unnamed'}::text as t`.execute(session);
      const { rows } = await sql<{
        name: string;
        statement: string;
      }>`select name, statement from pg_prepared_statements`.execute(session);
      return rows;
    });
    expect(prepared.map((row) => row.name)).toContain('test_echo_twice');
    expect(prepared.some((row) => row.statement.includes('unnamed'))).toBe(false);
  });

  it('refuse a name given twice', () => {
    expect(() => namedStatement('test_echo_twice', 'select 1')).toThrow(/taken/);
  });
});
