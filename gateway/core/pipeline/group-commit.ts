/**
 * Group commit: documents that arrive together are taken in one transaction and acknowledged
 * together, after the one COMMIT that makes all of them durable. A transaction's fixed costs
 * (BEGIN, COMMIT, the WAL flush) are then paid once per batch instead of once per document.
 *
 * A unit does its work and hands back a claim (for the pipeline: the document's log entry and
 * the claim of its messageId, with its receipt). The claims of all units of a transaction are
 * made together, in one statement, last before COMMIT: one round trip per batch, not per unit.
 *
 * A batch is whatever arrived in the same turn of the event loop or waited while the lanes were
 * busy, up to `maxBatch`: under light load every document goes alone, at once; under heavy load
 * batches grow by themselves. Nothing waits on a timer — a batch starts in the turn's check phase
 * (setImmediate), after the turn's I/O. That matters on the embedded database: PGlite runs a whole
 * transaction without giving the event loop a turn, so a batch started at once would never find
 * company (one document per transaction: 330 against 900 documents/s under the bench's load).
 * Units are taken first come, first served; with one lane they also commit in that order.
 *
 * Gathered writes: a unit that shares its transaction may leave a write to the end of the batch
 * (`gather`), made for all the units that left one of its kind in one statement, after the units
 * and before the claims. The write either applies to every one of them or refuses (false) and
 * changes nothing; a refusal sends the batch to run again in smaller batches, down to units alone,
 * where nothing is gathered and each unit makes its write itself — and meets whatever it would have
 * met (see below). A unit must not gather a write that a later unit of the same batch would need to
 * see and could do without: a later unit that misses it must fail (and so run again alone, once the
 * units before it are committed), not decide otherwise — or, when it cannot tell, throw RunAlone
 * whenever it shares a transaction.
 *
 * All or nothing: if any unit of a batch throws (a business refusal, a duplicate, a lost
 * connection) or loses its claim, the whole batch is rolled back; that unit runs again alone, in a
 * transaction of its own — exactly what it would have met without group commit — and the units
 * before it and after it run again as two batches, in that order (each all or nothing again): one
 * refusal in a batch of hundreds costs two more transactions, not hundreds. A gathered write
 * refused is no one unit's: the batch runs again in halves, each halved again while it fails, down
 * to units alone. Any other failure of the batch as a whole (a lost connection, a deadlock in the
 * claims) runs every unit again alone. A unit must therefore do nothing outside its transaction
 * that cannot be done twice (building and signing a receipt is fine; sending a message is not —
 * that is what the outbox is for). A unit alone that is a deadlock victim runs again, up to three
 * times.
 */
import type { Kysely, Transaction } from 'kysely';
import { isConflictVictim } from '../../db/database.ts';
import type { Database } from '../../db/tables.ts';

/**
 * A unit's work in the transaction: the value it answers with, and what it claims — or a function
 * that gives them once the batch's gathered writes are made (when it gathered a write whose
 * outcome it needs, or is still finishing work of its own off the thread). `gather` is there when
 * the unit shares its transaction with others, undefined when it runs alone.
 */
export type Unit<C, T> = (
  trx: Transaction<Database>,
  gather: Gather | undefined,
) => Promise<UnitDone<C, T> | (() => UnitDone<C, T> | Promise<UnitDone<C, T>>)>;

export interface UnitDone<C, T> {
  claim: C;
  value: T;
}

/**
 * Makes the gathered writes of one kind for all the units of a transaction, in the order they
 * were gathered: true when made for every one, false when refused (then nothing is changed).
 */
export type GatheredWrite<I> = (
  trx: Transaction<Database>,
  items: readonly I[],
) => Promise<boolean>;

/** Leaves an item to `write`, made once for all the items of the batch before the claims. */
export type Gather = <I>(write: GatheredWrite<I>, item: I) => void;

/**
 * Runs a unit in a transaction (maybe with others) and resolves to its value once committed;
 * rejects with ClaimLost when its claim was refused (its work rolled back).
 */
export type Committer<C> = <T>(unit: Unit<C, T>) => Promise<T>;

/** Makes the claims of one transaction's units, in order: true for each claim won. */
export type MakeClaims<C> = (
  trx: Transaction<Database>,
  claims: readonly C[],
) => Promise<readonly boolean[]>;

/** The unit's claim was refused (another transaction holds or made it): its work was undone. */
export class ClaimLost extends Error {
  constructor() {
    super('the claim was lost to another transaction');
  }
}

/**
 * Thrown by a unit that must not share its transaction — it could miss a write gathered before
 * it and still succeed, deciding otherwise: the batch is undone, and this unit runs again alone
 * (without `gather`, so it does not throw again) once the units before it are committed.
 */
