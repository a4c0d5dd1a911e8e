import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  canonicalJson,
  entryDigest,
  merkleTree,
  packLeaves,
  rootFromPath,
  sealPayload,
  unpackLeaves,
  type AuditEntry,
} from '../../gateway/core/audit/audit.ts';

const sha = (...parts: Buffer[]) => createHash('sha256').update(Buffer.concat(parts)).digest();

/** RFC 6962 §2.1 as written: split at the largest power of two below n. */
function referenceRoot(digests: string[]): Buffer {
  if (digests.length === 1) return sha(Buffer.from([0]), Buffer.from(digests[0]!, 'hex'));
  let k = 1;
  while (k * 2 < digests.length) k *= 2;
  return sha(Buffer.from([1]), referenceRoot(digests.slice(0, k)), referenceRoot(digests.slice(k)));
}

const digestOf = (i: number) => createHash('sha256').update(`leaf ${i}`).digest('hex');

const ENTRY: AuditEntry = {
  id: '42',
  txid: '7781',
  loggedAt: '2036-01-10T09:00:00.123456Z',
  direction: 'inbound',
  event: 'received',
  partnerId: 'BUYER-A',
  messageId: 'BUYER-A-000123',
  documentType: 'PurchaseReservation',
  status: 'accepted',
  contentType: 'application/json',
  bodySha256: digestOf(1),
  digest: digestOf(1),
  refs: { reservationId: 'RSV-1', itemId: 'ITM-1' },
  detail: null,
  requestId: 'req-1',
};

describe('canonical JSON (RFC 8785 for our values)', () => {
  it('sorts keys at every depth, drops undefined members and writes no whitespace', () => {
    expect(canonicalJson({ b: [3, { z: 1, a: null }], a: 'x', c: undefined, é: true })).toBe(
      '{"a":"x","b":[3,{"a":null,"z":1}],"é":true}',
    );
  });

  it('sorts by UTF-16 code units and escapes as JSON.stringify does', () => {
    expect(canonicalJson({ '\u20ac': 1, '\r': 2, '\ud83d\ude00': 3, '1': 4 })).toBe(
      '{"\\r":2,"1":4,"€":1,"😀":3}',
    );
  });

  it('refuses values JSON cannot carry exactly', () => {
    expect(() => canonicalJson({ n: Number.NaN })).toThrow(TypeError);
    expect(() => canonicalJson({ n: 1n })).toThrow(TypeError);
  });

  it('is the same for objects that differ only in key order', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.oneof(fc.string(), fc.integer())), (record) => {
        const reversed = Object.fromEntries(Object.entries(record).reverse());
        expect(canonicalJson(reversed)).toBe(canonicalJson(record));
        expect(JSON.parse(canonicalJson(record))).toEqual(record);
      }),
    );
  });
});

describe('entry digest', () => {
  it.each([
    ['id', { id: '43' }],
    ['txid', { txid: '7782' }],
    ['loggedAt (one microsecond)', { loggedAt: '2036-01-10T09:00:00.123457Z' }],
    ['direction', { direction: 'outbound' }],
    ['event', { event: 'queued' }],
    ['partnerId', { partnerId: 'BUYER-B' }],
    ['messageId', { messageId: null }],
    ['documentType', { documentType: 'OrderBid' }],
    ['status', { status: 'rejected' }],
    ['contentType', { contentType: 'application/xml' }],
    ['bodySha256', { bodySha256: digestOf(2) }],
    ['digest', { digest: digestOf(2) }],
    ['refs', { refs: { reservationId: 'RSV-2', itemId: 'ITM-1' } }],
    ['detail', { detail: { code: 'X' } }],
    ['requestId', { requestId: 'req-2' }],
  ] as const)('changes with %s', (_field, change) => {
    expect(entryDigest({ ...ENTRY, ...change })).not.toBe(entryDigest(ENTRY));
  });

  it('does not depend on the order of keys in refs and detail', () => {
    expect(
      entryDigest({ ...ENTRY, refs: { itemId: 'ITM-1', reservationId: 'RSV-1' }, detail: null }),
    ).toBe(entryDigest(ENTRY));
  });
});

describe('Merkle tree', () => {
  it('has the RFC 6962 root for every size up to 70', () => {
    for (let n = 1; n <= 70; n++) {
      const digests = Array.from({ length: n }, (_, i) => digestOf(i));
      expect(merkleTree(digests).root, `n = ${n}`).toBe(referenceRoot(digests).toString('hex'));
    }
  });

  it('gives every leaf a path to the root, and no other leaf, index or path reaches it', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 300 }), fc.nat(), (size, pick) => {
        const digests = Array.from({ length: size }, (_, i) => digestOf(i));
        const tree = merkleTree(digests);
        const index = pick % size;
        const path = tree.path(index);
        expect(rootFromPath(digests[index]!, index, size, path)).toBe(tree.root);
        expect(rootFromPath(digestOf(size + 1), index, size, path)).not.toBe(tree.root);
        if (size > 1) {
          const other = (index + 1) % size;
          expect(rootFromPath(digests[index]!, other, size, path)).not.toBe(tree.root);
          expect(rootFromPath(digests[index]!, index, size, path.slice(1))).toBeUndefined();
        }
        expect(rootFromPath(digests[index]!, size, size, path)).toBeUndefined();
      }),
    );
  });

  it('needs at least one leaf', () => {
    expect(() => merkleTree([])).toThrow(RangeError);
  });
});

describe('seal payload and packed leaves', () => {
  it('signs the same bytes whatever order the fields were given in', () => {
    const fields = {
      seq: '3',
      fromTxid: '100',
      toTxid: '120',
      firstId: '10',
      lastId: '19',
      count: 10,
      merkleRoot: digestOf(1),
      prevHash: digestOf(2),
      sealedAt: '2036-01-10T09:00:00.000Z',
      keyId: 'kid',
    };
    const shuffled = Object.fromEntries(Object.entries(fields).reverse()) as typeof fields;
    expect(sealPayload(shuffled)).toBe(sealPayload(fields));
    expect(JSON.parse(sealPayload(fields))).toEqual({ v: 1, ...fields });
  });

  it('packs (id, digest) pairs and reads them back', () => {
    const leaves = [
      { id: '1', digest: digestOf(1) },
      { id: '9007199254740993', digest: digestOf(2) },
    ];
    const packed = packLeaves(leaves);
    expect(packed).toHaveLength(80);
    expect(unpackLeaves(packed)).toEqual(leaves);
    expect(unpackLeaves(packed.subarray(1))).toBeUndefined();
  });
});
