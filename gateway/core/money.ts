/**
 * Money: decimal strings on the wire, integer minor units (bigint) everywhere else. Never a float.
 * An amount may carry trailing zeros beyond its currency's minor unit ("1000.00" JPY is 1000),
 * but never a non-zero digit there ("1000.5" JPY is refused).
 */
import type { ErrorDetail } from './errors.ts';
import { GatewayError } from './errors.ts';

/** ISO 4217 minor-unit exponents of the currencies the gateway accepts. */
const EXPONENTS: Readonly<Record<string, number>> = {
  AED: 2,
  AUD: 2,
  BHD: 3,
  BRL: 2,
  CAD: 2,
  CHF: 2,
  CLP: 0,
  CNY: 2,
  CZK: 2,
  DKK: 2,
  EUR: 2,
  GBP: 2,
  HKD: 2,
  HUF: 2,
  IDR: 2,
  ILS: 2,
  INR: 2,
  ISK: 0,
  JOD: 3,
  JPY: 0,
  KRW: 0,
  KWD: 3,
  MXN: 2,
  MYR: 2,
  NOK: 2,
  NZD: 2,
  OMR: 3,
  PHP: 2,
  PLN: 2,
  RON: 2,
  SAR: 2,
  SEK: 2,
  SGD: 2,
  THB: 2,
  TND: 3,
  TRY: 2,
  TWD: 2,
  USD: 2,
  VND: 0,
  ZAR: 2,
};

export interface Money {
  /** Integer minor units (yen, cents …). */
  minor: bigint;
  currency: string;
}

export interface WireMoney {
  amount: string;
  currency: string;
}

const DECIMAL = /^(-?)(0|[1-9][0-9]*)(?:\.([0-9]+))?$/;

export function currencyExponent(currency: string): number | undefined {
  return Object.hasOwn(EXPONENTS, currency) ? EXPONENTS[currency] : undefined;
}

/** Parse wire money, or return the problem (path is the JSON pointer of the money object). */
export function tryParseMoney(value: WireMoney, path: string): Money | ErrorDetail {
  const exponent = currencyExponent(value.currency);
  if (exponent === undefined) {
    return {
      path: `${path}/currency`,
      code: 'UNKNOWN_CURRENCY',
      message: `currency ${value.currency} is not one the gateway accepts`,
    };
  }
  const match = DECIMAL.exec(value.amount);
  if (match === null) {
    return {
      path: `${path}/amount`,
      code: 'SCHEMA_VIOLATION',
      message: 'must be a decimal string like "1200.50"',
    };
  }
  const [, sign = '', whole = '0', fraction = ''] = match;
  if (/[1-9]/.test(fraction.slice(exponent))) {
    return {
      path: `${path}/amount`,
      code: 'AMOUNT_PRECISION',
      message: `${value.currency} has ${exponent} decimal${exponent === 1 ? '' : 's'}; ${value.amount} has more`,
    };
  }
  const digits = whole + fraction.slice(0, exponent).padEnd(exponent, '0');
  const minor = BigInt(digits);
  return { minor: sign === '-' ? -minor : minor, currency: value.currency };
}

export function parseMoney(value: WireMoney, path: string): Money {
  const result = tryParseMoney(value, path);
  if ('minor' in result) return result;
  throw new GatewayError(
    result.code === 'UNKNOWN_CURRENCY' ? 'UNKNOWN_CURRENCY' : 'AMOUNT_PRECISION',
    result.message,
    {
      details: [result],
    },
  );
}

export function formatMoney(money: Money): WireMoney {
  const exponent = currencyExponent(money.currency);
  if (exponent === undefined)
    throw new GatewayError('INTERNAL', `unknown currency ${money.currency}`);
  const negative = money.minor < 0n;
  const digits = (negative ? -money.minor : money.minor).toString().padStart(exponent + 1, '0');
  const amount =
    exponent === 0 ? digits : `${digits.slice(0, -exponent)}.${digits.slice(-exponent)}`;
  return { amount: negative ? `-${amount}` : amount, currency: money.currency };
}

function isWireMoney(value: unknown): value is WireMoney {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const keys = Object.keys(value);
  return (
    keys.length === 2 &&
    typeof (value as Record<string, unknown>).amount === 'string' &&
    typeof (value as Record<string, unknown>).currency === 'string'
  );
}

/**
 * Every money value in a (schema-valid) document: known currency, no more decimals than it has.
 * Money objects are recognised by shape ({ amount, currency }), the one shape the schemas give them.
 */
export function checkMoneyIn(value: unknown, path = ''): ErrorDetail[] {
  if (isWireMoney(value)) {
    const result = tryParseMoney(value, path);
    return 'minor' in result ? [] : [result];
  }
  if (Array.isArray(value)) return value.flatMap((item, i) => checkMoneyIn(item, `${path}/${i}`));
  if (typeof value === 'object' && value !== null) {
    return Object.entries(value).flatMap(([key, item]) =>
      checkMoneyIn(item, `${path}/${key.replace(/~/g, '~0').replace(/\//g, '~1')}`),
    );
  }
  return [];
}

export function multiplyMoney(money: Money, factor: number | bigint): Money {
  return { minor: money.minor * BigInt(factor), currency: money.currency };
}

/**
 * `percent` % of an amount of minor units, rounded down to the minor unit (the intermediary's
 * commission never rounds in its own favour). `percent` is a decimal string such as "2.5".
 */
export function percentOf(minor: bigint, percent: string): bigint {
  const match = /^([0-9]+)(?:\.([0-9]+))?$/.exec(percent);
  if (match === null) throw new GatewayError('INTERNAL', `not a decimal percentage: ${percent}`);
  const [, whole = '0', fraction = ''] = match;
  const scale = 10n ** BigInt(fraction.length);
  const numerator = minor * BigInt(whole + fraction);
  const denominator = 100n * scale;
  // BigInt division truncates toward zero; floor for negative amounts too.
  const quotient = numerator / denominator;
  return numerator % denominator !== 0n && numerator < 0n ? quotient - 1n : quotient;
}
