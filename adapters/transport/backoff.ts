/**
 * @module Retry delay for outbound deliveries (pure; the outbox worker stores the result as the
 * row's next attempt time).
 *
 * Rule:
 *   cap(attempt)  = min(maxMs, baseMs × 2^(attempt − 1))        attempt 1 → baseMs, doubling
 *   jittered      = uniform random in [0, cap(attempt))           "full jitter"
 *   delay         = max(jittered, min(retryAfterMs, 24 h))        when the partner sent Retry-After
 *
 * Full jitter (AWS, "Exponential Backoff and Jitter") spreads the retries of many messages that
 * failed together — a partner outage fails a whole batch at once — instead of sending them back
 * in synchronised waves; it beats "equal jitter" and "decorrelated jitter" on total work for the
 * same completion time. The rejected alternative, computing `exp(attempts)` in SQL as
 * graphile-worker does, has no jitter and cannot take Retry-After into account.
 *
 * Retry-After is the partner telling us when it can take traffic again, so it is a floor and is
 * not clipped to `maxMs`; it is clipped only at a 24 h sanity ceiling so a broken header cannot
 * park a message for a year (dead-lettering by max age stays the job of the worker).
 */

/** A Retry-After longer than this is treated as this long. */
export const RETRY_AFTER_CEILING_MS = 24 * 60 * 60 * 1000;

export interface RetryDelayInput {
  /** 1 for the first retry (after the first failed attempt). Values below 1 count as 1. */
  attempt: number;
  baseMs: number;
  maxMs: number;
  /** From the partner's Retry-After header, when it sent one. */
  retryAfterMs?: number;
  /** Returns a number in [0, 1); injectable for tests. */
  random?: () => number;
}

export function nextRetryDelayMs(input: RetryDelayInput): number {
  const random = input.random ?? Math.random;
  const cap = backoffCapMs(input.attempt, input.baseMs, input.maxMs);
  // Clamp a misbehaving random source into [0, 1) rather than trust it.
  const r = Math.min(Math.max(random(), 0), 1 - Number.EPSILON);
  const jittered = Math.floor(r * cap);
  const retryAfter = input.retryAfterMs;
  if (retryAfter === undefined || !(retryAfter > 0)) return jittered;
  return Math.max(jittered, Math.min(Math.ceil(retryAfter), RETRY_AFTER_CEILING_MS));
}

/** The upper bound of the jittered delay for an attempt; non-decreasing in `attempt`. */
export function backoffCapMs(attempt: number, baseMs: number, maxMs: number): number {
  const base = Number.isFinite(baseMs) ? Math.max(0, baseMs) : 0;
  const max = Number.isNaN(maxMs) ? 0 : Math.max(0, maxMs);
  // Past 2^52 the product is beyond any sane maxMs anyway; the clamp keeps it finite.
  const whole = Number.isNaN(attempt) ? 1 : Math.max(Math.floor(attempt), 1);
  const exponent = Math.min(whole - 1, 52);
  return Math.min(max, base * 2 ** exponent);
}
