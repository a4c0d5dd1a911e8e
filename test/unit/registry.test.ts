/**
 * The validator registry: compiled once from a folder, picks the schema by header.type, and
 * reports ajv errors as JSON pointers a partner can act on.
 */
import { cpSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { GatewayError } from '../../gateway/core/errors.ts';
import { DOCUMENT_TYPES } from '../../schemas/document-types.ts';
import { MAX_ERRORS_PER_DOCUMENT, createSchemaRegistry } from '../../schemas/registry.ts';

const FIXTURE_SCHEMAS = fileURLToPath(new URL('../fixtures/codec/schemas/', import.meta.url));
const WIDGET = fileURLToPath(new URL('../fixtures/codec/widget.json', import.meta.url));
const EXAMPLES = fileURLToPath(new URL('../../schemas/examples/', import.meta.url));

const fixtures = createSchemaRegistry(FIXTURE_SCHEMAS);

type Json = Record<string, unknown>;

/** The fixture document, typed just enough to edit it. */
interface WidgetDoc {
  header: Json;
  body: Json & { price: Json; parts: Json[] };
}

function widget(): WidgetDoc {
  return JSON.parse(readFileSync(WIDGET, 'utf8')) as WidgetDoc;
}

/** The schema node at a dotted path, for editing a copy of a fixture schema. */
function at(node: Json, path: string): Json {
  return path.split('.').reduce<Json>((n, key) => n[key] as Json, node);
}

function errorsOf(doc: unknown, type?: string) {
  const result = fixtures.validate(doc, type);
  if (result.ok) throw new Error('expected the document to be refused');
  return result.errors;
}

describe('createSchemaRegistry (fixture schemas)', () => {
  it('loads every *.schema.json but common, sorted', () => {
    expect(fixtures.types).toEqual(['Gadget', 'Widget']);
    expect(fixtures.has('Widget')).toBe(true);
    expect(fixtures.has('common')).toBe(false);
    expect(fixtures.has('Nope')).toBe(false);
  });

  it('publishes the raw schemas, frozen', () => {
    const schema = fixtures.schema('Widget');
    expect(schema?.$id).toBe('urn:nakadachi:schemas:Widget');
    expect(Object.isFrozen(schema)).toBe(true);
    expect(fixtures.schema('common')?.$id).toBe('urn:nakadachi:schemas:common');
    expect(fixtures.schema('Nope')).toBeUndefined();
  });

  it('derives the XML binding: element names in schema order, items, money, defs', () => {
    const root = fixtures.binding('Widget');
    expect(root?.properties.map((p) => p.element)).toEqual(['Header', 'Body']);
    const body = root?.byName.get('body')?.node;
    if (body?.kind !== 'object') throw new Error('body must be an object binding');
    expect(body.properties.map((p) => [p.name, p.element, p.node.kind])).toEqual([
      ['name', 'Name', 'string'],
      ['kind', 'Kind', 'string'],
      ['count', 'Count', 'integer'],
      ['active', 'Active', 'boolean'],
      ['note', 'Note', 'string'],
      ['price', 'Price', 'object'],
      ['shipOn', 'ShipOn', 'string'],
      ['tags', 'Tags', 'array'],
      ['parts', 'Parts', 'array'],
    ]);
    const price = body.byName.get('price');
    expect(price?.node.money).toBe(true);
    expect(price?.node.def).toBe('money');
    expect(price?.node.schema.description).toBe('Unit price.');
    expect(price?.required).toBe(true);
    expect(body.byName.get('note')?.required).toBe(false);
    const parts = body.byName.get('parts')?.node;
    expect(parts?.kind === 'array' && parts.item).toBe('Part');
    expect(body.byName.get('shipOn')?.node.def).toBe('date');
    expect(fixtures.binding('Nope')).toBeUndefined();
  });
});

describe('validate', () => {
  it('accepts a valid document and returns it as the canonical document', () => {
    const doc = widget();
    const result = fixtures.validate(doc);
    expect(result).toEqual({ ok: true, document: doc });
    expect(result.ok && result.document).toBe(doc);
  });

  it('picks the schema by header.type', () => {
    const gadget = {
      header: { messageId: 'M1', type: 'Gadget', sender: 'S1', sentAt: '2031-04-01T00:00:00Z' },
      body: { serial: 'SN-1' },
    };
    expect(fixtures.validate(gadget).ok).toBe(true);
    // The same body under Widget's type is refused by Widget's schema.
    expect(errorsOf({ ...gadget, header: { ...gadget.header, type: 'Widget' } })).toContainEqual({
      path: '/body/serial',
      code: 'SCHEMA_VIOLATION',
      message: 'is not allowed here',
    });
  });

  it('reports missing and extra properties at their own pointer', () => {
    const doc = widget();
    delete doc.body.name;
    delete doc.body.parts[1]!.qty;
    doc.body.colour = 'red';
    doc.body.parts[0]!['odd/name~'] = 1;
    expect(errorsOf(doc)).toEqual([
      { path: '/body/name', code: 'SCHEMA_VIOLATION', message: 'is required' },
      { path: '/body/colour', code: 'SCHEMA_VIOLATION', message: 'is not allowed here' },
      {
        path: '/body/parts/0/odd~1name~0',
        code: 'SCHEMA_VIOLATION',
        message: 'is not allowed here',
      },
      { path: '/body/parts/1/qty', code: 'SCHEMA_VIOLATION', message: 'is required' },
    ]);
  });

  it('explains types, patterns, formats, enums and ranges briefly', () => {
    const doc = widget();
    doc.body.count = '3';
    doc.body.active = 'yes';
    doc.body.kind = 'lever';
    doc.body.price.amount = '1,200.50';
    doc.body.price.currency = 'yen';
    doc.body.parts[0]!.qty = 0;
    doc.header.sentAt = '2031-04-01 09:30';
    doc.body.shipOn = '2031-02-30';
    const byPath = new Map(errorsOf(doc).map((e) => [e.path, e.message]));
    expect(Object.fromEntries(byPath)).toEqual({
      '/header/sentAt': 'must be an RFC 3339 date-time with offset like "2031-04-01T09:30:00Z"',
      '/body/kind': 'must be one of "gear", "spring"',
      '/body/count': 'must be an integer',
      '/body/active': 'must be true or false',
      '/body/price/amount': 'must be a decimal string like "1200.50"',
      '/body/price/currency': 'must be a three-letter ISO 4217 currency code like "JPY"',
      '/body/shipOn': 'must be a date like "2031-04-01"',
      '/body/parts/0/qty': 'must be >= 1',
    });
  });

  it('checks header.type against the schema a caller names (the XML root)', () => {
    const doc = widget();
    doc.header.type = 'Gadget';
    expect(errorsOf(doc, 'Widget')).toContainEqual({
      path: '/header/type',
      code: 'SCHEMA_VIOLATION',
      message: 'must be "Widget"',
    });
  });

  it('refuses an unknown or missing type at /header/type', () => {
    const doc = widget();
    doc.header.type = 'Sprocket';
    expect(errorsOf(doc)).toEqual([
      {
        path: '/header/type',
        code: 'UNSUPPORTED_DOCUMENT_TYPE',
        message: 'unknown document type "Sprocket"',
      },
    ]);
    delete doc.header.type;
    expect(errorsOf(doc)).toEqual([
      { path: '/header/type', code: 'SCHEMA_VIOLATION', message: 'is required' },
    ]);
    expect(errorsOf({ body: {} })[0]?.path).toBe('/header/type');
    expect(errorsOf({ header: { type: 7 } })[0]).toMatchObject({
      path: '/header/type',
      code: 'SCHEMA_VIOLATION',
    });
    expect(errorsOf([])).toEqual([
      { path: '', code: 'SCHEMA_VIOLATION', message: 'must be an object' },
    ]);
    expect(errorsOf({}, 'Sprocket')[0]?.code).toBe('UNSUPPORTED_DOCUMENT_TYPE');
  });

  it(`caps the errors at ${MAX_ERRORS_PER_DOCUMENT} per document`, () => {
    const doc = widget();
    for (let i = 0; i < 50; i++) doc.body[`extra${i}`] = i;
    expect(errorsOf(doc)).toHaveLength(MAX_ERRORS_PER_DOCUMENT);
  });
});

describe('start-up refuses schemas that break the rules', () => {
  const dirs: string[] = [];
  afterAll(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  /** A copy of the fixture folder with Widget's schema changed by `edit`. */
  function withWidget(edit: (schema: Json) => void, file = 'Widget'): string {
    const dir = mkdtempSync(join(tmpdir(), 'nakadachi-registry-'));
    dirs.push(dir);
    cpSync(FIXTURE_SCHEMAS, dir, { recursive: true });
    const schema = JSON.parse(
      readFileSync(join(FIXTURE_SCHEMAS, 'Widget.schema.json'), 'utf8'),
    ) as Json;
    edit(schema);
    writeFileSync(join(dir, `${file}.schema.json`), JSON.stringify(schema));
    return dir;
  }

  function startUpError(dir: string): string {
    try {
      createSchemaRegistry(dir);
    } catch (error) {
      expect(error).toBeInstanceOf(GatewayError);
      expect((error as GatewayError).code).toBe('CONFIG_INVALID');
      return (error as GatewayError).message;
    }
    throw new Error('expected createSchemaRegistry to throw');
  }

  it('compiles in ajv strict mode (unknown keyword, pattern without type)', () => {
    expect(
      startUpError(withWidget((s) => (at(s, 'properties.body.properties.name').colour = 'red'))),
    ).toMatch(/strict mode: unknown keyword: "colour"/);
    expect(
      startUpError(
        withWidget((s) => (at(s, 'properties.body.properties').note = { pattern: '^a' })),
      ),
    ).toMatch(/strict mode: missing type "string" for keyword "pattern"/);
  });

  it('needs xmlItem on every array', () => {
    expect(
      startUpError(withWidget((s) => delete at(s, 'properties.body.properties.tags').xmlItem)),
    ).toMatch(/xmlItem/);
  });

  it('refuses keywords the binding cannot express', () => {
    expect(
      startUpError(
        withWidget(
          (s) =>
            (at(s, 'properties.body.properties').note = {
              oneOf: [{ type: 'string' }, { type: 'integer' }],
            }),
        ),
      ),
    ).toMatch(/oneOf/);
  });

  it('needs additionalProperties: false on objects', () => {
    expect(
      startUpError(
        withWidget(
          (s) => delete at(s, 'properties.body.properties.parts.items').additionalProperties,
        ),
      ),
    ).toMatch(/additionalProperties/);
  });

  it('needs $id to match the file name, and header.type pinned to the type', () => {
    expect(startUpError(withWidget(() => undefined, 'Sprocket'))).toMatch(/\$id/);
    expect(
      startUpError(withWidget((s) => delete at(s, 'properties.header.properties.type').const)),
    ).toMatch(/header\.type/);
  });

  it('refuses an unresolvable $ref', () => {
    expect(
      startUpError(
        withWidget(
          (s) =>
            (at(s, 'properties.body.properties').note = {
              $ref: 'urn:nakadachi:schemas:common#/$defs/nope',
            }),
        ),
      ),
    ).toMatch(/nope/);
  });
});

describe('the document schemas (schemas/)', () => {
  const registry = createSchemaRegistry();

  it('loads exactly the document types', () => {
    expect([...registry.types]).toEqual([...DOCUMENT_TYPES].sort());
  });

  const examples = readdirSync(EXAMPLES).filter((f) => f.endsWith('.json'));
  it.each(examples)('%s validates', (file) => {
    const doc: unknown = JSON.parse(readFileSync(join(EXAMPLES, file), 'utf8'));
    const result = registry.validate(doc);
    expect(result.ok ? [] : result.errors).toEqual([]);
  });
});
