/**
 * Bytes as statement parameters come back exactly, as a Buffer: PostgreSQL receives them in
 * binary from pg, PGlite as hex text made and read by database.ts (its own serializer and parser
 * were too slow for a batch's bodies).
 */
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DatabaseHandle } from '../../gateway/db/database.ts';
import { packBytes } from '../../gateway/db/prepared.ts';
import { openTestDatabase } from '../support/database.ts';

let database: DatabaseHandle;
beforeAll(async () => {
  database = await openTestDatabase();
});
afterAll(() => database.close());

const everyByte = Uint8Array.from({ length: 256 }, (_, i) => i);

async function roundTrip(bytes: Uint8Array): Promise<{ back: Uint8Array; length: number }> {
  const { rows } = await sql<{
    back: Uint8Array;
    length: number;
  }>`select ${bytes}::bytea as back, length(${bytes}::bytea) as length`.execute(database.db);
  return rows[0]!;
}

describe('bytes as parameters', () => {
  it('keep every byte value, in order, and come back as a Buffer', async () => {
    const { back, length } = await roundTrip(everyByte);
    expect(length).toBe(256);
    expect(Buffer.isBuffer(back)).toBe(true);
    expect(Buffer.from(back).equals(Buffer.from(everyByte))).toBe(true);
  });

  it('keep an empty value empty', async () => {
    const { back, length } = await roundTrip(new Uint8Array(0));
    expect(length).toBe(0);
    expect(back.byteLength).toBe(0);
  });

  it('send only the view, not the buffer behind it', async () => {
    const behind = Buffer.concat([
      Buffer.from('before'),
      Buffer.from(everyByte),
      Buffer.from('after'),
    ]);
    const view = behind.subarray(6, 6 + 256);
    expect(view.byteOffset).toBeGreaterThan(0);
    const { back } = await roundTrip(view);
    expect(Buffer.from(back).equals(Buffer.from(everyByte))).toBe(true);
  });

  it("slice back into each row's bytes when packed", async () => {
    const all = [Buffer.from('<a/>'), null, everyByte, Buffer.from('ü €')];
    const packed = packBytes(all);
    const { rows } = await sql<{ bytes: Uint8Array | null }>`
      select substring(${packed.bytes}::bytea from s.body_at + 1 for s.body_length) as bytes
      from rows from (json_to_recordset(${JSON.stringify(packed.slices)}::json)
        as (body_at int, body_length int)) with ordinality as s(body_at, body_length, n)
      order by n`.execute(database.db);
    expect(rows.map((row) => (row.bytes === null ? null : Buffer.from(row.bytes)))).toEqual(
      all.map((bytes) => (bytes === null ? null : Buffer.from(bytes))),
    );
  });
});
