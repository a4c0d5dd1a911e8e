/**
 * What both wire codecs share: limits, the decode result, and the few checks that keep partner
 * input from reaching anything that trusts it (prototype keys, characters XML cannot carry).
 */
import type { ErrorCode, ErrorDetail } from '../../gateway/core/errors.ts';

export interface CodecLimits {
  /** Largest accepted document, in bytes of UTF-8. */
  maxBytes: number;
  /** Deepest nesting: XML elements (the root is 1) or JSON objects/arrays (the top level is 1). */
  maxDepth: number;
  /** Most XML start tags, or JSON values, in one document. */
  maxElements: number;
}

export const DEFAULT_CODEC_LIMITS: Readonly<CodecLimits> = Object.freeze({
  maxBytes: 1024 * 1024,
  maxDepth: 32,
  maxElements: 10_000,
});

export function resolveLimits(limits: Partial<CodecLimits> | undefined): Readonly<CodecLimits> {
  return limits === undefined ? DEFAULT_CODEC_LIMITS : { ...DEFAULT_CODEC_LIMITS, ...limits };
}

/** A decoded but not yet validated document: the validator decides what it is. */
export type DecodeResult = { ok: true; value: unknown } | { ok: false; error: ErrorDetail };

/**
 * Names that must never become object keys: on a plain object `__proto__` is a setter, and the
 * other two are what prototype-pollution gadgets look for. No schema property uses them.
 */
export function isForbiddenKey(name: string): boolean {
  return name === '__proto__' || name === 'constructor' || name === 'prototype';
}

/**
 * Anything outside the XML 1.0 `Char` production: C0 controls other than tab/LF/CR, lone
 * surrogates, U+FFFE/U+FFFF. Refused in both wire forms so every accepted document (and every
 * error message echoing it) can be sent on as XML.
 */
export const NON_XML_CHAR = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u;

/**
 * Text as XML character data: `&`, `<` and `>` escaped, and CR as a reference (a parser reads a
 * raw CR as LF). It does not check for characters XML cannot carry: see NON_XML_CHAR.
 */
export function escapeXmlText(text: string): string {
  if (!/[&<>\r]/.test(text)) return text;
  return text
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('\r', '&#xD;');
}

/** Text as a double-quoted attribute value (whitespace kept as references). */
export function escapeXmlAttribute(text: string): string {
  return escapeXmlText(text)
    .replaceAll('"', '&quot;')
    .replaceAll('\n', '&#xA;')
    .replaceAll('\t', '&#x9;');
}

/** Longest property or element name we accept; keeps error pointers within the receipt schema. */
export const MAX_NAME_LENGTH = 200;

const MAX_MESSAGE_LENGTH = 300;
const NON_XML_CHARS = new RegExp(NON_XML_CHAR.source, 'gu');

export function codePointLabel(char: string): string {
  return `U+${(char.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0')}`;
}

/** Messages may quote partner input (parser messages do): keep them short and XML-safe. */
export function safeMessage(message: string): string {
  const clean = message.replace(NON_XML_CHARS, '\uFFFD');
  return clean.length <= MAX_MESSAGE_LENGTH ? clean : `${clean.slice(0, MAX_MESSAGE_LENGTH - 1)}…`;
}

export function failure(
  code: ErrorCode,
  message: string,
  path = '',
): {
  ok: false;
  error: ErrorDetail;
} {
  return { ok: false, error: { path, code, message: safeMessage(message) } };
}

/** One JSON pointer segment (RFC 6901). */
export function pointerSegment(name: string): string {
  return name.includes('~') || name.includes('/')
    ? name.replaceAll('~', '~0').replaceAll('/', '~1')
    : name;
}

const UTF8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Bytes → text, refusing oversize input before any work and invalid UTF-8 instead of
 * replacing it (a U+FFFD in an id would be a different id). A leading BOM is dropped.
 */
export function inputText(
  input: string | Uint8Array,
  maxBytes: number,
): { ok: true; text: string } | { ok: false; error: ErrorDetail } {
  let text: string;
  if (typeof input === 'string') {
    // Each UTF-16 unit is at least one UTF-8 byte and at most three: count only when in doubt.
    if (
      input.length > maxBytes ||
      (input.length * 3 > maxBytes && Buffer.byteLength(input, 'utf8') > maxBytes)
    ) {
      return tooLarge(maxBytes);
    }
    text = input.charCodeAt(0) === 0xfeff ? input.slice(1) : input;
  } else {
    if (input.byteLength > maxBytes) return tooLarge(maxBytes);
    try {
      text = UTF8.decode(input);
    } catch {
      return failure('MALFORMED_DOCUMENT', 'document is not valid UTF-8');
    }
  }
  return { ok: true, text };
}

function tooLarge(maxBytes: number): { ok: false; error: ErrorDetail } {
  return failure('PAYLOAD_TOO_LARGE', `document is larger than ${maxBytes} bytes`);
}
