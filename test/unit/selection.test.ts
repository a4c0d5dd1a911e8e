import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { judgeBids, rankTerms, type CandidateBid } from '../../gateway/core/trading/selection.ts';

const reservation = {
  quantity: 10,
  maxUnitPriceMinor: 1000n,
  currency: 'JPY',
  neededBy: '2036-06-30',
};

function bid(id: string, over: Partial<CandidateBid> = {}): CandidateBid {
  return {
    id,
    sellerId: `S-${id}`,
    unitPriceMinor: 900n,
    currency: 'JPY',
    quantity: 10,
    promisedDeliveryDate: '2036-06-01',
    receivedAt: new Date('2036-01-01T00:00:00Z'),
    ...over,
  };
}

describe('judgeBids', () => {
  it('ranks by total price, then earliest delivery, then earliest received, then id', () => {
    const bids = [
      bid('a', { unitPriceMinor: 950n }),
      bid('b', { unitPriceMinor: 900n, promisedDeliveryDate: '2036-06-20' }),
      bid('c', {
        unitPriceMinor: 900n,
        promisedDeliveryDate: '2036-06-10',
        receivedAt: new Date('2036-01-02T00:00:00Z'),
      }),
      bid('d', {
        unitPriceMinor: 900n,
        promisedDeliveryDate: '2036-06-10',
        receivedAt: new Date('2036-01-01T12:00:00Z'),
      }),
      bid('f', {
        unitPriceMinor: 900n,
        promisedDeliveryDate: '2036-06-10',
        receivedAt: new Date('2036-01-01T12:00:00Z'),
      }),
      bid('e', {
        unitPriceMinor: 900n,
        promisedDeliveryDate: '2036-06-10',
        receivedAt: new Date('2036-01-01T12:00:00Z'),
      }),
    ];
    expect(judgeBids(reservation, bids).ranked.map((b) => b.id)).toEqual([
      'd',
      'e',
      'f',
      'c',
      'b',
      'a',
    ]);
  });

  it.each([
    ['QUANTITY_NOT_COVERED', { quantity: 9 }],
    ['ABOVE_MAX_PRICE', { unitPriceMinor: 1001n }],
    ['TOO_LATE', { promisedDeliveryDate: '2036-07-01' }],
    ['CURRENCY_MISMATCH', { currency: 'EUR' }],
  ] as const)('finds %s ineligible', (reason, over) => {
    const result = judgeBids(reservation, [bid('x', over), bid('y')]);
    expect(result.ranked.map((b) => b.id)).toEqual(['y']);
    expect(result.ineligible).toEqual([{ bid: bid('x', over), reason }]);
  });

  it('accepts the boundaries: exact quantity, max price, the needed-by day itself; more quantity is fine', () => {
    const edge = bid('edge', {
      quantity: 10,
      unitPriceMinor: 1000n,
      promisedDeliveryDate: '2036-06-30',
    });
    const more = bid('more', { quantity: 500 });
    expect(judgeBids(reservation, [edge, more]).ranked.map((b) => b.id)).toEqual(['more', 'edge']);
  });

  it('is independent of the order the bids come in', () => {
    const arbitraryBid = fc.record({
      id: fc.string({ minLength: 1, maxLength: 4 }),
      unitPriceMinor: fc.bigInt({ min: 800n, max: 1100n }),
      quantity: fc.integer({ min: 8, max: 12 }),
      promisedDeliveryDate: fc.constantFrom('2036-06-01', '2036-06-30', '2036-07-02'),
      receivedAt: fc.constantFrom(
        new Date('2036-01-01T00:00:00Z'),
        new Date('2036-01-02T00:00:00Z'),
      ),
    });
    fc.assert(
      fc.property(fc.uniqueArray(arbitraryBid, { selector: (b) => b.id, maxLength: 12 }), (raw) => {
        const bids = raw.map((b) => bid(b.id, b));
        const forward = judgeBids(reservation, bids).ranked.map((b) => b.id);
        const backward = judgeBids(reservation, [...bids].reverse()).ranked.map((b) => b.id);
        expect(backward).toEqual(forward);
        for (const id of forward) {
          const b = bids.find((x) => x.id === id)!;
          expect(
            b.quantity >= 10 && b.unitPriceMinor <= 1000n && b.promisedDeliveryDate <= '2036-06-30',
          ).toBe(true);
        }
      }),
    );
  });
});

describe('rankTerms', () => {
  it('prefers the lowest cost, then the faster, then the earliest received, then the organ id', () => {
    const at = (h: number) => new Date(Date.UTC(2036, 0, 1, h));
    const ranked = rankTerms([
      { organId: 'S3', costMinor: 500n, speed: 3, receivedAt: at(1) },
      { organId: 'S1', costMinor: 400n, speed: 5, receivedAt: at(2) },
      { organId: 'S2', costMinor: 400n, speed: 2, receivedAt: at(3) },
      { organId: 'S5', costMinor: 400n, speed: 2, receivedAt: at(1) },
      { organId: 'S4', costMinor: 400n, speed: 2, receivedAt: at(1) },
    ]);
    expect(ranked.map((t) => t.organId)).toEqual(['S4', 'S5', 'S2', 'S1', 'S3']);
  });
});
