/**
 * Words for people: money as "¥5,960,000" (from integer minor units, never a float), dates as
 * "2 Jun", clock times in the local zone, and gateway ids shortened to their distinct tail.
 */
import { formatMoney, parseMoney, type Money, type WireMoney } from '../core/money.ts';

const SYMBOLS: Readonly<Record<string, string>> = { JPY: '¥', EUR: '€', USD: '$', GBP: '£' };
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

export function minorText(money: Money): string {
  const { amount } = formatMoney(money);
  const negative = amount.startsWith('-');
  const [whole = '0', fraction] = (negative ? amount.slice(1) : amount).split('.');
  const grouped = whole.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  const digits = fraction === undefined ? grouped : `${grouped}.${fraction}`;
  const symbol = SYMBOLS[money.currency];
  const text = symbol === undefined ? `${digits} ${money.currency}` : `${symbol}${digits}`;
  return negative ? `−${text}` : text;
}

/** Wire money ("5960000", "JPY") in words; parsed to minor units first, so it is exact. */
export function moneyText(money: WireMoney): string {
  return minorText(parseMoney(money, ''));
}

/** "2026-06-02" → "2 Jun" (with the year when it is not this year's). */
export function dayText(date: string, today: Date = new Date()): string {
  const [year = '', month = '', day = ''] = date.slice(0, 10).split('-');
  const name = `${Number(day)} ${MONTHS[Number(month) - 1] ?? month}`;
  return Number(year) === today.getFullYear() ? name : `${name} ${year}`;
}

/** A timestamp as the local wall-clock time, "14:02:07". */
export function clockText(at: string | Date): string {
  const date = typeof at === 'string' ? new Date(at) : at;
  return [date.getHours(), date.getMinutes(), date.getSeconds()]
    .map((n) => String(n).padStart(2, '0'))
    .join(':');
}

/** The wall-clock part of an RFC 3339 time as written, "10:00" (the sender's own zone). */
export function wallClockOf(at: string): string {
  return at.slice(11, 16);
}

/**
 * "DEAL-01JZ6K…Q2W4E6" → "DEAL-…Q2W4E6": gateway ids start with their creation time, so ids of
 * one run share their head and differ in the random tail.
 */
export function shortId(id: string): string {
  const dash = id.indexOf('-');
  if (dash < 0 || id.length - dash <= 10) return id;
  return `${id.slice(0, dash)}-…${id.slice(-6)}`;
}

/** A date `days` from `from`, as YYYY-MM-DD in the local calendar. */
export function daysFrom(from: Date, days: number): string {
  const date = new Date(from.getFullYear(), from.getMonth(), from.getDate() + days);
  return [date.getFullYear(), date.getMonth() + 1, date.getDate()]
    .map((n, i) => String(n).padStart(i === 0 ? 4 : 2, '0'))
    .join('-');
}

export function plural(count: number, one: string, many = `${one}s`): string {
  return `${count.toLocaleString('en-US')} ${count === 1 ? one : many}`;
}
