/**
 * The document schemas follow the conventions of schemas/README.md, compile under Ajv strict
 * mode, and every type has JSON and XML examples of the same document that validate.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { describe, expect, it } from 'vitest';
import {
  DOCUMENT_TYPES,
  INBOUND_SENDER_ROLES,
  INBOUND_TYPES,
  OUTBOUND_TYPES,
  isDocumentType,
  type DocumentType,
} from '../../schemas/document-types.ts';
import { GENERATED_TYPES_PATH, generateTypes } from '../../schemas/generate-types.ts';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

interface SchemaNode {
  [keyword: string]: unknown;
  $ref?: string;
  type?: string;
  properties?: Record<string, SchemaNode>;
  required?: string[];
  additionalProperties?: unknown;
  items?: SchemaNode;
  xmlItem?: string;
  $defs?: Record<string, SchemaNode>;
  const?: unknown;
}

const SCHEMA_DIR = new URL('../../schemas/', import.meta.url);
const EXAMPLE_DIR = new URL('../../schemas/examples/', import.meta.url);
const COMMON_ID = 'urn:nakadachi:schemas:common';
const COMMON_PREFIX = `${COMMON_ID}#/$defs/`;
const DRAFT_2020_12 = 'https://json-schema.org/draft/2020-12/schema';
const GATEWAY_ID = 'NAKADACHI';

const ALLOWED_KEYWORDS = new Set([
  'type',
  'properties',
  'required',
  'additionalProperties',
  'items',
  'minItems',
  'maxItems',
  'enum',
  'const',
  'pattern',
  'format',
  'minLength',
  'maxLength',
  'minimum',
  'maximum',
  '$ref',
  '$id',
  '$schema',
  '$defs',
  'title',
  'description',
  'xmlItem',
]);
const ALLOWED_TYPES = new Set(['object', 'array', 'string', 'integer', 'boolean']);
/** Decimals each example currency must be written with. */
const CURRENCY_DECIMALS: Record<string, number> = { JPY: 0, EUR: 2 };

function readText(dir: URL, file: string): string {
  return readFileSync(new URL(file, dir), 'utf8');
}

function readSchema(name: string): SchemaNode {
  return JSON.parse(readText(SCHEMA_DIR, `${name}.schema.json`)) as SchemaNode;
}

function readExample(type: string): JsonObject {
  return JSON.parse(readText(EXAMPLE_DIR, `${type}.json`)) as JsonObject;
}

const SCHEMA_NAMES = ['common', ...DOCUMENT_TYPES] as const;
const commonSchema = readSchema('common');
const commonDefs = commonSchema.$defs ?? {};

/** Calls `visit` on every schema node (not on `properties` / `$defs` maps themselves). */
function walk(node: SchemaNode, pointer: string, visit: (n: SchemaNode, p: string) => void): void {
  visit(node, pointer);
  for (const [name, child] of Object.entries(node.properties ?? {})) {
    walk(child, `${pointer}/properties/${name}`, visit);
  }
  for (const [name, child] of Object.entries(node.$defs ?? {})) {
    walk(child, `${pointer}/$defs/${name}`, visit);
  }
  if (node.items !== undefined) walk(node.items, `${pointer}/items`, visit);
}

function problems(name: string, check: (n: SchemaNode, p: string) => string | undefined): string[] {
  const found: string[] = [];
  walk(readSchema(name), '', (node, pointer) => {
    const problem = check(node, pointer);
    if (problem !== undefined) found.push(`${name}#${pointer}: ${problem}`);
  });
  return found;
}

function resolve(node: SchemaNode): SchemaNode {
  if (node.$ref === undefined) return node;
  const def = commonDefs[node.$ref.slice(COMMON_PREFIX.length)];
  if (def === undefined) throw new Error(`unresolvable $ref ${node.$ref}`);
  return resolve(def);
}

function isObject(value: Json | undefined): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function createAjv(): Ajv2020 {
  const ajv = new Ajv2020({ strict: true, allErrors: true });
  addFormats.default(ajv);
  ajv.addKeyword({ keyword: 'xmlItem', schemaType: 'string' });
  ajv.addSchema(commonSchema);
  return ajv;
}

let ajv: Ajv2020 | undefined;
const validators = new Map<DocumentType, ValidateFunction>();

/** Compiles on first use, so a schema that does not compile fails its own test only. */
function validatorFor(type: DocumentType): ValidateFunction {
  ajv ??= createAjv();
  let validator = validators.get(type);
  if (validator === undefined) {
    validator = ajv.compile(readSchema(type));
    validators.set(type, validator);
  }
  return validator;
}

