import { describe, expect, it } from 'vitest';
import { packBytes } from '../../gateway/db/prepared.ts';

describe('packBytes', () => {
  it('lays the rows end to end, each found again by its offset and length', () => {
    const backing = new Uint8Array([9, 9, 1, 2, 3, 9]);
    const rows = [new Uint8Array([0, 255]), new Uint8Array(0), backing.subarray(2, 5)];
    const packed = packBytes(rows);
    expect([...packed.bytes]).toEqual([0, 255, 1, 2, 3]);
    expect(packed.at).toEqual([0, 2, 2]);
    expect(packed.length).toEqual([2, 0, 3]);
    rows.forEach((row, i) => {
      const at = packed.at[i]!;
      expect([...packed.bytes.subarray(at, at + packed.length[i]!)]).toEqual([...row]);
    });
  });

  it('packs no rows into no bytes', () => {
    expect(packBytes([])).toEqual({ bytes: Buffer.alloc(0), at: [], length: [] });
  });
});
