import { describe, expect, it } from 'vitest';
import { jsonRows, packBytes } from '../../gateway/db/prepared.ts';

describe('packBytes', () => {
  it('lays the rows end to end, each found again by its slice', () => {
    const backing = new Uint8Array([9, 9, 1, 2, 3, 9]);
    const rows = [new Uint8Array([0, 255]), new Uint8Array(0), backing.subarray(2, 5)];
    const packed = packBytes(rows);
    expect([...packed.bytes]).toEqual([0, 255, 1, 2, 3]);
    expect(packed.slices).toEqual([
      { body_at: 0, body_length: 2 },
      { body_at: 2, body_length: 0 },
      { body_at: 2, body_length: 3 },
    ]);
    rows.forEach((row, i) => {
      const { body_at: at, body_length: length } = packed.slices[i]!;
      expect([...packed.bytes.subarray(at!, at! + length!)]).toEqual([...row]);
    });
  });

  it('gives a row without bytes a null slice, taking no room', () => {
    const packed = packBytes([null, new Uint8Array([7]), undefined]);
    expect([...packed.bytes]).toEqual([7]);
    expect(packed.slices).toEqual([
      { body_at: null, body_length: null },
      { body_at: 0, body_length: 1 },
      { body_at: null, body_length: null },
    ]);
  });

  it('packs no rows into no bytes', () => {
    expect(packBytes([])).toEqual({ bytes: Buffer.alloc(0), slices: [] });
  });
});

describe('jsonRows', () => {
  it('is the rows as JSON', () => {
    const rows = [{ a: 'x', n: '90071992547409930', nested: { q: [1, null] } }, { a: null }];
    expect(JSON.parse(jsonRows(rows))).toEqual(rows);
  });

  it('keeps U+0000, which PostgreSQL text cannot hold, as U+FFFD, in values and in names', () => {
    expect(JSON.parse(jsonRows([{ detail: { 'k\u0000': 'a\u0000b\u0000' } }]))).toEqual([
      { detail: { 'k\uFFFD': 'a\uFFFDb\uFFFD' } },
    ]);
  });

  it('leaves text that only looks like the escape as it is', () => {
    const rows = [{ a: '\\u0000', b: '\\\\u0000', c: '\\\u0000', d: '\\\\\u0000' }];
    expect(JSON.parse(jsonRows(rows))).toEqual([
      { a: '\\u0000', b: '\\\\u0000', c: '\\\uFFFD', d: '\\\\\uFFFD' },
    ]);
  });
});
