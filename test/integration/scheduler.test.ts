/**
 * The scheduler against a real database: two schedulers stand for two gateway processes (on
 * PostgreSQL each has its own connection pool). A tick runs once across them, a job never
 * overlaps itself, wakes run at once and coalesce, leases expire and are taken over, and stop()
 * lets runs finish before it cuts them short.
 */
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type DatabaseHandle } from '../../gateway/db/database.ts';
import { createLogger } from '../../gateway/logger.ts';
import { createScheduler, type JobDefinition, type Scheduler } from '../../jobs/scheduler.ts';
import { onPostgres, openTestDatabase } from '../support/database.ts';
import { eventually } from '../support/delivery.ts';

let database: DatabaseHandle;
/** A second connection pool on the same schema (PGlite has one connection: the same handle). */
let other: DatabaseHandle;
const schedulers: Scheduler[] = [];

beforeAll(async () => {
  database = await openTestDatabase();
  if (onPostgres) {
    const schema = (await sql<{ s: string }>`select current_schema() as s`.execute(database.db))
      .rows[0]!.s;
    other = await openDatabase({
      databaseUrl: process.env.TEST_DATABASE_URL,
      dataDir: '',
      searchPath: schema,
    });
  } else {
    other = database;
  }
});
afterAll(async () => {
  await Promise.all(schedulers.map((s) => s.stop()));
  if (other !== database) await other.close();
  await database.close();
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function scheduler(
  handle: DatabaseHandle,
  instanceId: string,
  jobs: JobDefinition[],
  shutdownTimeoutMs = 5_000,
): Scheduler {
  const created = createScheduler(
    {
      db: handle.db,
      logger: createLogger('silent'),
      instanceId,
      shutdownTimeoutMs,
      leaseMs: 3_000,
    },
    jobs,
  );
  schedulers.push(created);
  created.start();
  return created;
}

async function runsOf(job: string) {
  return database.db
    .selectFrom('job_runs')
    .selectAll()
    .where('job', '=', job)
    .orderBy('slot')
    .execute();
}

describe('ticks', () => {
  it('runs each tick once across two processes and records every run', async () => {
    const perSlot = new Map<string, number>();
    const job = (name: string): JobDefinition => ({
      name,
      schedule: '* * * * * *',
      run: (ctx) => {
        const key = ctx.slot!.toISOString();
        perSlot.set(key, (perSlot.get(key) ?? 0) + 1);
        return Promise.resolve({ seen: 1 });
      },
    });
    const a = scheduler(database, 'A', [job('tick-once')]);
    const b = scheduler(other, 'B', [job('tick-once')]);
    await sleep(3_200);
    await Promise.all([a.stop(), b.stop()]);

    expect(perSlot.size).toBeGreaterThanOrEqual(2);
    expect([...perSlot.values()].every((n) => n === 1)).toBe(true);
    // A tick whose row was being claimed as stop() came is recorded as skipped, and not run.
    const recorded = await runsOf('tick-once');
    const atStop = recorded.filter((r) => r.error === 'the scheduler is stopping');
    expect(atStop.every((r) => r.outcome === 'skipped')).toBe(true);
    const runs = recorded.filter((r) => !atStop.includes(r));
    expect(runs.map((r) => r.slot.toISOString()).sort()).toEqual([...perSlot.keys()].sort());
    for (const run of runs) {
      expect(run).toMatchObject({ outcome: 'ok', counts: { seen: 1 }, error: null });
      expect(['A', 'B']).toContain(run.instance);
      expect(run.finished_at!.getTime()).toBeGreaterThanOrEqual(run.started_at.getTime());
    }
  });

  it('never overlaps a job with itself; a tick that finds it running is recorded as skipped', async () => {
    let running = 0;
    let most = 0;
    const job: JobDefinition = {
      name: 'long-job',
      schedule: '* * * * * *',
      async run() {
        running += 1;
        most = Math.max(most, running);
        await sleep(1_600);
        running -= 1;
        return {};
      },
    };
    const a = scheduler(database, 'A', [job]);
    const b = scheduler(other, 'B', [{ ...job }]);
    await sleep(4_300);
    await Promise.all([a.stop(), b.stop()]);
    expect(most).toBe(1);
    const runs = await runsOf('long-job');
    expect(runs.filter((r) => r.outcome === 'ok').length).toBeGreaterThanOrEqual(1);
    expect(runs.some((r) => r.outcome === 'skipped')).toBe(true);
    expect(runs.find((r) => r.outcome === 'skipped')!.error).toMatch(
      /another process is running this job|still in progress/,
    );
  });

  it.skipIf(!onPostgres)(
    'stop() while a tick claims its row: the tick is recorded as skipped and nothing runs after',
    async () => {
      let ran = 0;
      let locked = (): void => undefined;
      const lockHeld = new Promise<void>((resolve) => (locked = resolve));
      let release = (): void => undefined;
      const released = new Promise<void>((resolve) => (release = resolve));
      // Another session holds job_runs, so that the next tick's claim waits for it.
      const holding = other.db.transaction().execute(async (trx) => {
        await sql`lock table job_runs in share mode`.execute(trx);
        locked();
        await released;
      });
      await lockHeld;
      const s = scheduler(database, 'A', [
        {
          name: 'tick-at-stop',
          schedule: '* * * * * *',
          run: () => {
            ran += 1;
            return Promise.resolve({});
          },
        },
      ]);
      await eventually(async () => {
        // This schema's job_runs, which only this scheduler writes now.
        const { rows } = await sql<{ waiting: number }>`
          select count(*)::int as waiting from pg_locks
          where not granted and relation = 'job_runs'::regclass`.execute(database.db);
        return rows[0]!.waiting > 0;
      }, 'a tick waiting to claim its row');
      const stopped = s.stop();
      release();
      await holding;
      await stopped;
      const runs = await runsOf('tick-at-stop');
      expect(runs.length).toBeGreaterThanOrEqual(1);
      for (const run of runs) {
        expect(run).toMatchObject({ outcome: 'skipped', error: 'the scheduler is stopping' });
      }
      await sleep(300);
      expect(ran).toBe(0);
    },
  );

  it('records a failed run with its error', async () => {
    const s = scheduler(database, 'A', [
      {
        name: 'failing-job',
        schedule: '* * * * * *',
        run: () => Promise.reject(new Error('partner feed unreachable')),
      },
    ]);
    const run = await eventually(
      async () => (await runsOf('failing-job')).find((r) => r.outcome === 'failed'),
      'a failed run',
      5_000,
    );
    await s.stop();
    expect(run.error).toBe('partner feed unreachable');
  });
});

/** A job that never ticks by itself (once a year) and counts its runs. */
function wakeOnlyJob(
  name: string,
  run: JobDefinition['run'],
  scope: JobDefinition['scope'] = 'cluster',
): JobDefinition {
  return { name, schedule: '0 0 0 1 1 *', scope, run };
}

describe('wakes', () => {
  it('runs at once, coalesces wakes during a run into one more run, and writes no tick rows', async () => {
    let runs = 0;
    const s = scheduler(database, 'A', [
      wakeOnlyJob('woken', async () => {
        runs += 1;
        await sleep(200);
        return {};
      }),
    ]);
    s.wake('woken');
    await sleep(50);
    for (let i = 0; i < 5; i++) s.wake('woken');
    await eventually(() => runs === 2, 'the second run');
    await sleep(400);
    expect(runs).toBe(2);
    expect(await runsOf('woken')).toEqual([]);
  });

  it('lets a run that looks again after a wake take it, instead of running again', async () => {
    let runs = 0;
    let looks = 0;
    const s = scheduler(database, 'A', [
      wakeOnlyJob(
        'listener',
        async (ctx) => {
          runs += 1;
          // The deliverer's loop: nextWake() just before each look; wait for a wake once.
          for (let look = 0; look < 2; look++) {
            const woken = ctx.nextWake();
            looks += 1;
            if (look === 0) await woken;
          }
          return {};
        },
        'process',
      ),
    ]);
    s.wake('listener');
    await sleep(50);
    expect(looks).toBe(1);
    s.wake('listener');
    await eventually(() => looks === 2, 'the run to look again');
    await sleep(200);
    expect(runs).toBe(1);
  });

  it('runs once more when a wake arrives after the run last looked', async () => {
    let runs = 0;
    let release = (): void => undefined;
    const s = scheduler(database, 'A', [
      wakeOnlyJob(
        'late-wake',
        async (ctx) => {
          runs += 1;
          void ctx.nextWake();
          // Work "found" nothing; a commit lands before the run ends.
          if (runs === 1) await new Promise<void>((resolve) => (release = resolve));
          return {};
        },
        'process',
      ),
    ]);
    s.wake('late-wake');
    await sleep(50);
    s.wake('late-wake');
    release();
    await eventually(() => runs === 2, 'the run for the late wake');
  });

  it('wakes again when a run asks for it', async () => {
    const times: number[] = [];
    const s = scheduler(database, 'A', [
      wakeOnlyJob('again', (ctx) => {
        times.push(Date.now());
        if (times.length === 1) ctx.wakeIn(150);
        return Promise.resolve({});
      }),
    ]);
    s.wake('again');
    await eventually(() => times.length === 2, 'the requested run');
    expect(times[1]! - times[0]!).toBeGreaterThanOrEqual(140);
  });
});

describe('leases', () => {
  it('respects a live lease and takes over an expired one', async () => {
    let runs = 0;
    await database.db
      .insertInto('job_leases')
      .values({
        job: 'leased',
        holder: 'crashed-process',
        lease_until: sql<Date>`now() + interval '1 hour'`,
      })
      .execute();
    const s = scheduler(database, 'A', [
      wakeOnlyJob('leased', () => {
        runs += 1;
        return Promise.resolve({});
      }),
    ]);
    s.wake('leased');
    await sleep(300);
    expect(runs).toBe(0);
    await database.db
      .updateTable('job_leases')
      .set({ lease_until: sql<Date>`now() - interval '1 second'` })
      .where('job', '=', 'leased')
      .execute();
    s.wake('leased');
    await eventually(() => runs === 1, 'the run after the lease expired');
    // Released after the run.
    await eventually(
      async () =>
        (
          await database.db
            .selectFrom('job_leases')
            .selectAll()
            .where('job', '=', 'leased')
            .execute()
        ).length === 0,
      'the lease released',
    );
  });

  it('stop() lets a run finish, cuts it short at the deadline, and releases its lease', async () => {
    const events: string[] = [];
    const s = scheduler(
      database,
      'A',
      [
        wakeOnlyJob('stubborn', async (ctx) => {
          events.push('started');
          await new Promise<void>((resolve) =>
            ctx.signal.addEventListener('abort', () => resolve(), { once: true }),
          );
          events.push('asked to stop');
          await new Promise<void>((resolve) =>
            ctx.abort.addEventListener('abort', () => resolve(), { once: true }),
          );
          events.push('cut short');
          return {};
        }),
      ],
      300,
    );
    s.wake('stubborn');
    await eventually(() => events.length === 1, 'the run to start');
    const held = await database.db
      .selectFrom('job_leases')
      .selectAll()
      .where('job', '=', 'stubborn')
      .execute();
    expect(held).toHaveLength(1);
    const stopping = Date.now();
    await s.stop();
    expect(events).toEqual(['started', 'asked to stop', 'cut short']);
    expect(Date.now() - stopping).toBeGreaterThanOrEqual(280);
    expect(
      await database.db
        .selectFrom('job_leases')
        .selectAll()
        .where('job', '=', 'stubborn')
        .execute(),
    ).toEqual([]);
    // Stopped means stopped: wakes are ignored.
    s.wake('stubborn');
    await sleep(100);
    expect(events).toHaveLength(3);
  });
});
