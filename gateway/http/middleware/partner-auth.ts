import type { Kysely } from 'kysely';
import { createMiddleware } from 'hono/factory';
import { GatewayError } from '../../core/errors.ts';
import { authenticateApiKey } from '../../core/partners/partners.service.ts';
import type { Database } from '../../db/tables.ts';
import type { AppEnv } from '../env.ts';
import { bearerToken } from './bearer.ts';

/** Partner routes: a bearer API key of an active partner, else 401 (never saying which part failed). */
export function partnerAuth(db: Kysely<Database>) {
  return createMiddleware<AppEnv>(async (c, next) => {
    const token = bearerToken(c);
    const caller = token === undefined ? undefined : await authenticateApiKey(db, token);
    if (caller === undefined) {
      c.header('www-authenticate', 'Bearer realm="nakadachi"');
      throw new GatewayError('UNAUTHENTICATED', 'a valid API key of an active partner is required');
    }
    c.set('caller', caller);
    await next();
  });
}