function validate(type: DocumentType, doc: Json): { valid: boolean; keywords: string[] } {
  const validator = validatorFor(type);
  const valid = validator(doc);
  return { valid, keywords: (validator.errors ?? []).map((e) => e.keyword) };
}

// ------------------------------------------------------------------ XML form (README rules)

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function elementName(property: string): string {
  return property.charAt(0).toUpperCase() + property.slice(1);
}

function encodeElement(
  out: string[],
  name: string,
  value: Json,
  schema: SchemaNode,
  depth: number,
) {
  const node = resolve(schema);
  const pad = '  '.repeat(depth);
  if (node.type === 'object') {
    if (!isObject(value)) throw new Error(`${name}: expected an object`);
    out.push(`${pad}<${name}>`);
    for (const [property, child] of Object.entries(node.properties ?? {})) {
      const v = value[property];
      if (v !== undefined) encodeElement(out, elementName(property), v, child, depth + 1);
    }
    out.push(`${pad}</${name}>`);
  } else if (node.type === 'array') {
    if (!Array.isArray(value) || node.items === undefined || node.xmlItem === undefined) {
      throw new Error(`${name}: expected an array`);
    }
    if (value.length === 0) {
      out.push(`${pad}<${name}/>`);
      return;
    }
    out.push(`${pad}<${name}>`);
    for (const item of value) encodeElement(out, node.xmlItem, item, node.items, depth + 1);
    out.push(`${pad}</${name}>`);
  } else if (typeof value === 'string') {
    out.push(`${pad}<${name}>${escapeXml(value)}</${name}>`);
  } else if (typeof value === 'number' || typeof value === 'boolean') {
    out.push(`${pad}<${name}>${value}</${name}>`);
  } else {
    throw new Error(`${name}: expected a leaf value`);
  }
}

/** The pretty-printed XML form of a canonical document, elements in schema order. */
function toXml(type: DocumentType, doc: JsonObject): string {
  const schema = readSchema(type);
  const header = schema.properties?.header;
  const body = schema.properties?.body;
  if (header === undefined || body === undefined) throw new Error(`${type}: no header/body`);
  const out = ['<?xml version="1.0" encoding="UTF-8"?>', `<${type} xmlns="urn:nakadachi:1">`];
  encodeElement(out, 'Header', doc.header ?? null, header, 1);
  encodeElement(out, 'Body', doc.body ?? null, body, 1);
  out.push(`</${type}>`);
  return `${out.join('\n')}\n`;
}

/** Calls `visit` on every value in a JSON document. */
function walkJson(value: Json, visit: (v: Json) => void): void {
  visit(value);
  if (Array.isArray(value)) value.forEach((v) => walkJson(v, visit));
  else if (isObject(value)) Object.values(value).forEach((v) => walkJson(v, visit));
}

// ------------------------------------------------------------------ tests

describe('document types', () => {
  it('has 32 distinct types, inbound and outbound disjoint', () => {
    expect(DOCUMENT_TYPES).toHaveLength(32);
    expect(new Set(DOCUMENT_TYPES).size).toBe(32);
    expect(INBOUND_TYPES.filter((t) => (OUTBOUND_TYPES as readonly string[]).includes(t))).toEqual(
      [],
    );
  });

  it('gives every inbound type at least one sender role', () => {
    expect(Object.keys(INBOUND_SENDER_ROLES).sort()).toEqual([...INBOUND_TYPES].sort());
    for (const roles of Object.values(INBOUND_SENDER_ROLES))
      expect(roles.length).toBeGreaterThan(0);
  });

  it('recognises document type names', () => {
    expect(isDocumentType('PurchaseReservation')).toBe(true);
    expect(isDocumentType('Receipt')).toBe(true);
    expect(isDocumentType('purchaseReservation')).toBe(false);
    expect(isDocumentType('toString')).toBe(false);
    expect(isDocumentType(42)).toBe(false);
  });
});

describe('schema and example files', () => {
  it('has a schema for every type and nothing else', () => {
    const files = readdirSync(SCHEMA_DIR).filter((f) => f.endsWith('.schema.json'));
    expect(files.sort()).toEqual(SCHEMA_NAMES.map((n) => `${n}.schema.json`).sort());
  });

  it('has a JSON and an XML example for every type and nothing else', () => {
    const files = readdirSync(EXAMPLE_DIR);
    const expected = DOCUMENT_TYPES.flatMap((t) => [`${t}.json`, `${t}.xml`]);
    expect(files.sort()).toEqual(expected.sort());
  });

  it('keeps schemas/documents.generated.ts up to date (npx tsx schemas/generate-types.ts)', () => {
    expect(readFileSync(GENERATED_TYPES_PATH, 'utf8')).toBe(generateTypes());
  });
});

