/**
 * Group commit: documents that arrive together are taken in one transaction and acknowledged
 * together, after the one COMMIT that makes all of them durable. A transaction's fixed costs
 * (BEGIN, COMMIT, the WAL flush) are then paid once per batch instead of once per document.
 *
 * A batch is whatever waited while the lanes were busy, up to `maxBatch`: under light load every
 * document goes alone, at once; under heavy load batches grow by themselves. Nothing waits on a
 * timer. Units are taken first come, first served; with one lane they also commit in that order.
 *
 * All or nothing: if any unit of a batch throws (a business refusal, a duplicate, a lost
 * connection), the whole batch is rolled back and every unit is run again alone, in a
 * transaction of its own — exactly what it would have met without group commit. A unit must
 * therefore do nothing outside its transaction that cannot be done twice (building and signing a
 * receipt is fine; sending a message is not — that is what the outbox is for).
 */
import type { Kysely, Transaction } from 'kysely';
import type { Database } from '../../db/tables.ts';

export type Unit<T> = (trx: Transaction<Database>) => Promise<T>;

/** Runs a unit of work in a transaction (maybe with others) and resolves once it is committed. */
export type Committer = <T>(unit: Unit<T>) => Promise<T>;

export interface GroupCommitOptions {
  /** Transactions in flight at once (each holds a connection while it runs). */
  lanes: number;
  /** Units per transaction at most; 1 turns group commit off (lanes still apply). */
  maxBatch: number;
}

interface Pending {
  unit: Unit<unknown>;
  resolve(value: unknown): void;
  reject(error: unknown): void;
}

export function createGroupCommitter(db: Kysely<Database>, options: GroupCommitOptions): Committer {
  const queue: Pending[] = [];
  let running = 0;

  async function runAlone(pending: Pending): Promise<void> {
    try {
      pending.resolve(await db.transaction().execute(pending.unit));
    } catch (error) {
      pending.reject(error);
    }
  }

  async function runBatch(batch: Pending[]): Promise<void> {
    if (batch.length === 1) return runAlone(batch[0]!);
    let results: unknown[];
    try {
      results = await db.transaction().execute(async (trx) => {
        const done: unknown[] = [];
        for (const pending of batch) done.push(await pending.unit(trx));
        return done;
      });
    } catch {
      // Someone in the batch failed, and took the others down with it: each goes again alone.
      for (const pending of batch) await runAlone(pending);
      return;
    }
    batch.forEach((pending, i) => pending.resolve(results[i]));
  }

  function pump(): void {
    while (running < options.lanes && queue.length > 0) {
      const batch = queue.splice(0, options.maxBatch);
      running++;
      void runBatch(batch).finally(() => {
        running--;
        pump();
      });
    }
  }

  return <T>(unit: Unit<T>) =>
    new Promise<T>((resolve, reject) => {
      queue.push({ unit, resolve: (value) => resolve(value as T), reject });
      pump();
    });
}
