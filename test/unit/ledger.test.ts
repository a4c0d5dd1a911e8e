import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { availableOf, checkBalanced, paymentLegs } from '../../gateway/core/ledger/ledger.ts';
import { percentOf } from '../../gateway/core/money.ts';

describe('ledger rules', () => {
  it('counts holds against balance and credit limit', () => {
    expect(availableOf({ balanceMinor: 1000n, creditLimitMinor: 500n, heldMinor: 1200n })).toBe(
      300n,
    );
    expect(availableOf({ balanceMinor: -400n, creditLimitMinor: 500n, heldMinor: 0n })).toBe(100n);
  });

  it.each([
    ['one leg', [{ accountId: 'A', amountMinor: 0n }]],
    [
      'legs that do not sum to zero',
      [
        { accountId: 'A', amountMinor: -100n },
        { accountId: 'B', amountMinor: 99n },
      ],
    ],
    [
      'an account twice',
      [
        { accountId: 'A', amountMinor: -100n },
        { accountId: 'A', amountMinor: 100n },
      ],
    ],
    [
      'a zero leg',
      [
        { accountId: 'A', amountMinor: 0n },
        { accountId: 'B', amountMinor: 0n },
      ],
    ],
  ])('refuses a transfer with %s as an internal error', (_what, legs) => {
    expect(() => checkBalanced(legs)).toThrow(expect.objectContaining({ code: 'INTERNAL' }));
  });

  it('splits a payment: the drawer pays all, the payee all but the commission', () => {
    const ids = { drawerAccountId: 'BUY', payeeAccountId: 'SELL', revenueAccountId: 'REV' };
    expect(paymentLegs({ ...ids, amountMinor: 3600n, commissionMinor: 90n })).toEqual([
      { accountId: 'BUY', amountMinor: -3600n },
      { accountId: 'SELL', amountMinor: 3510n },
      { accountId: 'REV', amountMinor: 90n },
    ]);
    // no commission leg when there is none, no payee leg when the commission is everything
    expect(paymentLegs({ ...ids, amountMinor: 10n, commissionMinor: 0n })).toHaveLength(2);
    expect(paymentLegs({ ...ids, amountMinor: 10n, commissionMinor: 10n })).toEqual([
      { accountId: 'BUY', amountMinor: -10n },
      { accountId: 'REV', amountMinor: 10n },
    ]);
    expect(() => paymentLegs({ ...ids, amountMinor: 10n, commissionMinor: 11n })).toThrow();
  });
});

describe('commission arithmetic', () => {
  it.each([
    [3600n, '2.5', 90n],
    [100n, '2.5', 2n], // 2.5 rounds down
    [8400n, '2.5', 210n],
    [277500n, '1.2', 3330n], // 2775.00 EUR at 1.2 % = 33.30 EUR
    [999999999999999999n, '0.0001', 999999999999n], // exact far beyond 2^53
    [12345n, '0', 0n],
    [12345n, '100', 12345n],
  ])('%s minor units at %s %% is %s', (total, rate, commission) => {
    expect(percentOf(total, rate)).toBe(commission);
  });

  it('never exceeds the amount and every payment balances (property)', () => {
    const rate = fc
      .tuple(fc.integer({ min: 0, max: 100 }), fc.integer({ min: 0, max: 9999 }))
      .filter(([whole, fraction]) => whole < 100 || fraction === 0)
      .map(([whole, fraction]) => `${whole}.${String(fraction).padStart(4, '0')}`);
    fc.assert(
      fc.property(fc.bigInt({ min: 1n, max: 10n ** 18n }), rate, (amount, percent) => {
        const commission = percentOf(amount, percent);
        expect(commission >= 0n && commission <= amount).toBe(true);
        // rounded down: the exact value lies in [commission, commission + 1)
        const scaled = amount * BigInt(percent.replace('.', ''));
        const denominator = 100n * 10000n;
        expect(commission * denominator <= scaled).toBe(true);
        expect((commission + 1n) * denominator > scaled).toBe(true);
        const legs = paymentLegs({
          drawerAccountId: 'B',
          payeeAccountId: 'S',
          revenueAccountId: 'R',
          amountMinor: amount,
          commissionMinor: commission,
        });
        expect(legs.reduce((sum, l) => sum + l.amountMinor, 0n)).toBe(0n);
        expect(legs.filter((l) => l.amountMinor < 0n)).toEqual([
          { accountId: 'B', amountMinor: -amount },
        ]);
      }),
    );
  });
});
