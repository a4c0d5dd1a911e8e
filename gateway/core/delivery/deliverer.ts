/**
 * The outbox worker of one process: claims due deliveries, pushes them (or writes them to the
 * partner's file outbox), and settles each attempt — the row's new state and its log entries —
 * in one transaction, batched with the attempts that finished meanwhile.
 *
 * Guarantees: at least once, never concurrently. A row is in flight in one process at a time
 * (claim with SKIP LOCKED and a lease); a crash between sending and settling leaves the row
 * 'delivering' until its lease expires, then it is sent again under the same messageId — the
 * partner dedupes on it. Nothing is marked delivered without a 2xx (or a completed file rename).
 */
import { setMaxListeners } from 'node:events';
import type { Kysely, Transaction } from 'kysely';
import type { Database } from '../../db/tables.ts';
import { appendLogs, type LogEntry } from '../messages/message-log.repository.ts';
import {
  describeOutcome,
  judgeAttempt,
  type AttemptVerdict,
  type DeliveryPolicy,
  type DeliveryTransports,
  type TransportOutcome,
} from './delivery.ts';
import {
  claimDue,
  disableEndpoint,
  markDead,
  markDeliveredMany,
  nextDueInMs,
  reapExpiredLeases,
  releaseClaim,
  scheduleRetry,
  type ClaimedDelivery,
  type ClaimRef,
} from './outbox.repository.ts';

/** The logger method the worker uses (pino's Logger has it). */
export interface DeliveryLogger {
  warn(details: object, message: string): void;
}

export interface DelivererDeps {
  db: Kysely<Database>;
  transports: DeliveryTransports;
  policy: DeliveryPolicy;
  /** Names this process in leases and the log. */
  instanceId: string;
  logger: DeliveryLogger;
}

export interface DrainControl {
  /** Stop claiming; the attempts in flight finish. */
  stopping: AbortSignal;
  /** Cut the attempts in flight short; their rows are released (due again, attempt not counted). */
  abort: AbortSignal;
  /**
   * Called just before each claim; resolves when more work may have been queued since (a commit
   * woke us). A wake that arrives while nobody waits must still lead to another claim.
   */
  nextWake: () => Promise<void>;
}

export interface DrainCounts {
  claimed: number;
  delivered: number;
  retried: number;
  dead: number;
  gone: number;
  released: number;
  expired: number;
}

export interface Deliverer {
  /** Delivers until nothing is due and nothing is in flight, or until told to stop. */
  drain(control: DrainControl): Promise<DrainCounts>;
  /** Milliseconds until a row falls due or a lease expires (0: now); undefined if neither. */
  nextDueInMs(): Promise<number | undefined>;
}

const LEASE_EXPIRED = 'lease expired: the worker stopped before the attempt was settled';
/** Attempts settled in one transaction at most. */
const SETTLE_BATCH = 256;
/** Attempts claimed and not yet settled, per push slot, at most: pushing, or waiting to settle. */
const UNSETTLED_PER_SLOT = 2;
/** While attempts are in flight, look for newly due retries at least this often. */
const BUSY_LOOK_MS = 1_000;

