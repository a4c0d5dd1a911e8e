import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  backoffCapMs,
  nextRetryDelayMs,
  RETRY_AFTER_CEILING_MS,
} from '../../adapters/transport/backoff.ts';

const attempt = fc.integer({ min: 1, max: 200 });
const baseMs = fc.integer({ min: 1, max: 60_000 });
const maxMs = fc.integer({ min: 1, max: 7 * 24 * 3600_000 });
const random = fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true });

describe('nextRetryDelayMs', () => {
  it('stays within [0, min(maxMs, baseMs × 2^(attempt−1))]', () => {
    fc.assert(
      fc.property(attempt, baseMs, maxMs, random, (a, base, max, r) => {
        const delay = nextRetryDelayMs({ attempt: a, baseMs: base, maxMs: max, random: () => r });
        expect(Number.isInteger(delay)).toBe(true);
        expect(delay).toBeGreaterThanOrEqual(0);
        expect(delay).toBeLessThanOrEqual(Math.min(max, base * 2 ** (a - 1)));
      }),
    );
  });

  it('uses the whole range: random 0 gives 0, random near 1 gives nearly the cap', () => {
    const input = { attempt: 4, baseMs: 1000, maxMs: 60_000 };
    expect(nextRetryDelayMs({ ...input, random: () => 0 })).toBe(0);
    expect(nextRetryDelayMs({ ...input, random: () => 0.999999 })).toBe(7999);
  });

  it('attempt 1 is at most baseMs', () => {
    fc.assert(
      fc.property(baseMs, random, (base, r) => {
        const delay = nextRetryDelayMs({ attempt: 1, baseMs: base, maxMs: 1e9, random: () => r });
        expect(delay).toBeLessThanOrEqual(base);
      }),
    );
  });

  it('honours Retry-After as a floor, beyond maxMs, up to 24 h', () => {
    fc.assert(
      fc.property(
        attempt,
        baseMs,
        maxMs,
        random,
        fc.integer({ min: 1, max: 10 * 24 * 3600_000 }),
        (a, base, max, r, retryAfterMs) => {
          const delay = nextRetryDelayMs({
            attempt: a,
            baseMs: base,
            maxMs: max,
            retryAfterMs,
            random: () => r,
          });
          const floor = Math.min(retryAfterMs, RETRY_AFTER_CEILING_MS);
          expect(delay).toBeGreaterThanOrEqual(floor);
          expect(delay).toBeLessThanOrEqual(Math.max(floor, backoffCapMs(a, base, max)));
        },
      ),
    );
  });

  it('ignores a zero, negative or NaN Retry-After', () => {
    for (const retryAfterMs of [0, -5, Number.NaN]) {
      expect(
        nextRetryDelayMs({ attempt: 3, baseMs: 100, maxMs: 1000, retryAfterMs, random: () => 0 }),
      ).toBe(0);
    }
  });

  it('survives a random source outside [0, 1)', () => {
    const input = { attempt: 2, baseMs: 100, maxMs: 1000 };
    expect(nextRetryDelayMs({ ...input, random: () => 1 })).toBeLessThan(200);
    expect(nextRetryDelayMs({ ...input, random: () => -3 })).toBe(0);
  });
});

describe('backoffCapMs', () => {
  it('is non-decreasing in attempt and never above maxMs', () => {
    fc.assert(
      fc.property(attempt, attempt, baseMs, maxMs, (a, b, base, max) => {
        const [lo, hi] = a <= b ? [a, b] : [b, a];
        expect(backoffCapMs(lo, base, max)).toBeLessThanOrEqual(backoffCapMs(hi, base, max));
        expect(backoffCapMs(hi, base, max)).toBeLessThanOrEqual(max);
      }),
    );
  });

  it('doubles from baseMs', () => {
    expect([1, 2, 3, 4, 5].map((a) => backoffCapMs(a, 500, 1e9))).toEqual([
      500, 1000, 2000, 4000, 8000,
    ]);
  });

  it('stays finite for huge or odd attempts', () => {
    expect(backoffCapMs(10_000, 1000, 3_600_000)).toBe(3_600_000);
    expect(backoffCapMs(0, 1000, 3_600_000)).toBe(1000);
    expect(backoffCapMs(Number.NaN, 1000, 3_600_000)).toBe(1000);
    expect(backoffCapMs(10_000, 1000, Infinity)).toBe(1000 * 2 ** 52);
  });
});
