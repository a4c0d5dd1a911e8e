import { describe, expect, it, vi } from 'vitest';
import { newId } from '../../gateway/core/ids.ts';

describe('newId', () => {
  it('is the prefix, 10 characters of time and 16 of randomness in Crockford base32', () => {
    expect(newId('NAKADACHI-R')).toMatch(/^NAKADACHI-R-[0-9A-HJKMNP-TV-Z]{26}$/);
  });

  it('never repeats, across many refills of its random pool', () => {
    const ids = Array.from({ length: 20_000 }, () => newId('X'));
    expect(new Set(ids).size).toBe(ids.length);
    // Within one millisecond only the random part differs: it must not repeat either.
    expect(new Set(ids.map((id) => id.slice(-16))).size).toBe(ids.length);
  });

  it('sorts by creation time', () => {
    vi.useFakeTimers({ now: new Date('2036-01-01T00:00:00.000Z') });
    try {
      const earlier = newId('X');
      vi.setSystemTime(new Date('2036-01-01T00:00:00.001Z'));
      const later = newId('X');
      expect(earlier < later).toBe(true);
      // The time part read back as a number is the millisecond it was made in.
      const ms = [...earlier.slice(2, 12)].reduce(
        (n, char) => n * 32 + '0123456789ABCDEFGHJKMNPQRSTVWXYZ'.indexOf(char),
        0,
      );
      expect(ms).toBe(Date.parse('2036-01-01T00:00:00.000Z'));
    } finally {
      vi.useRealTimers();
    }
  });
});