export function createDeliverer(deps: DelivererDeps): Deliverer {
  const { db, policy, instanceId, logger } = deps;

  async function reap(counts: DrainCounts): Promise<void> {
    await db.transaction().execute(async (trx) => {
      const entries: LogEntry[] = [];
      for (const row of await reapExpiredLeases(trx, policy.maxAttempts, LEASE_EXPIRED)) {
        counts.expired += 1;
        const base = {
          direction: 'outbound',
          partnerId: row.recipientId,
          messageId: row.messageId,
          documentType: row.documentType,
        } as const;
        entries.push({
          ...base,
          event: 'delivery-attempt',
          status: 'lease-expired',
          detail: { attempt: row.attempts, holder: row.holder, outcome: 'unknown' },
        });
        if (row.dead) {
          counts.dead += 1;
          entries.push({
            ...base,
            event: 'dead-lettered',
            status: 'dead',
            detail: { attempts: row.attempts, reason: LEASE_EXPIRED },
          });
        }
      }
      await appendLogs(trx, entries);
    });
  }

  /** One attempt; a transport that throws (a bug) counts as a retryable failure, not a crash. */
  async function attempt(row: ClaimedDelivery, abort: AbortSignal): Promise<TransportOutcome> {
    try {
      return await send(row, abort);
    } catch (error) {
      const detail = error instanceof Error ? error.message : 'unknown error';
      return { kind: 'retryable', reason: 'TRANSPORT_ERROR', detail };
    }
  }

  function send(row: ClaimedDelivery, abort: AbortSignal): Promise<TransportOutcome> {
    if (row.mode === 'file') {
      return deps.transports.writeFile({
        partnerId: row.recipientId,
        messageId: row.messageId,
        format: row.format,
        body: row.body,
      });
    }
    if (row.endpointUrl === null) {
      return Promise.resolve({
        kind: 'permanent',
        reason: 'NO_ENDPOINT',
        detail: 'the partner has no endpoint',
      });
    }
    return deps.transports.push({
      url: row.endpointUrl,
      body: row.body,
      contentType: row.contentType,
      messageId: row.messageId,
      secret: row.secret,
      signal: abort,
    });
  }

  interface Settlement {
    row: ClaimedDelivery;
    outcome: TransportOutcome;
    elapsedMs: number;
    counts: DrainCounts;
    resolve: () => void;
    reject: (error: unknown) => void;
  }
  const waiting: Settlement[] = [];
  let settling = false;

  /**
   * Records the attempt and moves the row on. Attempts that finish in the same turn of the event
   * loop, or while a batch is being written, wait for the next one: one transaction (and one
   * commit) settles them together, so a busy worker commits per batch, not per document, and a
   * quiet one settles each at once. A batch starts in the turn's check phase (setImmediate),
   * after the turn's I/O — PGlite runs a transaction without giving the event loop a turn, so
   * started at once it would settle every attempt alone (see group-commit.ts).
   */
  function settle(
    row: ClaimedDelivery,
    outcome: TransportOutcome,
    elapsedMs: number,
    counts: DrainCounts,
  ): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      waiting.push({ row, outcome, elapsedMs, counts, resolve, reject });
      if (settling) return;
      settling = true;
      setImmediate(() => void settleWaiting());
    });
  }

  async function settleWaiting(): Promise<void> {
    while (waiting.length > 0) {
      const batch = waiting.splice(0, SETTLE_BATCH);
      try {
        await db.transaction().execute((trx) => settleBatch(trx, batch));
        for (const item of batch) item.resolve();
      } catch (error) {
        for (const item of batch) item.reject(error);
      }
    }
    settling = false;
  }

  async function settleBatch(trx: Transaction<Database>, batch: Settlement[]): Promise<void> {
    const judged = batch.map((item) => ({
      ...item,
      verdict: judgeAttempt(
        item.outcome,
        item.row.attempts,
        item.row.ageMs + item.elapsedMs,
        policy,
      ),
    }));
    const delivered = await markDeliveredMany(
      trx,
      instanceId,
      judged.filter((j) => j.verdict.next === 'delivered').map((j) => j.row),
    );
    const entries: LogEntry[] = [];
    for (const { row, outcome, elapsedMs, counts, verdict } of judged) {
      const ref: ClaimRef = { id: row.id, instanceId, attempts: row.attempts };
      const error = outcome.kind === 'delivered' ? null : describeOutcome(outcome);
      let settled: boolean;
      let nextAttemptAt: Date | undefined;
      switch (verdict.next) {
        case 'delivered':
          settled = delivered.has(row.id);
          break;
        case 'retry':
          nextAttemptAt = await scheduleRetry(trx, ref, verdict.delayMs, error ?? '');
          settled = nextAttemptAt !== undefined;
          break;
        case 'dead':
          settled = await markDead(trx, ref, verdict.why);
          break;
        case 'gone':
          settled = await releaseClaim(trx, ref, error);
          if (
            row.endpointUrl !== null &&
            (await disableEndpoint(trx, row.recipientId, row.endpointUrl))
          ) {
            logger.warn(
              { partnerId: row.recipientId, endpoint: row.endpointUrl },
              'partner endpoint answered 410 Gone: disabled until an operator sets it again',
            );
          }
          break;
        case 'released':
          settled = await releaseClaim(trx, ref, error);
          break;
      }
      const base = {
        direction: 'outbound',
        partnerId: row.recipientId,
        messageId: row.messageId,
        documentType: row.documentType,
        refs: row.refs,
      } as const;
      entries.push({
        ...base,
        event: 'delivery-attempt',
        status: attemptStatus(verdict),
        detail: {
          attempt: row.attempts,
          transport: row.mode,
          ...outcomeDetail(outcome),
          elapsedMs: Math.round(elapsedMs),
          ...(nextAttemptAt === undefined ? {} : { nextAttemptAt: nextAttemptAt.toISOString() }),
          instance: instanceId,
          // Our lease ran out before we settled: another worker owns the row now.
          ...(settled ? {} : { claimLost: true }),
        },
      });
      if (!settled) {
        logger.warn(
          { messageId: row.messageId, partnerId: row.recipientId },
          'delivery settled after its lease expired; the row was left to its new holder',
        );
        continue;
      }
      if (verdict.next === 'dead') {
        entries.push({
          ...base,
          event: 'dead-lettered',
          status: 'dead',
          detail: { attempts: row.attempts, reason: verdict.why },
        });
      }
      counts[verdictCount(verdict)] += 1;
    }
    await appendLogs(trx, entries);
  }

  async function drain(control: DrainControl): Promise<DrainCounts> {
    const counts: DrainCounts = {
      claimed: 0,
      delivered: 0,
      retried: 0,
      dead: 0,
      gone: 0,
      released: 0,
      expired: 0,
    };
    // Attempts claimed and not yet settled; of them, pushes the partner has not answered yet.
    // A push's slot (DELIVERY_CONCURRENCY, DELIVERY_PER_PARTNER) is free once the partner has
    // answered: its work is done, and a slot held while the attempt waits for its settlement
    // stands idle. Attempts waiting to be settled are bounded too (UNSETTLED_PER_SLOT).
    const inFlight = new Set<Promise<void>>();
    /** Pushes not yet answered, by partner. */
    const perPartner = new Map<string, number>();
    const stopped = whenAborted(control.stopping);
    // Every attempt in flight listens on this signal: one per push slot, not a leak.
    const cut = new AbortController();
    setMaxListeners(policy.concurrency + 1, cut.signal);
    const onAbort = (): void => cut.abort();
    control.abort.addEventListener('abort', onAbort, { once: true });
    let failure: Error | undefined;
    let reapedAt = 0;
    // Attempts settled in this drain, and the loop waiting for enough of them (see below).
    let settled = 0;
    let waiting: { until: number; resolve: () => void } | undefined;

    const start = (row: ClaimedDelivery): void => {
      perPartner.set(row.recipientId, (perPartner.get(row.recipientId) ?? 0) + 1);
      const answered = (): void => {
        const left = (perPartner.get(row.recipientId) ?? 1) - 1;
        if (left === 0) perPartner.delete(row.recipientId);
        else perPartner.set(row.recipientId, left);
      };
      const started = performance.now();
      const task = attempt(row, cut.signal)
        .finally(answered)
        .then((outcome) => settle(row, outcome, performance.now() - started, counts))
        .catch((error: unknown) => {
          // Settling failed (the database): the row stays claimed and its lease brings it back.
          failure ??=
            error instanceof Error ? error : new Error('settling failed', { cause: error });
        })
        .finally(() => {
          inFlight.delete(task);
          settled += 1;
          if (waiting !== undefined && settled >= waiting.until) waiting.resolve();
        });
      inFlight.add(task);
    };

    try {
      while (!control.stopping.aborted && failure === undefined) {
        // Expired leases are returned at the start and then every quarter lease while busy.
        if (performance.now() - reapedAt > policy.leaseMs / 4) {
          await reap(counts);
          reapedAt = performance.now();
        }
        // Taken before the claim: a commit that lands during the claim still wakes us after it.
        const woken = control.nextWake();
        const settledBefore = settled;
        let pushing = 0;
        for (const pushes of perPartner.values()) pushing += pushes;
        const claimed = await claimDue(db, {
          instanceId,
          leaseMs: policy.leaseMs,
          limit: Math.min(
            policy.concurrency - pushing,
            policy.concurrency * UNSETTLED_PER_SLOT - inFlight.size,
          ),
          perPartner: policy.perPartner,
          inFlight: perPartner,
        });
        counts.claimed += claimed.length;
        for (const row of claimed) start(row);
        if (inFlight.size === 0) break;
        // Claim again once half of what this claim took (at least one attempt) has been settled:
        // one claim per many deliveries, not a round trip per answer — on the embedded database
        // a claim on every answer starved the settlements of its one session (250 deliveries/s).
        // A wake may bring another partner's work; and while only slow attempts are out, retries
        // falling due elsewhere are looked for regularly.
        const enough = new Promise<void>((resolve) => {
          const until = settledBefore + Math.max(1, Math.floor(claimed.length / 2));
          if (settled >= until) resolve();
          else waiting = { until, resolve };
        });
        const look = pause(BUSY_LOOK_MS);
        await Promise.race([enough, woken, stopped.promise, look.promise]);
        waiting = undefined;
        look.dispose();
      }
    } finally {
      await Promise.all(inFlight);
      control.abort.removeEventListener('abort', onAbort);
      stopped.dispose();
    }
    if (failure !== undefined) throw failure;
    return counts;
  }

  return { drain, nextDueInMs: () => nextDueInMs(db) };
}

