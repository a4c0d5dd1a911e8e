/**
 * Generates `schemas/documents.generated.ts`: one TypeScript interface per document body, plus
 * the object definitions of `common.schema.json` (Money, Address, …), from the JSON Schemas.
 *
 *   npx tsx schemas/generate-types.ts
 *
 * Handles only the restricted keyword set of schemas/README.md and `$ref`s into common. Leaves
 * are `string` (ids, money amounts, decimals, dates), `number` (integers) or `boolean`; `enum`
 * and `const` become literal unions. An object nested in a body becomes its own interface named
 * `<Type><title or xmlItem or PropertyName>`, e.g. `CommodityOrderLine`.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { DOCUMENT_TYPES } from './document-types.ts';

interface SchemaNode {
  $ref?: string;
  type?: string;
  const?: unknown;
  enum?: unknown[];
  properties?: Record<string, SchemaNode>;
  required?: string[];
  items?: SchemaNode;
  xmlItem?: string;
  title?: string;
  description?: string;
  $defs?: Record<string, SchemaNode>;
}

interface Declaration {
  name: string;
  description: string | undefined;
  schema: SchemaNode;
}

const COMMON_PREFIX = 'urn:nakadachi:schemas:common#/$defs/';
const MAX_LINE = 100;

export const GENERATED_TYPES_PATH = fileURLToPath(
  new URL('./documents.generated.ts', import.meta.url),
);

function loadSchema(name: string): SchemaNode {
  const url = new URL(`./${name}.schema.json`, import.meta.url);
  return JSON.parse(readFileSync(url, 'utf8')) as SchemaNode;
}

function pascal(name: string): string {
  return name.charAt(0).toUpperCase() + name.slice(1);
}

function literal(value: unknown): string {
  if (typeof value === 'string') return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  throw new Error(`generate-types: unsupported literal ${JSON.stringify(value)}`);
}

function jsDoc(text: string | undefined, indent: string): string[] {
  if (text === undefined || text === '') return [];
  return [`${indent}/** ${text.replace(/\*\//g, '*\\/')} */`];
}

class Generator {
  private readonly defs: Record<string, SchemaNode>;
  private readonly declared = new Map<string, SchemaNode>();
  private readonly pending: Declaration[] = [];

  constructor(common: SchemaNode) {
    this.defs = common.$defs ?? {};
  }

  /** Declares an interface once; a second declaration of the same name must be the same schema. */
  private declare(name: string, description: string | undefined, schema: SchemaNode): string {
    const existing = this.declared.get(name);
    if (existing !== undefined) {
      if (existing !== schema) throw new Error(`generate-types: two different types named ${name}`);
      return name;
    }
    this.declared.set(name, schema);
    this.pending.push({ name, description, schema });
    return name;
  }

  private commonDef(ref: string): [string, SchemaNode] {
    if (!ref.startsWith(COMMON_PREFIX)) {
      throw new Error(`generate-types: only $refs into common are supported, got ${ref}`);
    }
    const name = ref.slice(COMMON_PREFIX.length);
    const def = this.defs[name];
    if (def === undefined) throw new Error(`generate-types: unknown common definition ${name}`);
    return [name, def];
  }

  /** The TS type of a schema node; `prefix` names nested object interfaces. */
  typeOf(schema: SchemaNode, prefix: string, property: string): string {
    if (schema.$ref !== undefined) {
      const [name, def] = this.commonDef(schema.$ref);
      if (def.type === 'object') return this.declare(pascal(name), def.description, def);
      return this.typeOf(def, prefix, property);
    }
    if (schema.const !== undefined) return literal(schema.const);
    if (schema.enum !== undefined) return schema.enum.map(literal).join(' | ');
    switch (schema.type) {
      case 'string':
        return 'string';
      case 'integer':
        return 'number';
      case 'boolean':
        return 'boolean';
      case 'array': {
        if (schema.items === undefined) throw new Error(`generate-types: array without items`);
        const item = this.typeOf(schema.items, prefix, schema.xmlItem ?? property);
        return item.includes(' | ') ? `(${item})[]` : `${item}[]`;
      }
      case 'object':
        return this.declare(prefix + pascal(schema.title ?? property), schema.description, schema);
      default:
        throw new Error(`generate-types: unsupported schema ${JSON.stringify(schema)}`);
    }
  }

  /** Renders one queued interface; rendering may queue the interfaces it refers to. */
  private render(decl: Declaration, prefix: string): string {
    const lines = [...jsDoc(decl.description, ''), `export interface ${decl.name} {`];
    const required = new Set(decl.schema.required ?? []);
    for (const [prop, propSchema] of Object.entries(decl.schema.properties ?? {})) {
      const type = this.typeOf(propSchema, prefix, prop);
      const name = required.has(prop) ? prop : `${prop}?`;
      lines.push(...jsDoc(propSchema.description, '  '));
      const line = `  ${name}: ${type};`;
      if (line.length <= MAX_LINE || !type.includes(' | ') || type.endsWith('[]')) {
        lines.push(line);
      } else {
        lines.push(`  ${name}:`);
        const members = type.split(' | ');
        members.forEach((member, i) => {
          lines.push(`    | ${member}${i === members.length - 1 ? ';' : ''}`);
        });
      }
    }
    lines.push('}');
    return lines.join('\n');
  }

  /** Renders everything queued so far (and whatever that queues in turn). */
  drain(prefix: string): string[] {
    const blocks: string[] = [];
    while (this.pending.length > 0) {
      const decl = this.pending.shift() as Declaration;
      blocks.push(this.render(decl, prefix));
    }
    return blocks;
  }

  commonObjectDefs(): void {
    for (const [name, def] of Object.entries(this.defs)) {
      if (def.type === 'object') this.declare(pascal(name), def.description, def);
    }
  }
}

export function generateTypes(): string {
  const generator = new Generator(loadSchema('common'));
  const blocks: string[] = [
    [
      '// Generated by schemas/generate-types.ts from schemas/*.schema.json. Do not edit by hand:',
      '// change the schemas and run `npx tsx schemas/generate-types.ts`.',
    ].join('\n'),
  ];

  generator.commonObjectDefs();
  blocks.push(...generator.drain(''));

  for (const type of DOCUMENT_TYPES) {
    const schema = loadSchema(type);
    const body = schema.properties?.body;
    if (body === undefined || body.type !== 'object') {
      throw new Error(`generate-types: ${type} has no body object`);
    }
    generator.typeOf({ ...body, title: 'Body', description: schema.description }, type, 'body');
    blocks.push(...generator.drain(type));
  }

  blocks.push(
    [
      '/** The body type of each document type. */',
      'export interface DocumentBodies {',
      ...DOCUMENT_TYPES.map((type) => `  ${type}: ${type}Body;`),
      '}',
    ].join('\n'),
    [
      '/** A canonical document of one type (a discriminated union on header.type by default). */',
      'export type TypedDocument<T extends keyof DocumentBodies = keyof DocumentBodies> = {',
      '  [K in T]: { header: Header & { type: K }; body: DocumentBodies[K] };',
      '}[T];',
    ].join('\n'),
  );
  return blocks.join('\n\n') + '\n';
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  writeFileSync(GENERATED_TYPES_PATH, generateTypes());
  console.log(`wrote ${GENERATED_TYPES_PATH}`);
}
