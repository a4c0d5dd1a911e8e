/**
 * `deliver-outbox`: thin over the core deliverer. Every process runs its own (scope 'process':
 * the processes share the rows through SKIP LOCKED claims); a run drains what is due, then asks
 * to be woken when the next retry falls due or a lease expires. Commits that queue work wake it at
 * once (LISTEN, see index.ts); the clock is only the safety net.
 */
import type { Deliverer } from '../gateway/core/delivery/deliverer.ts';
import type { JobDefinition } from './scheduler.ts';

export const DELIVER_OUTBOX = 'deliver-outbox';

/** Floor of a self-requested wake: never a busy loop, whatever the clocks say. */
const MIN_REWAKE_MS = 10;

export function deliverOutboxJob(deliverer: Deliverer): JobDefinition {
  return {
    name: DELIVER_OUTBOX,
    schedule: '*/10 * * * * *',
    scope: 'process',
    async run(ctx) {
      const counts = await deliverer.drain({
        stopping: ctx.signal,
        abort: ctx.abort,
        nextWake: ctx.nextWake,
      });
      if (!ctx.signal.aborted) {
        const dueInMs = await deliverer.nextDueInMs();
        if (dueInMs !== undefined) ctx.wakeIn(Math.max(dueInMs, MIN_REWAKE_MS));
      }
      return { ...counts };
    },
  };
}
