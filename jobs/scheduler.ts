/**
 * The job scheduler. node-cron is only the clock; PostgreSQL holds the state:
 *
 *  - Tick guard: a tick of a job is the row job_runs (job, slot). Every process inserts it with
 *    ON CONFLICT DO NOTHING and only the one whose insert succeeded runs the tick, so a tick runs
 *    once however many processes share the database. The row is also the run's record (start,
 *    end, outcome, counts, error).
 *  - No overlap: a cluster-scoped job runs only while holding its row in job_leases, renewed
 *    while it runs; a crashed holder's lease expires and is taken over. A process-scoped job
 *    (the deliverer: its processes share the work through SKIP LOCKED claims) runs at most once
 *    at a time per process and takes no lease.
 *  - wake(name) runs a job now, in this process, without a tick row (a wake per committed
 *    document would flood job_runs) but with the lease. Wakes coalesce: a wake during a run asks
 *    for one more run afterwards, unless the run itself looks for work again after that wake
 *    (calling ctx.nextWake() just before it looks). A wake of a cluster-scoped job that another
 *    process is running is dropped: that run, or the next tick, does the work.
 *  - stop() stops the clock, asks the runs to finish (ctx.signal), cuts them short at the
 *    shutdown deadline (ctx.abort) and releases the leases. A tick whose row was being claimed
 *    when stop() came is recorded as skipped: no run starts after stop().
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import cron, { type ScheduledTask } from 'node-cron';
import { sql, type Kysely } from 'kysely';
import { GatewayError } from '../gateway/core/errors.ts';
import type { Database } from '../gateway/db/tables.ts';
import type { Logger } from '../gateway/logger.ts';

export interface JobContext {
  /** The tick's slot; undefined for a run started by wake(). */
  slot: Date | undefined;
  /** Stop requested (shutdown, or the lease was lost): finish the work in hand, start no more. */
  signal: AbortSignal;
  /** The shutdown deadline has passed: cut the work in hand short and release it. */
  abort: AbortSignal;
  /**
   * Counts every wake so far as seen — call it just before looking for work — and resolves at the
   * next wake. A wake after the last call still causes one more run when this one ends, unless
   * the run calls nextWake() again and looks once more.
   */
  nextWake: () => Promise<void>;
  /** Run this job again in this process after `ms` (the earliest request wins). */
  wakeIn: (ms: number) => void;
}

export type JobScope = 'cluster' | 'process';

export interface JobDefinition {
  name: string;
  /** node-cron expression (seconds allowed), evaluated in UTC. */
  schedule: string;
  /** 'cluster' (default): one run at a time across all processes; 'process': one per process. */
  scope?: JobScope;
  /** Returns counts for the run record, e.g. { delivered: 12, retried: 1 }. */
  run(ctx: JobContext): Promise<Record<string, number>>;
}

export interface SchedulerDeps {
  db: Kysely<Database>;
  logger: Logger;
  /** Names this process in job_runs and job_leases. */
  instanceId: string;
  /** How long stop() lets runs finish before cutting them short. */
  shutdownTimeoutMs: number;
  /** Job lease length, renewed every third of it (default 30 s). */
  leaseMs?: number;
  /** Run records older than this are pruned (default 7 days). */
  keepRunsMs?: number;
}

export interface Scheduler {
  start(): void;
  wake(name: string): void;
  stop(): Promise<void>;
}

const DEFAULT_LEASE_MS = 30_000;
const DEFAULT_KEEP_RUNS_MS = 7 * 24 * 60 * 60 * 1000;
const PRUNE_EVERY_MS = 60 * 60 * 1000;
/** After the deadline's abort, how long runs get to release their work before stop() gives up. */
const ABORT_GRACE_MS = 5_000;
/** setTimeout's ceiling; a later wake is re-armed when it fires. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export function newInstanceId(): string {
  return `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
}

interface JobState {
  def: JobDefinition;
  task: ScheduledTask | undefined;
  running: Promise<void> | undefined;
  /** A wake arrived that no run has looked at yet. */
  woken: boolean;
  waiter: { promise: Promise<void>; resolve: () => void } | undefined;
  timer: NodeJS.Timeout | undefined;
  timerAt: number;
}

type Trigger = { kind: 'tick'; runId: bigint; slot: Date } | { kind: 'wake' };

