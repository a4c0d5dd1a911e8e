import { randomBytes } from 'node:crypto';

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/**
 * A gateway id: prefix, then 10 characters of millisecond time and 16 of randomness (Crockford
 * base32, as in a ULID), so ids sort by creation time and never collide across processes.
 */
export function newId(prefix: string): string {
  let time = Date.now();
  let timePart = '';
  for (let i = 0; i < 10; i++) {
    timePart = CROCKFORD[time % 32] + timePart;
    time = Math.floor(time / 32);
  }
  const random = randomBytes(16);
  let randomPart = '';
  for (const byte of random) randomPart += CROCKFORD[byte % 32];
  return `${prefix}-${timePart}${randomPart}`;
}
