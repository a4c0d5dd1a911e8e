import { describe, expect, it } from 'vitest';
import {
  judgeDemand,
  judgeOrder,
  orderIdForCheck,
  sameAddress,
  sameLines,
  type CheckFacts,
  type DemandFacts,
  type OrderClaims,
} from '../../gateway/core/checks/checks.ts';

const check: CheckFacts = {
  checkNumber: 'CHK-01ABC',
  status: 'issued',
  expired: false,
  buyerId: 'BUYER-A',
  sellerId: 'SELLER-A',
  dealId: null,
  amount: { minor: 277500n, currency: 'EUR' },
  lines: [
    { itemId: 'ITM-1', quantity: 12, unitPriceMinor: 21900n },
    { itemId: 'ITM-2', quantity: 6, unitPriceMinor: 2450n },
  ],
};

const order: OrderClaims = {
  seller: 'SELLER-A',
  lines: [
    { itemId: 'ITM-2', quantity: 6, unitPrice: { amount: '24.50', currency: 'EUR' } },
    { itemId: 'ITM-1', quantity: 12, unitPrice: { amount: '219.00', currency: 'EUR' } },
  ],
  total: { amount: '2775.00', currency: 'EUR' },
};

const codes = (details: { code: string }[]) => details.map((d) => d.code);

describe('judging an order against its check (cl.2)', () => {
  it('accepts the order the check was issued for, lines in any order', () => {
    expect(judgeOrder(check, order)).toEqual([]);
    expect(judgeOrder({ ...check, dealId: 'DEAL-1' }, { ...order, dealId: 'DEAL-1' })).toEqual([]);
  });

  it.each<[string, Partial<CheckFacts>, Partial<OrderClaims>, string[]]>([
    ['an expired check', { expired: true }, {}, ['CHECK_EXPIRED']],
    ['an expired-state check', { status: 'expired' }, {}, ['CHECK_EXPIRED']],
    ['a used check', { status: 'presented' }, {}, ['CHECK_ALREADY_PRESENTED']],
    ['a paid check', { status: 'paid' }, {}, ['CHECK_ALREADY_PRESENTED']],
    ['a voided check', { status: 'voided' }, {}, ['CHECK_VOID']],
    ['another payee', {}, { seller: 'SELLER-B' }, ['CHECK_PAYEE_MISMATCH']],
    ['a deal the check is not for', {}, { dealId: 'DEAL-9' }, ['DEAL_MISMATCH']],
    [
      'a total that is not the check amount',
      {},
      {
        lines: [{ itemId: 'ITM-1', quantity: 1, unitPrice: { amount: '10.00', currency: 'EUR' } }],
        total: { amount: '10.00', currency: 'EUR' },
      },
      ['AMOUNT_MISMATCH', 'LINES_MISMATCH'],
    ],
    [
      'a total that is not the sum of the lines',
      {},
      { total: { amount: '2774.99', currency: 'EUR' } },
      ['ORDER_TOTAL_MISMATCH'],
    ],
    [
      'a line in another currency',
      {},
      {
        lines: [
          { itemId: 'ITM-1', quantity: 12, unitPrice: { amount: '219.00', currency: 'USD' } },
          { itemId: 'ITM-2', quantity: 6, unitPrice: { amount: '24.50', currency: 'EUR' } },
        ],
      },
      ['ORDER_TOTAL_MISMATCH'],
    ],
    [
      'the same total over other lines',
      {},
      {
        lines: [
          { itemId: 'ITM-1', quantity: 12, unitPrice: { amount: '214.00', currency: 'EUR' } },
          { itemId: 'ITM-2', quantity: 6, unitPrice: { amount: '34.50', currency: 'EUR' } },
        ],
      },
      ['LINES_MISMATCH'],
    ],
  ])('refuses %s', (_what, checkOver, orderOver, expected) => {
    expect(codes(judgeOrder({ ...check, ...checkOver }, { ...order, ...orderOver }))).toEqual(
      expected,
    );
  });
});

describe('judging a payment demand (cl.5, 7)', () => {
  const facts: DemandFacts = {
    check: { ...check, status: 'presented' },
    orderId: 'ORD-01ABC',
    distributionNoticed: true,
  };
  const demand = {
    sender: 'SELLER-A',
    sellingOffice: 'SELLER-A',
    orderId: 'ORD-01ABC',
    amount: { amount: '2775.00', currency: 'EUR' },
  };

  it('accepts the payee demanding its presented, announced check', () => {
    expect(judgeDemand(facts, demand)).toEqual([]);
  });

  it('tells another seller nothing but that the check is not theirs', () => {
    expect(
      codes(
        judgeDemand(facts, {
          ...demand,
          sender: 'SELLER-B',
          sellingOffice: 'SELLER-B',
          amount: { amount: '1', currency: 'EUR' },
        }),
      ),
    ).toEqual(['CHECK_PAYEE_MISMATCH']);
  });

  it.each<[string, Partial<typeof facts>, Partial<typeof demand>, string[]]>([
    [
      'a selling office that is not the sender',
      {},
      { sellingOffice: 'SELLER-B' },
      ['SELLING_OFFICE_MISMATCH'],
    ],
    [
      'an unpresented check',
      { check: { ...check, status: 'issued' } },
      {},
      ['CHECK_NOT_PRESENTED'],
    ],
    ['a paid check', { check: { ...check, status: 'paid' } }, {}, ['PAYMENT_ALREADY_DEMANDED']],
    [
      'a demanded check',
      { check: { ...check, status: 'demanded' } },
      {},
      ['PAYMENT_ALREADY_DEMANDED'],
    ],
    ['a voided check', { check: { ...check, status: 'voided' } }, {}, ['CHECK_VOID']],
    ['another order', {}, { orderId: 'ORD-OTHER' }, ['ORDER_MISMATCH']],
    ['another amount', {}, { amount: { amount: '2775.01', currency: 'EUR' } }, ['AMOUNT_MISMATCH']],
    [
      'no distribution notice yet',
      { distributionNoticed: false },
      {},
      ['DISTRIBUTION_NOT_NOTIFIED'],
    ],
  ])('refuses %s', (_what, factsOver, demandOver, expected) => {
    expect(codes(judgeDemand({ ...facts, ...factsOver }, { ...demand, ...demandOver }))).toEqual(
      expected,
    );
  });
});

describe('helpers', () => {
  it('derives the order id from the check number', () => {
    expect(orderIdForCheck('CHK-01J2ABCDEF')).toBe('ORD-01J2ABCDEF');
  });

  it('compares lines as multisets, with prices when they have them', () => {
    const a = [
      { itemId: 'X', quantity: 1 },
      { itemId: 'X', quantity: 1 },
      { itemId: 'Y', quantity: 2 },
    ];
    expect(sameLines(a, [...a].reverse())).toBe(true);
    expect(sameLines(a, a.slice(1))).toBe(false);
    expect(
      sameLines(
        [{ itemId: 'X', quantity: 1, unitPriceMinor: 5n }],
        [{ itemId: 'X', quantity: 1, unitPriceMinor: 6n }],
      ),
    ).toBe(false);
  });

  it('compares addresses field by field, an absent field equal to an absent one only', () => {
    const address = { name: 'N', line1: 'L', city: 'C', postalCode: 'P', country: 'DE' };
    expect(
      sameAddress(address, { country: 'DE', postalCode: 'P', city: 'C', line1: 'L', name: 'N' }),
    ).toBe(true);
    expect(sameAddress(address, { ...address, line2: 'Hof 2' })).toBe(false);
    expect(sameAddress(address, { ...address, city: 'D' })).toBe(false);
  });
});