describe.each(SCHEMA_NAMES)('schema %s', (name) => {
  it('parses and declares draft 2020-12 and its $id', () => {
    const schema = readSchema(name);
    expect(schema.$schema).toBe(DRAFT_2020_12);
    expect(schema.$id).toBe(`urn:nakadachi:schemas:${name}`);
  });

  it('uses only the allowed keywords and types', () => {
    expect(
      problems(name, (node) => {
        const unknown = Object.keys(node).filter((k) => !ALLOWED_KEYWORDS.has(k));
        if (unknown.length > 0) return `keywords ${unknown.join(', ')}`;
        if (node.type !== undefined && !ALLOWED_TYPES.has(node.type)) return `type ${node.type}`;
        if (node.type === undefined && node.$ref === undefined && node.$defs === undefined) {
          return 'neither type nor $ref';
        }
        return undefined;
      }),
    ).toEqual([]);
  });

  it('refers only to existing common definitions', () => {
    expect(
      problems(name, (node) => {
        if (node.$ref === undefined) return undefined;
        if (!node.$ref.startsWith(COMMON_PREFIX)) return `$ref ${node.$ref}`;
        if (commonDefs[node.$ref.slice(COMMON_PREFIX.length)] === undefined) {
          return `$ref to missing ${node.$ref}`;
        }
        return undefined;
      }),
    ).toEqual([]);
  });

  it('closes every object and lists only declared properties as required', () => {
    expect(
      problems(name, (node) => {
        if (node.type !== 'object') {
          return node.additionalProperties === undefined ? undefined : 'not an object';
        }
        if (node.additionalProperties !== false) return 'additionalProperties is not false';
        const properties = Object.keys(node.properties ?? {});
        if (properties.length === 0) return 'no properties';
        const badNames = properties.filter((p) => !/^[a-z][A-Za-z0-9]*$/.test(p));
        if (badNames.length > 0) return `property names not camelCase: ${badNames.join(', ')}`;
        const undeclared = (node.required ?? []).filter((r) => !properties.includes(r));
        return undeclared.length > 0
          ? `required but undeclared: ${undeclared.join(', ')}`
          : undefined;
      }),
    ).toEqual([]);
  });

  it('names the XML item element of every array', () => {
    expect(
      problems(name, (node) => {
        if (node.type !== 'array')
          return node.xmlItem === undefined ? undefined : 'xmlItem on non-array';
        if (node.items === undefined) return 'array without items';
        if (typeof node.xmlItem !== 'string' || !/^[A-Z][A-Za-z0-9]*$/.test(node.xmlItem)) {
          return 'array without a valid xmlItem';
        }
        return undefined;
      }),
    ).toEqual([]);
  });
});

describe.each(DOCUMENT_TYPES)('%s', (type) => {
  const outbound = (OUTBOUND_TYPES as readonly string[]).includes(type);

  it('is {header, body} with header.type pinned to the type name', () => {
    const schema = readSchema(type);
    expect(schema.type).toBe('object');
    expect(Object.keys(schema.properties ?? {})).toEqual(['header', 'body']);
    expect(schema.required).toEqual(['header', 'body']);
    const header = schema.properties?.header;
    expect(header?.properties?.type?.const).toBe(type);
    expect(Object.keys(header?.properties ?? {})).toEqual(
      Object.keys(commonDefs.header?.properties ?? {}),
    );
    const required = ['messageId', 'type', 'sender', 'sentAt', ...(outbound ? ['recipient'] : [])];
    expect(header?.required).toEqual(required);
    expect(schema.properties?.body?.type).toBe('object');
  });

  it('compiles with Ajv 2020-12 in strict mode', () => {
    expect(() => validatorFor(type)).not.toThrow();
  });

  it('has a JSON example that validates, of its own type', () => {
    const example = readExample(type);
    expect(validate(type, example)).toEqual({ valid: true, keywords: [] });
    const header = example.header;
    expect(isObject(header) && header.type).toBe(type);
    if (outbound) expect(isObject(header) && header.sender).toBe(GATEWAY_ID);
    else expect(isObject(header) && header.sender).not.toBe(GATEWAY_ID);
  });

  it('has an XML example that is the same document in XML form', () => {
    expect(readText(EXAMPLE_DIR, `${type}.xml`)).toBe(toXml(type, readExample(type)));
  });

  it('writes example amounts with the decimals of their currency and dates in 2035–2040', () => {
    const found: string[] = [];
    walkJson(readExample(type), (value) => {
      if (
        isObject(value) &&
        typeof value.amount === 'string' &&
        typeof value.currency === 'string'
      ) {
        const decimals = value.amount.split('.')[1]?.length ?? 0;
        if (decimals !== CURRENCY_DECIMALS[value.currency]) {
          found.push(`${value.amount} ${value.currency}`);
        }
      }
      if (typeof value !== 'string') return;
      const year = /^(\d{4})-\d{2}-\d{2}(T|$)/.exec(value)?.[1];
      if (year !== undefined && (Number(year) < 2035 || Number(year) > 2040)) found.push(value);
    });
    expect(found).toEqual([]);
  });
});

