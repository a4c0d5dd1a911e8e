/** Query-string parameters of the list endpoints, checked with a clear 400 for each mistake. */
import type { Context } from 'hono';
import { GatewayError } from '../core/errors.ts';

function bad(name: string, message: string): never {
  throw new GatewayError('BAD_REQUEST', `query parameter ${name} ${message}`, {
    details: [{ path: `?${name}`, code: 'BAD_REQUEST', message }],
  });
}

export function queryLimit(c: Context, fallback = 50, max = 500): number {
  const raw = c.req.query('limit');
  if (raw === undefined) return fallback;
  if (!/^[0-9]{1,6}$/.test(raw) || Number(raw) < 1 || Number(raw) > max)
    bad('limit', `must be a whole number from 1 to ${max}`);
  return Number(raw);
}

export function queryText(c: Context, name: string, maxLength = 200): string | undefined {
  const raw = c.req.query(name);
  if (raw === undefined || raw === '') return undefined;
  if (raw.length > maxLength) bad(name, `must be at most ${maxLength} characters`);
  return raw;
}

export function queryDate(c: Context, name: string): string | undefined {
  const raw = queryText(c, name, 10);
  if (raw !== undefined && (!/^\d{4}-\d{2}-\d{2}$/.test(raw) || Number.isNaN(Date.parse(raw)))) {
    bad(name, 'must be a date like 2036-03-20');
  }
  return raw;
}

export function queryDateTime(c: Context, name: string): string | undefined {
  const raw = queryText(c, name, 40);
  if (
    raw !== undefined &&
    (!/^\d{4}-\d{2}-\d{2}T[\d:.]+(Z|[+-]\d{2}:\d{2})$/.test(raw) || Number.isNaN(Date.parse(raw)))
  ) {
    bad(name, 'must be an RFC 3339 time like 2036-03-20T09:00:00Z');
  }
  return raw;
}
