import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  checkMoneyIn,
  formatMoney,
  parseMoney,
  percentOf,
  tryParseMoney,
} from '../../gateway/core/money.ts';

describe('money', () => {
  it.each([
    ['1200', 'JPY', 1200n],
    ['1000.00', 'JPY', 1000n],
    ['12.5', 'EUR', 1250n],
    ['0.01', 'USD', 1n],
    ['1.234', 'BHD', 1234n],
    ['-3.10', 'EUR', -310n],
    ['99999999999999.99', 'EUR', 9999999999999999n],
  ])('parses %s %s as %s minor units', (amount, currency, minor) => {
    expect(parseMoney({ amount, currency }, '/x')).toEqual({ minor, currency });
  });

  it.each([
    ['1000.5', 'JPY', 'AMOUNT_PRECISION', '/p/amount'],
    ['1.001', 'EUR', 'AMOUNT_PRECISION', '/p/amount'],
    ['10', 'XXX', 'UNKNOWN_CURRENCY', '/p/currency'],
    ['1e3', 'EUR', 'SCHEMA_VIOLATION', '/p/amount'],
  ])('refuses %s %s with %s at %s', (amount, currency, code, path) => {
    expect(tryParseMoney({ amount, currency }, '/p')).toMatchObject({ code, path });
  });

  it('formats minor units back to the shortest exact decimal of the currency', () => {
    expect(formatMoney({ minor: 1250n, currency: 'EUR' })).toEqual({
      amount: '12.50',
      currency: 'EUR',
    });
    expect(formatMoney({ minor: 5n, currency: 'EUR' })).toEqual({
      amount: '0.05',
      currency: 'EUR',
    });
    expect(formatMoney({ minor: 32800n, currency: 'JPY' })).toEqual({
      amount: '32800',
      currency: 'JPY',
    });
    expect(formatMoney({ minor: -1n, currency: 'KWD' })).toEqual({
      amount: '-0.001',
      currency: 'KWD',
    });
  });

  it('round-trips any amount through format and parse', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: -(10n ** 17n), max: 10n ** 17n }),
        fc.constantFrom('JPY', 'EUR', 'BHD'),
        (minor, currency) => {
          const wire = formatMoney({ minor, currency });
          expect(parseMoney(wire, '')).toEqual({ minor, currency });
        },
      ),
    );
  });

  it('finds every bad amount in a document with its pointer', () => {
    const errors = checkMoneyIn(
      {
        lines: [
          { unitPrice: { amount: '1.5', currency: 'JPY' } },
          { unitPrice: { amount: '1', currency: 'JPY' } },
        ],
        total: { amount: '2', currency: 'ABC' },
      },
      '/body',
    );
    expect(errors.map((e) => [e.path, e.code])).toEqual([
      ['/body/lines/0/unitPrice/amount', 'AMOUNT_PRECISION'],
      ['/body/total/currency', 'UNKNOWN_CURRENCY'],
    ]);
  });
});

describe('percentOf', () => {
  it.each([
    [10000n, '2.5', 250n],
    [999n, '2.5', 24n],
    [1n, '100', 1n],
    [123456n, '0', 0n],
    [6560000n, '3.125', 205000n],
    [-999n, '2.5', -25n],
  ])('%s × %s%% = %s (rounded down)', (minor, percent, expected) => {
    expect(percentOf(minor, percent)).toBe(expected);
  });
});
