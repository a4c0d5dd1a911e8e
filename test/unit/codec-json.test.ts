/**
 * The JSON codec: JSON.parse plus one bounded walk that refuses prototype keys, deep nesting,
 * floods and characters XML cannot carry, each at the pointer where it is.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { decodeJson, encodeJson } from '../../adapters/codec/json.ts';

const WIDGET = readFileSync(
  fileURLToPath(new URL('../fixtures/codec/widget.json', import.meta.url)),
  'utf8',
);

function refusal(input: string | Uint8Array, limits?: Parameters<typeof decodeJson>[1]) {
  const result = decodeJson(input, limits);
  if (result.ok) throw new Error('expected the document to be refused');
  return result.error;
}

describe('decodeJson', () => {
  it('parses a document from text or bytes (BOM dropped)', () => {
    const expected: unknown = JSON.parse(WIDGET);
    expect(decodeJson(WIDGET)).toEqual({ ok: true, value: expected });
    expect(decodeJson(Buffer.from(`\uFEFF${WIDGET}`))).toEqual({ ok: true, value: expected });
    expect(decodeJson(`\uFEFF${WIDGET}`)).toEqual({ ok: true, value: expected });
  });

  it('refuses text that is not a JSON object', () => {
    for (const input of ['', '{', '{"a":1,}', "{'a':1}", 'NaN', '<Widget/>']) {
      expect(refusal(input)).toMatchObject({ code: 'MALFORMED_DOCUMENT', path: '' });
    }
    for (const input of ['[]', '"doc"', '1', 'null', 'true']) {
      expect(refusal(input)).toEqual({
        code: 'MALFORMED_DOCUMENT',
        path: '',
        message: 'a document must be a JSON object',
      });
    }
  });

  it('refuses bytes that are not UTF-8', () => {
    expect(refusal(new Uint8Array([0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d])).message).toMatch(
      /UTF-8/,
    );
  });

  it('refuses __proto__, constructor and prototype keys anywhere, at their pointer', () => {
    const cases: [string, string][] = [
      ['{"__proto__":{"polluted":"yes"}}', '/__proto__'],
      ['{"body":{"constructor":{"prototype":{"polluted":"yes"}}}}', '/body/constructor'],
      ['{"body":{"parts":[{"a":1},{"prototype":1}]}}', '/body/parts/1/prototype'],
      ['{"a~b/c":{"__proto__":null}}', '/a~0b~1c/__proto__'],
    ];
    for (const [input, path] of cases) {
      expect(refusal(input)).toMatchObject({ code: 'MALFORMED_DOCUMENT', path });
    }
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.keys(Object.prototype)).toEqual([]);
  });

  it('allows those words as values', () => {
    expect(decodeJson('{"note":"__proto__ constructor prototype"}').ok).toBe(true);
  });

  it('refuses characters XML cannot carry, in values and in names', () => {
    expect(refusal('{"body":{"note":"bell \\u0007"}}')).toMatchObject({
      path: '/body/note',
      message: 'character U+0007 is not allowed',
    });
    expect(refusal('{"body":{"tags":["ok","\\ud800"]}}')).toMatchObject({
      path: '/body/tags/1',
      message: 'character U+D800 is not allowed',
    });
    expect(refusal('{"body":{"a\\u0000b":1}}')).toMatchObject({ path: '/body' });
    expect(decodeJson('{"note":"tab\\t, line\\r\\n, emoji 😀, \\ud83d\\ude00"}').ok).toBe(true);
  });

  it('refuses nesting deeper than maxDepth (the top level is depth 1)', () => {
    const nested = (depth: number) => `${'{"a":'.repeat(depth - 1)}{}${'}'.repeat(depth - 1)}`;
    expect(decodeJson(nested(32)).ok).toBe(true);
    expect(refusal(nested(33))).toMatchObject({
      code: 'MALFORMED_DOCUMENT',
      path: `/${Array(32).fill('a').join('/')}`,
      message: 'objects and arrays are nested deeper than 32',
    });
    expect(refusal(`{"a":${'['.repeat(100_000)}${']'.repeat(100_000)}}`).message).toMatch(/nested/);
  });

  it('refuses more values than maxElements', () => {
    expect(decodeJson(`{"a":[${Array(9_998).fill(1).join(',')}]}`).ok).toBe(true);
    expect(refusal(`{"a":[${Array(9_999).fill(1).join(',')}]}`).message).toBe(
      'document has more than 10000 values',
    );
    // The object, the array and each item are values: the fourth one is refused.
    expect(refusal('{"a":[1,2,3]}', { maxElements: 3 }).path).toBe('/a/1');
  });

  it('refuses more bytes than allowed, counting UTF-8 bytes', () => {
    const doc = '{"note":"日本語"}';
    const bytes = Buffer.byteLength(doc);
    expect(decodeJson(doc, { maxBytes: bytes }).ok).toBe(true);
    expect(refusal(doc, { maxBytes: bytes - 1 }).code).toBe('PAYLOAD_TOO_LARGE');
    expect(refusal(Buffer.from(doc), { maxBytes: bytes - 1 }).code).toBe('PAYLOAD_TOO_LARGE');
    expect(refusal(`{"a":"${'x'.repeat(1024 * 1024)}"}`).code).toBe('PAYLOAD_TOO_LARGE');
  });

  it('keeps error messages short and XML-safe even when the parser quotes the input', () => {
    const message = refusal(`{"a":1,\u0001${'x'.repeat(1000)}}`).message;
    expect(message.length).toBeLessThanOrEqual(300);
    expect(message).not.toContain('\u0001');
  });
});

describe('encodeJson', () => {
  it('writes compact JSON that decodes to the same document', () => {
    const doc = JSON.parse(WIDGET) as object;
    const json = encodeJson(doc);
    expect(json).not.toContain('\n');
    expect(decodeJson(json)).toEqual({ ok: true, value: doc });
  });
});
