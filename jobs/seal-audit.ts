/**
 * `seal-audit`: every ten seconds, seal the message log entries whose transactions have all
 * ended into signed, chained seals. Thin over the audit core; the sealers of all processes take
 * one advisory lock, so a run here and one elsewhere never fork the chain.
 */
import { sealPending, type SealDeps } from '../gateway/core/audit/seal.service.ts';
import type { JobDefinition } from './scheduler.ts';

export const SEAL_AUDIT = 'seal-audit';

export function sealAuditJob(deps: SealDeps): JobDefinition {
  return {
    name: SEAL_AUDIT,
    schedule: '*/10 * * * * *',
    async run(ctx) {
      return { ...(await sealPending(deps, { signal: ctx.signal })) };
    },
  };
}