describe('the schemas reject', () => {
  interface Case {
    name: string;
    type: DocumentType;
    mutate: (doc: { header: JsonObject; body: JsonObject }) => void;
    keyword: string;
  }
  const money = (amount: Json): JsonObject => ({ amount, currency: 'JPY' });
  const cases: Case[] = [
    {
      name: 'an extra body field',
      type: 'PurchaseReservation',
      mutate: (d) => (d.body.discount = '5'),
      keyword: 'additionalProperties',
    },
    {
      name: 'an extra header field',
      type: 'PurchaseReservation',
      mutate: (d) => (d.header.priority = 'high'),
      keyword: 'additionalProperties',
    },
    {
      name: 'an extra field inside money',
      type: 'Award',
      mutate: (d) => (d.body.total = { ...money('6100000'), scale: 0 }),
      keyword: 'additionalProperties',
    },
    {
      name: 'a number amount',
      type: 'PurchaseReservation',
      mutate: (d) => (d.body.maxUnitPrice = money(31000)),
      keyword: 'type',
    },
    {
      name: 'an amount with a thousands separator',
      type: 'PurchaseReservation',
      mutate: (d) => (d.body.maxUnitPrice = money('31,000')),
      keyword: 'pattern',
    },
    {
      name: 'a string quantity',
      type: 'PurchaseReservation',
      mutate: (d) => (d.body.quantity = '200'),
      keyword: 'type',
    },
    {
      name: 'a zero quantity',
      type: 'PurchaseReservation',
      mutate: (d) => (d.body.quantity = 0),
      keyword: 'minimum',
    },
    {
      name: 'a missing required body field',
      type: 'PurchaseReservation',
      mutate: (d) => delete d.body.itemId,
      keyword: 'required',
    },
    {
      name: 'a missing body',
      type: 'NoAward',
      mutate: (d) => delete (d as Partial<typeof d>).body,
      keyword: 'required',
    },
    {
      name: 'another type in the header',
      type: 'PurchaseReservation',
      mutate: (d) => (d.header.type = 'OrderBid'),
      keyword: 'const',
    },
    {
      name: 'an outbound document without recipient',
      type: 'Award',
      mutate: (d) => delete d.header.recipient,
      keyword: 'required',
    },
    {
      name: 'an impossible date',
      type: 'PurchaseReservation',
      mutate: (d) => (d.body.neededBy = '2036-02-30'),
      keyword: 'format',
    },
    {
      name: 'a date-time without offset',
      type: 'PurchaseReservation',
      mutate: (d) => (d.body.biddingDeadline = '2036-02-20T17:00:00'),
      keyword: 'format',
    },
    {
      name: 'an unknown enum value',
      type: 'OrderBid',
      mutate: (d) => (d.body.action = 'revise'),
      keyword: 'enum',
    },
    {
      name: 'an order without lines',
      type: 'CommodityOrder',
      mutate: (d) => (d.body.lines = []),
      keyword: 'minItems',
    },
    {
      name: 'an e-check that is not a compact JWS',
      type: 'CommodityOrder',
      mutate: (d) => (d.body.echeck = 'not a check'),
      keyword: 'pattern',
    },
    {
      name: 'a sender id with a space',
      type: 'PurchaseReservation',
      mutate: (d) => (d.header.sender = 'BUYER A'),
      keyword: 'pattern',
    },
  ];

  it.each(cases)('$name ($type)', ({ type, mutate, keyword }) => {
    const doc = readExample(type) as { header: JsonObject; body: JsonObject };
    expect(validate(type, doc).valid).toBe(true);
    mutate(doc);
    const result = validate(type, doc);
    expect(result.valid).toBe(false);
    expect(result.keywords).toContain(keyword);
  });
});
