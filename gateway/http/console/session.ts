/**
 * Console sessions: after a login with the admin (or auditor) token, a signed cookie names the
 * role and an expiry — HttpOnly, SameSite=Strict, Secure over https, scoped to /console. The
 * signing secret is derived from the configured tokens, so every replica accepts the session and
 * rotating a token ends every session. Each form that changes something carries a CSRF token
 * bound to the session (HMAC of the session value), on top of SameSite.
 */
import { createHmac, randomBytes } from 'node:crypto';
import type { Context } from 'hono';
import { deleteCookie, getSignedCookie, setSignedCookie } from 'hono/cookie';
import { sameSecret } from '../middleware/bearer.ts';

export type ConsoleRole = 'admin' | 'auditor';

export interface ConsoleTokens {
  adminToken: string | undefined;
  auditorToken: string | undefined;
}

export interface Session {
  role: ConsoleRole;
  expiresAt: number;
  /** The signed cookie's value: what the CSRF token is bound to. */
  value: string;
}

const COOKIE = 'nakadachi_console';
const SESSION_MS = 8 * 3_600_000;

/** Undefined when no token is configured: then there is no console. */
export function sessionSecret(tokens: ConsoleTokens): string | undefined {
  if (tokens.adminToken === undefined && tokens.auditorToken === undefined) return undefined;
  return createHmac('sha256', `${tokens.adminToken ?? ''}\u0000${tokens.auditorToken ?? ''}`)
    .update('nakadachi console session v1')
    .digest('base64url');
}

export function roleForToken(tokens: ConsoleTokens, given: string): ConsoleRole | undefined {
  if (tokens.adminToken !== undefined && sameSecret(given, tokens.adminToken)) return 'admin';
  if (tokens.auditorToken !== undefined && sameSecret(given, tokens.auditorToken)) return 'auditor';
  return undefined;
}

function overHttps(c: Context): boolean {
  return new URL(c.req.url).protocol === 'https:' || c.req.header('x-forwarded-proto') === 'https';
}

export async function startSession(c: Context, secret: string, role: ConsoleRole): Promise<void> {
  const value = `${role}.${Date.now() + SESSION_MS}.${randomBytes(12).toString('base64url')}`;
  await setSignedCookie(c, COOKIE, value, secret, {
    httpOnly: true,
    sameSite: 'Strict',
    secure: overHttps(c),
    path: '/console',
    maxAge: SESSION_MS / 1000,
  });
}

export async function readSession(c: Context, secret: string): Promise<Session | undefined> {
  const value = await getSignedCookie(c, secret, COOKIE);
  if (typeof value !== 'string') return undefined;
  const match = /^(admin|auditor)\.([0-9]{13})\.[A-Za-z0-9_-]{16}$/.exec(value);
  if (match === null || Number(match[2]) < Date.now()) return undefined;
  return { role: match[1] as ConsoleRole, expiresAt: Number(match[2]), value };
}

export function endSession(c: Context): void {
  deleteCookie(c, COOKIE, { path: '/console', secure: overHttps(c) });
}

export function csrfToken(secret: string, session: Session): string {
  return createHmac('sha256', secret).update(`csrf\u0000${session.value}`).digest('base64url');
}

export function validCsrf(secret: string, session: Session, given: unknown): boolean {
  return typeof given === 'string' && sameSecret(given, csrfToken(secret, session));
}

/**
 * Did our own page send this POST? Browsers say so in Sec-Fetch-Site; older ones only in Origin,
 * which is "null" under our no-referrer policy, so only a foreign origin is refused then.
 */
export function sameOrigin(c: Context): boolean {
  const site = c.req.header('sec-fetch-site');
  if (site !== undefined) return site === 'same-origin';
  const origin = c.req.header('origin');
  if (origin === undefined || origin === 'null') return true;
  try {
    return new URL(origin).host === c.req.header('host');
  } catch {
    return false;
  }
}
