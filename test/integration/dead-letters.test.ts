/**
 * Dead letters through the CLI (and so through the admin API it drives): list with filters by
 * partner, type and age, page with a cursor, show one with its history, replay one or many.
 * A gateway (ROLE=api: nothing delivers the replayed documents) holds the store meanwhile; on
 * PGlite the CLI goes through it, on PostgreSQL straight to the database.
 */
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../gateway/cli.ts';
import { loadConfig } from '../../gateway/config.ts';
import { createPartner } from '../../gateway/core/partners/partners.service.ts';
import { createLogger } from '../../gateway/logger.ts';
import { startGateway, type Gateway } from '../../gateway/main.ts';
import { openSharedStore, type SharedStore } from '../support/child-gateway.ts';
import { enqueueNoAwards, testOutboxDeps } from '../support/delivery.ts';

let store: SharedStore;
let gateway: Gateway;
let recent: string[];
let old: string[];
let other: string[];

async function cli(...argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(
    argv,
    { LOG_LEVEL: 'silent', ...store.env },
    (t) => out.push(t),
    (t) => err.push(t),
  );
  return { code, stdout: out.join('\n'), stderr: err.join('\n') };
}

async function json(...argv: string[]): Promise<any> {
  const result = await cli(...argv, '--json');
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  return JSON.parse(result.stdout);
}

beforeAll(async () => {
  store = await openSharedStore();
  await store.use(async (db) => {
    const deps = { db, checkEndpoint: () => ({ ok: true }) as const };
    for (const id of ['DL-A', 'DL-B']) {
      await createPartner(deps, { id, name: id, roles: ['buyer'], deliveryMode: 'file' });
    }
    // Dead letters as the deliverer leaves them: status dead, with the last error.
    recent = await enqueueNoAwards(db, testOutboxDeps(), 'DL-A', 3);
    old = await enqueueNoAwards(db, testOutboxDeps(), 'DL-A', 2);
    other = await enqueueNoAwards(db, testOutboxDeps(), 'DL-B', 1);
    await db
      .updateTable('outbox')
      .set({
        status: 'dead',
        dead_at: sql<Date>`now()`,
        attempts: 12,
        last_error: '12 attempts failed, last: SERVER_ERROR (HTTP 503)',
      })
      .execute();
    // created_at is never updated by the gateway; the test ages two documents by hand.
    await sql`update outbox set created_at = now() - interval '3 hours' where message_id in (${sql.join(old)})`.execute(
      db,
    );
  });
  const config = loadConfig({ ...store.env, ROLE: 'api', HOST: '127.0.0.1', PORT: '0' });
  gateway = await startGateway(config, { logger: createLogger('silent') });
}, 60_000);
afterAll(async () => {
  await gateway.stop();
  await store.close();
});

describe('nakadachi dead-letters', () => {
  it('lists dead letters, filtered by partner, type and age', { timeout: 60_000 }, async () => {
    const ids = (result: any) => result.deadLetters.map((d: any) => d.messageId);
    expect(ids(await json('dead-letters', 'list'))).toEqual([...recent, ...old, ...other]);
    expect(ids(await json('dead-letters', 'list', '--partner', 'DL-B'))).toEqual(other);
    expect(ids(await json('dead-letters', 'list', '--type', 'Award'))).toEqual([]);
    expect(ids(await json('dead-letters', 'list', '--older-than', '2h'))).toEqual(old);
    expect(
      ids(await json('dead-letters', 'list', '--newer-than', '1h', '--partner', 'DL-A')),
    ).toEqual(recent);

    const page = await json('dead-letters', 'list', '--limit', '2');
    expect(ids(page)).toEqual(recent.slice(0, 2));
    expect(ids(await json('dead-letters', 'list', '--after', page.nextCursor))).toEqual([
      recent[2],
      ...old,
      ...other,
    ]);

    const table = await cli('dead-letters', 'list', '--partner', 'DL-B');
    expect(table.stdout).toMatch(/^MESSAGE ID\s+PARTNER\s+TYPE\s+ATTEMPTS/);
    expect(table.stdout).toContain(other[0]);
    expect(table.stdout).toContain('SERVER_ERROR (HTTP 503)');
  });

  it('shows one dead letter with its history', { timeout: 60_000 }, async () => {
    const shown = await json('dead-letters', 'show', '--id', other[0]!);
    expect(shown.deadLetter).toMatchObject({
      messageId: other[0],
      partner: 'DL-B',
      type: 'NoAward',
      attempts: 12,
      contentType: 'application/json; charset=utf-8',
    });
    expect(shown.history.map((h: any) => h.event)).toEqual(['queued']);
    const missing = await cli('dead-letters', 'show', '--id', 'NAKADACHI-NOPE');
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe('nakadachi: no dead letter NAKADACHI-NOPE');
  });

  it('replays by id and by filter, each once', { timeout: 60_000 }, async () => {
    expect(await json('dead-letters', 'replay', '--id', `${recent[0]},NAKADACHI-NOPE`)).toEqual({
      replayed: [recent[0]],
      notFound: ['NAKADACHI-NOPE'],
    });
    expect(await json('dead-letters', 'replay', '--partner', 'DL-A', '--older-than', '2h')).toEqual(
      {
        replayed: old,
        notFound: [],
      },
    );
    // Replayed rows are no longer dead letters: a second replay finds nothing.
    expect((await json('dead-letters', 'replay', '--id', recent[0]!)).replayed).toEqual([]);
    const text = await cli('dead-letters', 'replay', '--all');
    expect(text.stdout).toContain('replayed 3 dead letters');

    const { db } = gateway.database;
    const rows = await db.selectFrom('outbox').select(['status', 'attempts']).execute();
    expect(rows).toHaveLength(6);
    for (const row of rows) expect(row).toEqual({ status: 'pending', attempts: 0 });
    const replayedLog = await db
      .selectFrom('message_log')
      .select('message_id')
      .where('event', '=', 'replayed')
      .execute();
    expect(replayedLog).toHaveLength(6);
  });

  it('refuses replay without a selection, or with two', async () => {
    for (const argv of [
      ['dead-letters', 'replay'],
      ['dead-letters', 'replay', '--all', '--partner', 'DL-A'],
      ['dead-letters', 'list', '--limit', 'x'],
      ['dead-letters', 'frobnicate'],
    ]) {
      const result = await cli(...argv);
      expect(result.code, argv.join(' ')).toBe(2);
      expect(result.stderr).toMatch(/^nakadachi: /);
    }
    const badAge = await cli('dead-letters', 'list', '--older-than', 'yesterday');
    expect(badAge.code).toBe(1);
    expect(badAge.stderr).toContain('olderThan must be a duration');
  });
});
