/**
 * The named statements (gateway/db/prepared.ts) keep one plan per session on PostgreSQL: after a
 * few runs PostgreSQL settles on a generic plan, made from the table sizes of that moment — on a
 * new database, empty tables — and keeps it while the tables grow, until an ANALYZE (never, with
 * autovacuum off). A plan that scans a whole table because it was empty gets slower with every
 * row: a 100,000-item file drop fell from ~1,900 to ~450 documents/s as insert_new_items went
 * from about 1.5 to 40 ms.
 *
 * So each named statement is planned here as PostgreSQL would plan it on a new database
 * (plan_cache_mode = force_generic_plan, empty tables), and every table that grows with the
 * documents must be read only through a unique index with all of its columns given: one row per
 * lookup, whatever the table holds. Tables that grow with the partners (partners, their feed
 * subscriptions) may be scanned, and so may a partial index that holds only the work in flight.
 *
 * PostgreSQL only: PGlite runs every statement unnamed, planned for its parameters each time.
 */
import { sql } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import '../../gateway/main.ts'; // registers every named statement
import { namedStatements } from '../../gateway/db/prepared.ts';
import type { DatabaseHandle } from '../../gateway/db/database.ts';
import { onPostgres, openTestDatabase } from '../support/database.ts';

/** Tables whose size follows the partners, not the documents: a scan of them stays small. */
const PARTNER_TABLES = new Set(['partners', 'feed_subscriptions']);

/**
 * Partial indexes of the rows in flight, not of the documents kept: outbox_leases holds the
 * deliveries claimed and not yet settled (at most DELIVERY_CONCURRENCY per process, and the
 * leases of a stopped one until they expire).
 */
const IN_FLIGHT_INDEXES = new Set(['outbox_leases']);

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Index Name'?: string;
  'Index Cond'?: string;
  Plans?: PlanNode[];
}

interface TableRead {
  table: string;
  how: string;
  index?: string;
  condition?: string;
}

/** The reads of tables in a plan (scans of CTEs and functions are not tables). */
function tableReads(node: PlanNode, reads: TableRead[] = []): TableRead[] {
  const table = node['Relation Name'];
  // A bitmap heap scan reads what its bitmap index scan (a child) found: that one is checked.
  if (
    table !== undefined &&
    node['Node Type'] !== 'ModifyTable' &&
    node['Node Type'] !== 'Bitmap Heap Scan'
  ) {
    reads.push({
      table,
      how: node['Node Type'],
      index: node['Index Name'],
      condition: node['Index Cond'],
    });
  }
  if (node['Node Type'] === 'Bitmap Index Scan') {
    reads.push({
      table: '(bitmap)',
      how: node['Node Type'],
      index: node['Index Name'],
      condition: node['Index Cond'],
    });
  }
  for (const child of node.Plans ?? []) tableReads(child, reads);
  return reads;
}

describe.skipIf(!onPostgres)('named statements planned on empty tables', () => {
  let handle: DatabaseHandle;
  let client: pg.Client;
  /** Unique indexes: name → its table and columns. */
  const uniqueIndexes = new Map<string, { table: string; columns: string[] }>();

  beforeAll(async () => {
    handle = await openTestDatabase();
    const schema = (await sql<{ s: string }>`select current_schema() as s`.execute(handle.db))
      .rows[0]!.s;
    client = new pg.Client({
      connectionString: process.env.TEST_DATABASE_URL,
      options: `-c search_path=${schema}`,
    });
    await client.connect();
    await client.query('set plan_cache_mode = force_generic_plan');
    const { rows } = await client.query<{ index: string; table: string; columns: string[] }>(
      `select i.relname as index, t.relname as table,
              array(select a.attname::text from unnest(x.indkey) k join pg_attribute a
                      on a.attrelid = t.oid and a.attnum = k) as columns
         from pg_index x join pg_class i on i.oid = x.indexrelid join pg_class t on t.oid = x.indrelid
        where x.indisunique and t.relnamespace = $1::regnamespace`,
      [schema],
    );
    for (const row of rows)
      uniqueIndexes.set(row.index, { table: row.table, columns: row.columns });
  });

  afterAll(async () => {
    await client?.end();
    await handle?.close();
  });

  it('are all registered', () => {
    expect([...namedStatements().keys()].sort()).toEqual([
      'append_log_entries',
      'insert_new_item',
      'insert_new_items',
      'insert_reservation',
      'insert_reservations',
      'log_and_claim_inbound',
      'mark_delivered',
      'queue_outbound',
      'upsert_bid',
      'upsert_bids',
    ]);
  });

  it('read the tables that grow with documents by a whole unique key only', async () => {
    const badReads: string[] = [];
    for (const [name, text] of namedStatements()) {
      const parameters = Math.max(0, ...[...text.matchAll(/\$(\d+)/g)].map((m) => Number(m[1])));
      await client.query(`prepare ${name} as ${text}`);
      const explained = await client.query<{ 'QUERY PLAN': [{ Plan: PlanNode }] }>(
        `explain (format json) execute ${name}(${Array(parameters).fill('null').join(', ')})`,
      );
      for (const read of tableReads(explained.rows[0]!['QUERY PLAN'][0].Plan)) {
        const unique = read.index === undefined ? undefined : uniqueIndexes.get(read.index);
        const table = unique?.table ?? read.table;
        if (PARTNER_TABLES.has(table) || IN_FLIGHT_INDEXES.has(read.index ?? '')) continue;
        const wholeKey =
          unique !== undefined &&
          unique.columns.every((column) =>
            new RegExp(`\\b${column} = `).test(read.condition ?? ''),
          );
        if (!wholeKey) {
          badReads.push(
            `${name}: ${read.how} on ${table}${read.index === undefined ? '' : ` using ${read.index}`}${read.condition === undefined ? '' : ` (${read.condition})`}`,
          );
        }
      }
    }
    expect(badReads).toEqual([]);
  });
});
