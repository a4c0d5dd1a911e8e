import { createMiddleware } from 'hono/factory';
import { GatewayError } from '../../core/errors.ts';
import type { AppEnv } from '../env.ts';
import { bearerToken, sameSecret } from './bearer.ts';

/**
 * The admin API takes the operator's ADMIN_TOKEN, or the per-run local token that a gateway
 * writes into its lock file so that the CLI on the same machine can go through it. With neither
 * configured, the admin API does not exist.
 */
export function adminAuth(tokens: {
  adminToken: string | undefined;
  localToken: string | undefined;
}) {
  const accepted = [tokens.adminToken, tokens.localToken].filter(
    (t): t is string => t !== undefined,
  );
  return createMiddleware<AppEnv>(async (c, next) => {
    if (accepted.length === 0) {
      throw new GatewayError(
        'ADMIN_API_DISABLED',
        'the admin API is off: set ADMIN_TOKEN to enable it',
      );
    }
    const token = bearerToken(c);
    if (token === undefined || !accepted.some((t) => sameSecret(token, t))) {
      // Without ADMIN_TOKEN only the local CLI may use the admin API: to anyone else it is off.
      if (tokens.adminToken === undefined) {
        throw new GatewayError(
          'ADMIN_API_DISABLED',
          'the admin API is off: set ADMIN_TOKEN to enable it',
        );
      }
      throw new GatewayError('UNAUTHENTICATED', 'admin token required');
    }
    await next();
  });
}
