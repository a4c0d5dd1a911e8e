/**
 * The JSON form: `JSON.parse` (native, so fast), then one bounded walk that refuses what the
 * parser lets through: prototype keys (JSON.parse makes `"__proto__"` an own property, which
 * `Object.assign` or a spread-then-assign elsewhere would turn into a prototype), nesting deeper
 * than the limit (ajv recurses), too many values, and characters XML cannot carry (so every
 * accepted document can be delivered to an XML partner).
 *
 * Known gap: duplicate keys are not detected; JSON.parse keeps the last one.
 */
import type { CodecLimits, DecodeResult } from './common.ts';
import {
  MAX_NAME_LENGTH,
  NON_XML_CHAR,
  codePointLabel,
  failure,
  inputText,
  isForbiddenKey,
  pointerSegment,
  resolveLimits,
} from './common.ts';
import type { ErrorDetail } from '../../gateway/core/errors.ts';

export function decodeJson(
  input: string | Uint8Array,
  limits?: Partial<CodecLimits>,
): DecodeResult {
  const resolved = resolveLimits(limits);
  const read = inputText(input, resolved.maxBytes);
  if (!read.ok) return read;

  let value: unknown;
  try {
    value = JSON.parse(read.text);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    return failure('MALFORMED_DOCUMENT', `document is not valid JSON: ${reason}`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return failure('MALFORMED_DOCUMENT', 'a document must be a JSON object');
  }

  const walk: Walk = { limits: resolved, values: 0, segments: [] };
  const problem = check(value, 1, walk);
  return problem === undefined ? { ok: true, value } : { ok: false, error: problem };
}

/** Compact JSON; the canonical object is already in the shape the schema describes. */
export function encodeJson(doc: object): string {
  return JSON.stringify(doc);
}

interface Walk {
  readonly limits: Readonly<CodecLimits>;
  values: number;
  /** The path to the current value, joined into a pointer only when something is wrong. */
  readonly segments: string[];
}

function check(value: unknown, depth: number, walk: Walk): ErrorDetail | undefined {
  if (++walk.values > walk.limits.maxElements) {
    return problem(walk, `document has more than ${walk.limits.maxElements} values`);
  }
  if (typeof value === 'string') {
    const bad = NON_XML_CHAR.exec(value);
    return bad === null
      ? undefined
      : problem(walk, `character ${codePointLabel(bad[0])} is not allowed`);
  }
  if (value === null || typeof value !== 'object') return undefined;
  if (depth > walk.limits.maxDepth) {
    return problem(walk, `objects and arrays are nested deeper than ${walk.limits.maxDepth}`);
  }
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      walk.segments.push(String(i));
      const found = check(value[i], depth + 1, walk);
      walk.segments.pop();
      if (found !== undefined) return found;
    }
    return undefined;
  }
  for (const key of Object.keys(value)) {
    const bad = key.length > MAX_NAME_LENGTH ? undefined : NON_XML_CHAR.exec(key);
    if (key.length > MAX_NAME_LENGTH || bad !== null) {
      return problem(
        walk,
        bad ? `a property name contains ${codePointLabel(bad[0])}` : 'a property name is too long',
      );
    }
    walk.segments.push(key);
    const found = isForbiddenKey(key)
      ? problem(walk, `property name "${key}" is not allowed`)
      : check((value as Record<string, unknown>)[key], depth + 1, walk);
    walk.segments.pop();
    if (found !== undefined) return found;
  }
  return undefined;
}

function problem(walk: Walk, message: string): ErrorDetail {
  const path = walk.segments.map((s) => `/${pointerSegment(s)}`).join('');
  return failure('MALFORMED_DOCUMENT', message, path).error;
}
