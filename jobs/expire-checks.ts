/**
 * `expire-checks`: every minute, unpresented checks past their expiry are expired and their
 * holds released. Thin over the checks core (a compare-and-set per check by the database clock).
 */
import type { Kysely } from 'kysely';
import { expireDueChecks } from '../gateway/core/checks/checks.service.ts';
import type { Database } from '../gateway/db/tables.ts';
import type { JobDefinition } from './scheduler.ts';

export const EXPIRE_CHECKS = 'expire-checks';

export function expireChecksJob(db: Kysely<Database>): JobDefinition {
  return {
    name: EXPIRE_CHECKS,
    schedule: '0 * * * * *',
    async run(ctx) {
      return { expired: await expireDueChecks(db, { signal: ctx.signal }) };
    },
  };
}
