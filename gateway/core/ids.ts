import { randomFillSync } from 'node:crypto';

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
  let randomPart = '';
  for (const byte of randomBytes16()) randomPart += CROCKFORD[byte % 32];
  return `${prefix}-${timePart}${randomPart}`;
}

// Random bytes drawn 4 KiB at a time: one call into the CSPRNG per 256 ids, not one per id.
const pool = Buffer.alloc(4096);
let drawn = pool.length;

function randomBytes16(): Buffer {
  if (drawn + 16 > pool.length) {
    randomFillSync(pool);
    drawn = 0;
  }
  drawn += 16;
  return pool.subarray(drawn - 16, drawn);
}
