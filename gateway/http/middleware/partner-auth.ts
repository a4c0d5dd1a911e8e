import { createHash } from 'node:crypto';
import type { Kysely } from 'kysely';
import { createMiddleware } from 'hono/factory';
import { GatewayError } from '../../core/errors.ts';
import {
  authenticateApiKey,
  type AuthenticatedPartner,
} from '../../core/partners/partners.service.ts';
import type { Database } from '../../db/tables.ts';
import type { AppEnv } from '../env.ts';
import { bearerToken } from './bearer.ts';

/**
 * API keys recently seen, so that a busy partner costs one database round trip per TTL instead
 * of one per request. Changes made through this process's admin API clear it at once; another
 * process's changes (a key revoked or a partner suspended on a replica) take effect here within
 * the TTL. Unknown keys are not cached: a guessing client always reaches the database.
 */
export interface PartnerAuthCache {
  authenticate(token: string): Promise<AuthenticatedPartner | undefined>;
  clear(): void;
}

export function createPartnerAuthCache(db: Kysely<Database>, ttlMs: number): PartnerAuthCache {
  const entries = new Map<string, { caller: AuthenticatedPartner; until: number }>();
  return {
    async authenticate(token) {
      const key = createHash('sha256').update(token).digest('hex');
      const now = performance.now();
      const cached = entries.get(key);
      if (cached !== undefined && cached.until > now) return cached.caller;
      const caller = await authenticateApiKey(db, token);
      if (caller === undefined) entries.delete(key);
      else {
        // Bounded: a cache that only grows is a memory leak with extra steps.
        if (entries.size >= 10_000) entries.clear();
        entries.set(key, { caller, until: now + ttlMs });
      }
      return caller;
    },
    clear: () => entries.clear(),
  };
}

/** Partner routes: a bearer API key of an active partner, else 401 (never saying which part failed). */
export function partnerAuth(cache: PartnerAuthCache) {
  return createMiddleware<AppEnv>(async (c, next) => {
    const token = bearerToken(c);
    const caller = token === undefined ? undefined : await cache.authenticate(token);
    if (caller === undefined) {
      c.header('www-authenticate', 'Bearer realm="nakadachi"');
      throw new GatewayError('UNAUTHENTICATED', 'a valid API key of an active partner is required');
    }
    c.set('caller', caller);
    await next();
  });
}
