/**
 * decode(encode(doc)) = doc for every type (DESIGN §6), as a property: documents are generated
 * from each type's binding and schema constraints, with text full of XML-special and non-ASCII
 * characters, and must validate before and after the trip through XML (compact and pretty) and
 * through JSON.
 */
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { BindingNode } from '../../adapters/codec/binding.ts';
import { NON_XML_CHAR } from '../../adapters/codec/common.ts';
import { decodeJson, encodeJson } from '../../adapters/codec/json.ts';
import { decodeXml, encodeXml } from '../../adapters/codec/xml.ts';
import type { CanonicalDocument } from '../../gateway/core/document.ts';
import type { SchemaRegistry } from '../../schemas/registry.ts';
import { createSchemaRegistry } from '../../schemas/registry.ts';

const RUNS_PER_TYPE = 50;
const FIXTURE_SCHEMAS = fileURLToPath(new URL('../fixtures/codec/schemas/', import.meta.url));

/**
 * One piece of free text: markup characters, text shaped like references (which a serializer
 * might take for pre-escaped), whitespace XML cares about, non-ASCII.
 */
const TEXT_UNIT = fc.oneof(
  fc.constantFrom('<', '>', '&', '"', "'", ']', ' ', '\t', '\n', '\r', '\u00a0'),
  fc.constantFrom('&amp;', '&lt;', '&A;', '&#65;', '&#x41;', ']]>'),
  fc.constantFrom('é', 'ß', 'Ω', '日', '語', '😀', '𠮷', '\u2028', '\uFFFD'),
  fc.integer({ min: 0x20, max: 0x7e }).map((code) => String.fromCharCode(code)),
);

const DATE = fc
  .date({
    min: new Date('2000-01-01T00:00:00Z'),
    max: new Date('2099-12-31T23:59:59Z'),
    noInvalidDate: true,
  })
  .map((d) => d.toISOString());

const DATE_TIME = fc
  .tuple(DATE, fc.constantFrom('Z', '+09:00', '-05:30', '+00:00'), fc.boolean())
  .map(([iso, offset, millis]) => `${millis ? iso.slice(0, -1) : iso.slice(0, 19)}${offset}`);

function arbitraryFor(node: BindingNode): fc.Arbitrary<unknown> {
  const schema = node.schema;
  if ('const' in schema) return fc.constant(schema.const);
  if (Array.isArray(schema.enum)) return fc.constantFrom(...(schema.enum as unknown[]));
  switch (node.kind) {
    case 'object': {
      const model: Record<string, fc.Arbitrary<unknown>> = {};
      for (const property of node.properties) model[property.name] = arbitraryFor(property.node);
      const requiredKeys = node.properties.filter((p) => p.required).map((p) => p.name);
      return fc.record(model, { requiredKeys, noNullPrototype: true });
    }
    case 'array': {
      const minLength = numberOr(schema.minItems, 0);
      const maxLength = Math.min(numberOr(schema.maxItems, 3), Math.max(minLength, 3));
      return fc.array(arbitraryFor(node.items), { minLength, maxLength });
    }
    case 'integer':
      return fc.integer({
        min: numberOr(schema.minimum, -1_000_000_000),
        max: numberOr(schema.maximum, 1_000_000_000),
      });
    case 'boolean':
      return fc.boolean();
    case 'string':
      return stringFor(schema);
  }
}

function stringFor(schema: Readonly<Record<string, unknown>>): fc.Arbitrary<string> {
  const minLength = numberOr(schema.minLength, 0);
  const maxLength = numberOr(schema.maxLength, Infinity);
  let strings: fc.Arbitrary<string>;
  if (schema.format === 'date-time') strings = DATE_TIME;
  else if (schema.format === 'date') strings = DATE.map((iso) => iso.slice(0, 10));
  else if (typeof schema.pattern === 'string') {
    strings = fc.stringMatching(new RegExp(schema.pattern, 'u'));
  } else {
    // A unit may be several characters (`&amp;`): cut to the schema's limit in code points.
    return fc
      .string({ unit: TEXT_UNIT, minLength, maxLength: Math.min(maxLength, minLength + 40) })
      .map((s) => [...s].slice(0, maxLength).join(''));
  }
  // Patterns such as `[^~/]` can yield characters no wire form accepts; those are not documents.
  return strings.filter(
    (s) => [...s].length >= minLength && [...s].length <= maxLength && !NON_XML_CHAR.test(s),
  );
}

function numberOr(value: unknown, fallback: number): number {
  return typeof value === 'number' ? value : fallback;
}

function documentsOf(registry: SchemaRegistry, type: string): fc.Arbitrary<CanonicalDocument> {
  const binding = registry.binding(type);
  if (binding === undefined) throw new Error(`no binding for ${type}`);
  return arbitraryFor(binding) as fc.Arbitrary<CanonicalDocument>;
}

function checkRoundTrip(registry: SchemaRegistry, doc: CanonicalDocument, pretty: boolean): void {
  const before = registry.validate(doc);
  expect(before.ok ? [] : before.errors).toEqual([]);

  const xml = encodeXml(doc, registry, { pretty });
  const fromXml = decodeXml(xml, registry);
  expect(fromXml.ok ? fromXml.value : fromXml.error).toStrictEqual(doc);
  const after = registry.validate(fromXml.ok ? fromXml.value : undefined, doc.header.type);
  expect(after.ok ? [] : after.errors).toEqual([]);

  const fromJson = decodeJson(encodeJson(doc));
  expect(fromJson.ok ? fromJson.value : fromJson.error).toStrictEqual(doc);
}

describe.each([
  ['document schemas', createSchemaRegistry()],
  ['fixture schemas', createSchemaRegistry(FIXTURE_SCHEMAS)],
])('round trip (%s)', (_name, registry) => {
  it.each([...registry.types])('%s: decode(encode(doc)) = doc', (type) => {
    fc.assert(
      fc.property(documentsOf(registry, type), fc.boolean(), (doc, pretty) => {
        checkRoundTrip(registry, doc, pretty);
      }),
      { numRuns: RUNS_PER_TYPE },
    );
  });
});
