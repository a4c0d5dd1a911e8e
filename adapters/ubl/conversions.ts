/**
 * The closed set of value conversions a mapping may name, as pure functions between UBL text and
 * canonical values. Money and other exact numbers stay decimal strings all the way: nothing here
 * parses a number into a float.
 */

/** A conversion that could not read a value: the message is completed with the UBL path. */
export class ConversionError extends Error {}

const DECIMAL = /^\s*([+-]?)([0-9]*)(?:\.([0-9]*))?\s*$/;

/**
 * xs:decimal text → the canonical decimal form: no '+', no leading zeros, no bare point; the
 * digits themselves (trailing zeros included) are kept, so "4300.00" stays "4300.00".
 */
export function normalizeDecimal(text: string): string {
  const match = DECIMAL.exec(text);
  const [, sign = '', whole = '', fraction] = match ?? [];
  if (match === null || (whole === '' && (fraction ?? '') === '')) {
    throw new ConversionError(`"${text}" is not a decimal number`);
  }
  const integer = whole.replace(/^0+(?=[0-9])/, '') || '0';
  const digits = fraction === undefined || fraction === '' ? '' : `.${fraction}`;
  const negative = sign === '-' && /[1-9]/.test(integer + digits);
  return `${negative ? '-' : ''}${integer}${digits}`;
}

/** A whole number of units from xs:decimal text ("35", "35.0"), times an exact factor. */
export function wholeNumber(text: string, factor = 1): number {
  const normalized = normalizeDecimal(text);
  const [integer = '0', fraction = ''] = normalized.split('.');
  if (/[1-9]/.test(fraction)) throw new ConversionError(`${text} is not a whole number`);
  const value = Number(integer) * factor;
  if (!Number.isSafeInteger(value)) throw new ConversionError(`${text} is too large`);
  return value;
}

/**
 * UN/ECE Recommendation 20 codes for counted units, as the factor to the canonical "number of
 * units". A measured unit (LTR, KGM …) is the item's own unit of sale and counts 1:1; what the
 * quantity means is the item's business, the gateway only needs it whole.
 */
const UNIT_FACTORS: Readonly<Record<string, number>> = {
  C62: 1, // one
  EA: 1, // each
  H87: 1, // piece
  NIU: 1, // number of international units
  PCE: 1, // piece (UBL 2.0 era)
  PR: 2, // pair
  DZN: 12, // dozen
  GRO: 144, // gross
};

/** The unit code written for every canonical quantity: C62, "one". */
export const COUNT_UNIT = 'C62';

export function quantityOf(text: string, unitCode: string | undefined): number {
  const factor = unitCode === undefined ? 1 : (UNIT_FACTORS[unitCode.trim().toUpperCase()] ?? 1);
  return wholeNumber(text, factor);
}

const DATE = /^(\d{4}-\d{2}-\d{2})(Z|[+-]\d{2}:\d{2})?$/;
const TIME = /^(\d{2}:\d{2}:\d{2}(?:\.\d+)?)(Z|[+-]\d{2}:\d{2})?$/;

/** xs:date → YYYY-MM-DD (a timezone on a date says nothing the canonical form keeps). */
export function dateOf(text: string): string {
  const match = DATE.exec(text.trim());
  if (match === null) throw new ConversionError(`"${text}" is not a date (YYYY-MM-DD)`);
  return match[1] ?? '';
}

/**
 * xs:date + xs:time → RFC 3339. A time without a zone is taken as UTC (UBL leaves it to the
 * parties; the gateway must pick one); a date without a time is its midnight, UTC.
 */
export function dateTimeOf(dateText: string, timeText: string | undefined): string {
  const date = dateOf(dateText);
  if (timeText === undefined) return `${date}T00:00:00Z`;
  const match = TIME.exec(timeText.trim());
  if (match === null) throw new ConversionError(`"${timeText}" is not a time (hh:mm:ss)`);
  return `${date}T${match[1] ?? ''}${match[2] ?? 'Z'}`;
}

/** A deadline given as a day: the end of that day, UTC. */
export function endOfDay(dateText: string): string {
  return `${dateOf(dateText)}T23:59:59Z`;
}

const RFC3339 = /^(\d{4}-\d{2}-\d{2})[Tt](\d{2}:\d{2}:\d{2}(?:\.\d+)?)([Zz]|[+-]\d{2}:\d{2})$/;

/** RFC 3339 → xs:date and xs:time with the same offset. */
export function splitDateTime(value: string): { date: string; time: string } {
  const match = RFC3339.exec(value);
  if (match === null) throw new ConversionError(`"${value}" is not an RFC 3339 date-time`);
  const zone = match[3] === 'z' ? 'Z' : (match[3] ?? 'Z');
  return { date: match[1] ?? '', time: `${match[2] ?? ''}${zone}` };
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** xs:base64Binary → the UTF-8 text it carries (an e-check's compact JWS). */
export function base64Text(text: string): string {
  const compact = text.replace(/[ \t\r\n]/g, '');
  if (!BASE64.test(compact) || compact.length % 4 !== 0) {
    throw new ConversionError('is not base64');
  }
  const bytes = Buffer.from(compact, 'base64');
  const decoded = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
  try {
    return decoded.decode(bytes);
  } catch {
    throw new ConversionError('does not hold UTF-8 text');
  }
}

export function toBase64(text: string): string {
  return Buffer.from(text, 'utf8').toString('base64');
}

/** Exact decimal × whole number, as decimal strings (a line total from price and quantity). */
export function timesDecimal(amount: string, factor: number): string {
  const [integer = '0', fraction = ''] = amount.replace(/^-/, '').split('.');
  const scaled = BigInt(integer + fraction) * BigInt(factor);
  const negative = amount.startsWith('-') && scaled !== 0n;
  const digits = scaled.toString().padStart(fraction.length + 1, '0');
  const whole = digits.slice(0, digits.length - fraction.length);
  const rest = digits.slice(digits.length - fraction.length);
  return `${negative ? '-' : ''}${whole}${rest === '' ? '' : `.${rest}`}`;
}