function attemptStatus(verdict: AttemptVerdict): string {
  switch (verdict.next) {
    case 'delivered':
      return 'delivered';
    case 'retry':
      return 'retry';
    case 'dead':
      return 'failed';
    case 'gone':
      return 'gone';
    case 'released':
      return 'released';
  }
}

function verdictCount(verdict: AttemptVerdict): keyof DrainCounts {
  switch (verdict.next) {
    case 'delivered':
      return 'delivered';
    case 'retry':
      return 'retried';
    case 'dead':
      return 'dead';
    case 'gone':
      return 'gone';
    case 'released':
      return 'released';
  }
}

function outcomeDetail(outcome: TransportOutcome): Record<string, unknown> {
  const detail: Record<string, unknown> = {};
  if (outcome.status !== undefined) detail.httpStatus = outcome.status;
  if (outcome.kind === 'retryable' || outcome.kind === 'permanent') detail.reason = outcome.reason;
  if (outcome.kind === 'retryable' && outcome.retryAfterMs !== undefined) {
    detail.retryAfterMs = outcome.retryAfterMs;
  }
  if (outcome.kind !== 'delivered' && outcome.detail !== undefined) {
    detail.response = outcome.detail;
  }
  return detail;
}

/** A promise that resolves after `ms`, and its timer's removal. */
function pause(ms: number): { promise: Promise<void>; dispose: () => void } {
  let timer: NodeJS.Timeout | undefined;
  const promise = new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)));
  return { promise, dispose: () => clearTimeout(timer) };
}

/** A promise that resolves when the signal aborts (never rejects), and its listener's removal. */
function whenAborted(signal: AbortSignal): { promise: Promise<void>; dispose: () => void } {
  let dispose = (): void => undefined;
  const promise = new Promise<void>((resolve) => {
    if (signal.aborted) return resolve();
    const listener = (): void => resolve();
    signal.addEventListener('abort', listener, { once: true });
    dispose = () => signal.removeEventListener('abort', listener);
  });
  return { promise, dispose };
}
