import type { Context } from 'hono';
import { GatewayError } from '../core/errors.ts';

/** A JSON object body for the admin API, or a 400 that says what is wrong. */
export async function jsonObjectBody(c: Context): Promise<Record<string, unknown>> {
  let body: unknown;
  try {
    body = await c.req.json();
  } catch {
    throw new GatewayError('BAD_REQUEST', 'the body must be a JSON object');
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new GatewayError('BAD_REQUEST', 'the body must be a JSON object');
  }
  // PostgreSQL text cannot hold U+0000: refused here rather than as a 500 from the database.
  if (holdsNul(body)) throw new GatewayError('BAD_REQUEST', 'the body must not contain U+0000');
  return body as Record<string, unknown>;
}

function holdsNul(value: unknown): boolean {
  if (typeof value === 'string') return value.includes('\u0000');
  if (typeof value !== 'object' || value === null) return false;
  return Object.entries(value).some(([key, v]) => key.includes('\u0000') || holdsNul(v));
}

export function optionalString(body: Record<string, unknown>, field: string): string | undefined {
  const value = body[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw new GatewayError('BAD_REQUEST', `${field} must be a string`);
  return value;
}

export function requiredString(body: Record<string, unknown>, field: string): string {
  const value = optionalString(body, field);
  if (value === undefined) throw new GatewayError('BAD_REQUEST', `${field} is required`);
  return value;
}

export function optionalStringList(
  body: Record<string, unknown>,
  field: string,
): string[] | undefined {
  const value = body[field];
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) {
    throw new GatewayError('BAD_REQUEST', `${field} must be a list of strings`);
  }
  return value;
}

export function optionalBoolean(body: Record<string, unknown>, field: string): boolean | undefined {
  const value = body[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'boolean')
    throw new GatewayError('BAD_REQUEST', `${field} must be true or false`);
  return value;
}

/** A query or body value that must be a whole number (as a number or digits); undefined if absent. */
export function wholeNumber(value: unknown, what: string): number | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  const text = typeof value === 'number' ? String(value) : value;
  if (typeof text !== 'string' || !/^[0-9]{1,9}$/.test(text)) {
    throw new GatewayError('BAD_REQUEST', `${what} must be a whole number`);
  }
  return Number(text);
}
