import { createMiddleware } from 'hono/factory';
import { GatewayError } from '../../core/errors.ts';
import type { AppEnv } from '../env.ts';
import { adminAuth } from './admin-auth.ts';
import { bearerToken, sameSecret } from './bearer.ts';

/** Methods that read: the only ones the auditor token may use. */
export const READ_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD']);

/**
 * The admin API for operators (ADMIN_TOKEN or the local CLI token: everything) and auditors
 * (AUDITOR_TOKEN: reading only — search, timelines, verify, export — whatever route is added
 * later, since the rule is the HTTP method, not a list of routes).
 */
export function adminAccess(tokens: {
  adminToken: string | undefined;
  localToken: string | undefined;
  auditorToken: string | undefined;
}) {
  const admin = adminAuth(tokens);
  const { auditorToken } = tokens;
  return createMiddleware<AppEnv>(async (c, next) => {
    const token = bearerToken(c);
    if (auditorToken !== undefined && token !== undefined && sameSecret(token, auditorToken)) {
      if (!READ_METHODS.has(c.req.method)) {
        throw new GatewayError('FORBIDDEN', 'the auditor token is read-only');
      }
      await next();
      return;
    }
    return admin(c, next);
  });
}