export function createScheduler(deps: SchedulerDeps, jobs: readonly JobDefinition[]): Scheduler {
  const { db, logger, instanceId } = deps;
  const leaseMs = deps.leaseMs ?? DEFAULT_LEASE_MS;
  const keepRunsMs = deps.keepRunsMs ?? DEFAULT_KEEP_RUNS_MS;
  const stopRequested = new AbortController();
  const deadline = new AbortController();
  const holders = new Set<string>();
  let started = false;
  let stopping: Promise<void> | undefined;
  /** Ticks claiming their row: stop() waits for them, so that none starts a run after it. */
  const ticking = new Set<Promise<void>>();
  let prunedAt = 0;

  const states = new Map<string, JobState>();
  for (const def of jobs) {
    if (states.has(def.name))
      throw new GatewayError('CONFIG_INVALID', `two jobs named ${def.name}`);
    if (!cron.validate(def.schedule)) {
      throw new GatewayError('CONFIG_INVALID', `job ${def.name}: bad schedule "${def.schedule}"`);
    }
    states.set(def.name, {
      def,
      task: undefined,
      running: undefined,
      woken: false,
      waiter: undefined,
      timer: undefined,
      timerAt: Infinity,
    });
  }

  const cronLogger = {
    info: (message: string) => logger.debug({ component: 'node-cron' }, message),
    warn: (message: string) => logger.warn({ component: 'node-cron' }, message),
    error: (message: string | Error, err?: Error) =>
      logger.error({ component: 'node-cron', err: err ?? message }, String(message)),
    debug: (message: string | Error) => logger.debug({ component: 'node-cron' }, String(message)),
  };

  async function tick(state: JobState, slot: Date): Promise<void> {
    // A run in progress here: leave the tick to another process (or to nobody).
    if (stopRequested.signal.aborted || state.running !== undefined) return;
    const claimed = await db
      .insertInto('job_runs')
      .values({ job: state.def.name, slot, instance: instanceId })
      .onConflict((oc) => oc.columns(['job', 'slot']).doNothing())
      .returning('id')
      .executeTakeFirst();
    if (claimed === undefined) return;
    if (stopRequested.signal.aborted) {
      // stop() came while the row was being claimed: record the tick, start nothing.
      await finishRun(claimed.id, 'skipped', {}, 'the scheduler is stopping');
      return;
    }
    execute(state, { kind: 'tick', runId: claimed.id, slot });
    await prune();
  }

  async function prune(): Promise<void> {
    if (Date.now() - prunedAt < PRUNE_EVERY_MS) return;
    prunedAt = Date.now();
    await db
      .deleteFrom('job_runs')
      // Whatever the outcome: a row still 'running' after days was left by a crashed process.
      .where('started_at', '<', sql<Date>`now() - make_interval(secs => ${keepRunsMs / 1000})`)
      .execute();
  }

  function execute(state: JobState, trigger: Trigger): void {
    if (state.running !== undefined) {
      // Only a tick can arrive here while running (wakes are coalesced before): record it.
      if (trigger.kind === 'tick') {
        void finishRun(trigger.runId, 'skipped', {}, 'the previous run is still in progress');
      }
      return;
    }
    state.woken = false;
    state.running = runOnce(state, trigger)
      .catch((error: unknown) => {
        logger.error({ job: state.def.name, err: error }, 'job run failed');
      })
      .finally(() => {
        state.running = undefined;
        if (state.woken && !stopRequested.signal.aborted) execute(state, { kind: 'wake' });
      });
  }

  async function runOnce(state: JobState, trigger: Trigger): Promise<void> {
    const { def } = state;
    const holder = `${instanceId}/${randomBytes(4).toString('hex')}`;
    const exclusive = (def.scope ?? 'cluster') === 'cluster';
    if (exclusive && !(await acquireLease(def.name, holder))) {
      if (trigger.kind === 'tick') {
        await finishRun(trigger.runId, 'skipped', {}, 'another process is running this job');
      }
      return;
    }
    const leaseLost = new AbortController();
    const renewal = exclusive
      ? setInterval(() => {
          renewLease(def.name, holder).then(
            (held) => {
              if (!held) {
                logger.error({ job: def.name }, 'job lease lost: stopping the run');
                leaseLost.abort();
              }
            },
            (error: unknown) => logger.warn({ job: def.name, err: error }, 'lease renewal failed'),
          );
        }, leaseMs / 3)
      : undefined;
    const ctx: JobContext = {
      slot: trigger.kind === 'tick' ? trigger.slot : undefined,
      signal: AbortSignal.any([stopRequested.signal, leaseLost.signal]),
      abort: deadline.signal,
      nextWake: () => nextWake(state),
      wakeIn: (ms) => wakeIn(state, ms),
    };
    const startedAt = performance.now();
    let counts: Record<string, number> = {};
    let failure: unknown;
    try {
      counts = await def.run(ctx);
    } catch (error) {
      failure = error;
    } finally {
      clearInterval(renewal);
      if (exclusive) await releaseLease(def.name, holder);
    }
    const ms = Math.round(performance.now() - startedAt);
    if (failure !== undefined) {
      logger.error({ job: def.name, err: failure, ms }, 'job run failed');
    } else {
      logger.debug({ job: def.name, counts, ms, trigger: trigger.kind }, 'job run finished');
    }
    if (trigger.kind === 'tick') {
      await finishRun(
        trigger.runId,
        failure === undefined ? 'ok' : 'failed',
        counts,
        failure === undefined ? null : messageOf(failure),
      );
    }
  }

  async function finishRun(
    runId: bigint,
    outcome: 'ok' | 'failed' | 'skipped',
    counts: Record<string, number>,
    error: string | null,
  ): Promise<void> {
    try {
      await db
        .updateTable('job_runs')
        .set({ finished_at: sql<Date>`now()`, outcome, counts: JSON.stringify(counts), error })
        .where('id', '=', runId)
        .where('outcome', '=', 'running')
        .execute();
    } catch (failure) {
      logger.warn({ runId: runId.toString(), err: failure }, 'cannot record the end of a job run');
    }
  }

  async function acquireLease(job: string, holder: string): Promise<boolean> {
    const row = await db
      .insertInto('job_leases')
      .values({ job, holder, lease_until: leaseEnd() })
      .onConflict((oc) =>
        oc
          .column('job')
          .doUpdateSet((eb) => ({
            holder: eb.ref('excluded.holder'),
            lease_until: eb.ref('excluded.lease_until'),
          }))
          .where('job_leases.lease_until', '<', sql<Date>`now()`),
      )
      .returning('holder')
      .executeTakeFirst();
    if (row === undefined) return false;
    holders.add(holder);
    return true;
  }

  async function renewLease(job: string, holder: string): Promise<boolean> {
    const result = await db
      .updateTable('job_leases')
      .set({ lease_until: leaseEnd() })
      .where('job', '=', job)
      .where('holder', '=', holder)
      .executeTakeFirst();
    return result.numUpdatedRows > 0n;
  }

  async function releaseLease(job: string, holder: string): Promise<void> {
    try {
      await db
        .deleteFrom('job_leases')
        .where('job', '=', job)
        .where('holder', '=', holder)
        .execute();
      holders.delete(holder);
    } catch (error) {
      // It expires by itself.
      logger.warn({ job, err: error }, 'cannot release a job lease');
    }
  }

  function leaseEnd() {
    return sql<Date>`now() + make_interval(secs => ${leaseMs / 1000})`;
  }

  function nextWake(state: JobState): Promise<void> {
    state.woken = false;
    state.waiter?.resolve();
    let resolve = (): void => undefined;
    const promise = new Promise<void>((r) => (resolve = r));
    state.waiter = { promise, resolve };
    return promise;
  }

  function wakeIn(state: JobState, ms: number): void {
    if (stopRequested.signal.aborted) return;
    const at = Date.now() + Math.max(0, ms);
    if (state.timer !== undefined && state.timerAt <= at) return;
    clearTimeout(state.timer);
    state.timerAt = at;
    state.timer = setTimeout(
      () => {
        state.timer = undefined;
        state.timerAt = Infinity;
        if (Date.now() < at) wakeIn(state, at - Date.now());
        else wake(state.def.name);
      },
      Math.min(Math.max(0, ms), MAX_TIMER_MS),
    );
  }

  function wake(name: string): void {
    const state = states.get(name);
    if (state === undefined) throw new GatewayError('INTERNAL', `no job named ${name}`);
    if (stopRequested.signal.aborted || !started) return;
    state.woken = true;
    const waiter = state.waiter;
    state.waiter = undefined;
    waiter?.resolve();
    if (state.running === undefined) execute(state, { kind: 'wake' });
  }

  return {
    start() {
      if (started || stopRequested.signal.aborted) return;
      started = true;
      for (const state of states.values()) {
        state.task = cron.createTask(
          state.def.schedule,
          (context) => {
            const ticked = tick(state, context.date)
              .catch((error: unknown) => {
                logger.warn({ job: state.def.name, err: error }, 'job tick failed');
              })
              .finally(() => ticking.delete(ticked));
            ticking.add(ticked);
          },
          { name: `${state.def.name}@${instanceId}`, timezone: 'UTC', logger: cronLogger },
        );
        void state.task.start();
      }
    },
    wake,
    stop() {
      stopping ??= (async () => {
        stopRequested.abort();
        for (const state of states.values()) {
          void state.task?.destroy();
          clearTimeout(state.timer);
          state.waiter?.resolve();
        }
        // A tick still claiming its row starts no run now (see tick): once the ticks have
        // settled, every run there will be is in `running`.
        const begun = performance.now();
        await settlesWithin(Promise.all(ticking), deps.shutdownTimeoutMs);
        const runs = Promise.all(
          [...states.values()].flatMap((s) => (s.running === undefined ? [] : [s.running])),
        );
        const left = Math.max(0, deps.shutdownTimeoutMs - (performance.now() - begun));
        if (!(await settlesWithin(runs, left))) {
          logger.warn('jobs still running at the shutdown deadline: cutting them short');
          deadline.abort();
          await settlesWithin(runs, ABORT_GRACE_MS);
        }
        if (holders.size > 0) {
          await db
            .deleteFrom('job_leases')
            .where('holder', 'in', [...holders])
            .execute()
            .catch(() => undefined);
        }
      })();
      return stopping;
    },
  };
}

function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    void promise.finally(() => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