export class RunAlone extends Error {}

/** A gathered write refused to apply: the batch is undone, and its units run again alone. */
class GatheredWriteRefused extends Error {
  constructor() {
    super('a gathered write was refused');
  }
}

export interface GroupCommitOptions<C> {
  /** Transactions in flight at once (each holds a connection while it runs). */
  lanes: number;
  /** Units per transaction at most; 1 turns group commit off (lanes still apply). */
  maxBatch: number;
  claim: MakeClaims<C>;
}

/** Runs of a unit alone that a deadlock or a serialization failure may end before it fails. */
const CONFLICT_ATTEMPTS = 3;

interface Pending<C> {
  unit: Unit<C, unknown>;
  resolve(value: unknown): void;
  reject(error: unknown): void;
}

export function createGroupCommitter<C>(
  db: Kysely<Database>,
  options: GroupCommitOptions<C>,
): Committer<C> {
  const queue: Pending<C>[] = [];
  let running = 0;
  let pumpScheduled = false;

  async function runBatch(batch: readonly Pending<C>[], attempt = 1): Promise<void> {
    let values: unknown[];
    // The unit that failed the batch, when the failure is its own (it threw, or lost its claim).
    let failedAt: number | undefined;
    try {
      values = await db.transaction().execute(async (trx) => {
        const gathered = new Map<GatheredWrite<unknown>, unknown[]>();
        const gather: Gather | undefined =
          batch.length === 1
            ? undefined
            : <I>(write: GatheredWrite<I>, item: I) => {
                const items = gathered.get(write as GatheredWrite<unknown>);
                if (items === undefined) gathered.set(write as GatheredWrite<unknown>, [item]);
                else items.push(item);
              };
        const ran: Awaited<ReturnType<Unit<C, unknown>>>[] = [];
        for (const [i, pending] of batch.entries()) {
          try {
            ran.push(await pending.unit(trx, gather));
          } catch (error) {
            failedAt = i;
            throw error;
          }
        }
        for (const [write, items] of gathered) {
          if (!(await write(trx, items))) throw new GatheredWriteRefused();
        }
        const done = await Promise.all(
          ran.map(async (unitDone) => (typeof unitDone === 'function' ? unitDone() : unitDone)),
        );
        const won = await options.claim(
          trx,
          done.map((d) => d.claim),
        );
        if (won.length !== done.length) throw new ClaimLost();
        if (won.includes(false)) {
          failedAt = won.indexOf(false);
          throw new ClaimLost();
        }
        return done.map((d) => d.value);
      });
    } catch (error) {
      if (batch.length === 1) {
        // Transactions of other lanes or processes take the same rows in another order: a
        // deadlock victim is rolled back for what ran beside it, and simply runs again.
        if (isConflictVictim(error) && attempt < CONFLICT_ATTEMPTS) {
          return runBatch(batch, attempt + 1);
        }
        return batch[0]!.reject(error);
      }
      // Each part runs again as a batch of its own (all or nothing), in order.
      for (const part of partsAfterFailure(batch, failedAt, error)) await runBatch(part);
      return;
    }
    batch.forEach((pending, i) => pending.resolve(values[i]));
  }

  function pump(): void {
    while (running < options.lanes && queue.length > 0) {
      const batch = queue.splice(0, options.maxBatch);
      running++;
      void runBatch(batch).finally(() => {
        running--;
        schedulePump();
      });
    }
  }

  function schedulePump(): void {
    if (pumpScheduled) return;
    pumpScheduled = true;
    setImmediate(() => {
      pumpScheduled = false;
      pump();
    });
  }

  return <T>(unit: Unit<C, T>) =>
    new Promise<T>((resolve, reject) => {
      queue.push({ unit, resolve: (value) => resolve(value as T), reject });
      schedulePump();
    });
}

/**
 * How a failed batch runs again. One unit failed and took the others down with it: it goes alone,
 * between the units before it and the units after it. A gathered write refused: the batch in
 * halves, which split again as long as they fail. Anything else (a lost connection, a deadlock in
 * the claims): every unit alone, as it would have run without group commit.
 */
function partsAfterFailure<P>(
  batch: readonly P[],
  failedAt: number | undefined,
  error: unknown,
): P[][] {
  if (failedAt !== undefined) {
    return [batch.slice(0, failedAt), [batch[failedAt]!], batch.slice(failedAt + 1)].filter(
      (part) => part.length > 0,
    );
  }
  if (error instanceof GatheredWriteRefused) {
    const half = Math.ceil(batch.length / 2);
    return [batch.slice(0, half), batch.slice(half)];
  }
  return batch.map((unit) => [unit]);
}
