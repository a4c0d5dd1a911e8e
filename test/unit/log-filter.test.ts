import { describe, expect, it } from 'vitest';
import { GatewayError } from '../../gateway/core/errors.ts';
import { logFilterFrom, timeParam } from '../../gateway/http/log-filter.ts';

const from = (query: Record<string, string>) => (name: string) => query[name];

describe('time parameters', () => {
  it.each([
    ['2036-03-20T09:00:00Z', '2036-03-20T09:00:00.000Z'],
    ['2036-03-20T09:00:00.123456+09:00', '2036-03-20T00:00:00.123Z'],
    ['2036-03-20T09:00', '2036-03-20T09:00:00.000Z'], // a form's datetime-local: UTC
    ['2036-03-20', '2036-03-20T00:00:00.000Z'],
  ])('reads %s', (raw, iso) => {
    expect(timeParam(from({ at: raw }), 'at')?.toISOString()).toBe(iso);
  });

  it.each(['yesterday', '2036-13-01', '2036-03-20T25:00Z', '20360320'])('refuses %s', (raw) => {
    expect(() => timeParam(from({ at: raw }), 'at')).toThrow(GatewayError);
  });

  it('reads nothing from an empty field', () => {
    expect(timeParam(from({ at: '  ' }), 'at')).toBeUndefined();
  });
});

describe('the log filter', () => {
  it('maps the query names and leaves empty fields out', () => {
    expect(
      logFilterFrom(
        from({
          partner: 'P',
          type: 'Award',
          direction: 'outbound',
          event: 'document',
          ref: 'DEAL-1',
          status: '',
        }),
      ),
    ).toEqual({
      partnerId: 'P',
      documentType: 'Award',
      direction: 'outbound',
      status: undefined,
      event: 'document',
      from: undefined,
      to: undefined,
      messageId: undefined,
      ref: 'DEAL-1',
    });
  });

  it.each<Record<string, string>>([
    { direction: 'sideways' },
    { event: 'exploded' },
    { partner: 'x'.repeat(201) },
  ])('refuses %o', (query) => {
    expect(() => logFilterFrom(from(query))).toThrow(/must/);
  });
});
