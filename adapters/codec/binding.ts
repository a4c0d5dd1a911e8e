/**
 * The XML binding of a document type, derived from its JSON Schema once at start-up
 * (schemas/README.md, "XML form"): which element names map to which properties, in which order,
 * where the arrays and their item elements are, and which leaves are integers or booleans.
 *
 * Deriving it also enforces the schema rules the binding relies on; a schema that breaks them
 * fails start-up with CONFIG_INVALID instead of decoding documents wrongly.
 */
import { GatewayError } from '../../gateway/core/errors.ts';
import { isForbiddenKey } from './common.ts';

export const COMMON_SCHEMA_ID = 'urn:nakadachi:schemas:common';
export const TYPE_SCHEMA_ID_PREFIX = 'urn:nakadachi:schemas:';

export type JsonSchema = Readonly<Record<string, unknown>>;

export type ScalarKind = 'string' | 'integer' | 'boolean';

interface BindingBase {
  /** The schema node (after following $ref, with the $ref's sibling keywords laid over it). */
  readonly schema: JsonSchema;
  /** Name of the first common `$defs` entry reached through `$ref`, e.g. 'money', 'partyId'. */
  readonly def: string | undefined;
  /** A `$ref` to common#/$defs/money: `{ amount, currency }`. */
  readonly money: boolean;
}

export interface PropertyBinding {
  /** JSON property name. */
  readonly name: string;
  /** XML element name: the property name with its first letter upper-cased. */
  readonly element: string;
  readonly required: boolean;
  readonly node: BindingNode;
}

export interface ObjectBinding extends BindingBase {
  readonly kind: 'object';
  /** In schema order, which is the element order on output. */
  readonly properties: readonly PropertyBinding[];
  readonly byElement: ReadonlyMap<string, PropertyBinding>;
  readonly byName: ReadonlyMap<string, PropertyBinding>;
}

export interface ArrayBinding extends BindingBase {
  readonly kind: 'array';
  /** Element name of one item (`xmlItem`). */
  readonly item: string;
  readonly items: BindingNode;
}

export interface ScalarBinding extends BindingBase {
  readonly kind: ScalarKind;
}

export type BindingNode = ObjectBinding | ArrayBinding | ScalarBinding;

/** The keywords schemas/README.md allows; anything else would need binding support. */
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

// NCName without the non-ASCII ranges: element names are derived from our own property names.
const XML_NAME = /^[A-Za-z_][A-Za-z0-9._-]*$/;

/** `messageId` → `MessageId`. */
export function elementName(property: string): string {
  return property.charAt(0).toUpperCase() + property.slice(1);
}

/** `MessageId` → `messageId`: the property an unknown element is reported under. */
export function propertyName(element: string): string {
  return element.charAt(0).toLowerCase() + element.slice(1);
}

/**
 * Derives the binding of one type schema. `schemasById` holds every loaded schema by `$id`
 * (common included), for `$ref` resolution.
 */
export function deriveBinding(
  schema: JsonSchema,
  schemasById: ReadonlyMap<string, JsonSchema>,
): ObjectBinding {
  const baseId = typeof schema.$id === 'string' ? schema.$id : '';
  const root = bindNode(schema, { baseId, schemasById, refs: [], where: baseId || '(schema)' });
  if (root.kind !== 'object') invalid(baseId, 'the document schema must be an object');
  return root;
}

interface Context {
  baseId: string;
  schemasById: ReadonlyMap<string, JsonSchema>;
  /** $refs being followed, to refuse cycles (a recursive schema has no finite binding). */
  refs: string[];
  where: string;
}

function bindNode(
  schema: JsonSchema,
  ctx: Context,
  def?: string,
  money = false,
  siblings?: JsonSchema,
): BindingNode {
  for (const key of Object.keys(schema)) {
    if (!ALLOWED_KEYWORDS.has(key)) invalid(ctx.where, `keyword "${key}" is not supported`);
  }
  if (typeof schema.$ref === 'string') return bindRef(schema, ctx, def, money);

  const view: JsonSchema = siblings === undefined ? schema : { ...schema, ...siblings };
  switch (kindOf(schema, ctx)) {
    case 'object':
      return bindObject(schema, view, ctx, def, money);
    case 'array':
      return bindArray(schema, view, ctx, def, money);
    case 'integer':
      return { kind: 'integer', schema: view, def, money };
    case 'boolean':
      return { kind: 'boolean', schema: view, def, money };
    case 'string':
      return { kind: 'string', schema: view, def, money };
  }
}

function bindRef(schema: JsonSchema, ctx: Context, def?: string, money = false): BindingNode {
  const ref = schema.$ref as string;
  const hash = ref.indexOf('#');
  const id = hash === -1 ? ref : ref.slice(0, hash) || ctx.baseId;
  const pointer = hash === -1 ? '' : ref.slice(hash + 1);
  const key = `${id}#${pointer}`;
  if (ctx.refs.includes(key)) invalid(ctx.where, `$ref cycle through ${ref}`);

  const target = resolvePointer(ctx.schemasById.get(id), pointer);
  if (target === undefined) invalid(ctx.where, `cannot resolve $ref ${ref}`);

  const defMatch = /^\/\$defs\/([^/]+)$/.exec(pointer);
  const isCommonDef = id === COMMON_SCHEMA_ID && defMatch !== null;
  const siblings = Object.fromEntries(Object.entries(schema).filter(([k]) => k !== '$ref'));
  return bindNode(
    target,
    { ...ctx, baseId: id, refs: [...ctx.refs, key], where: key },
    def ?? (isCommonDef ? defMatch[1] : undefined),
    money || (isCommonDef && defMatch[1] === 'money'),
    Object.keys(siblings).length > 0 ? siblings : undefined,
  );
}

function bindObject(
  schema: JsonSchema,
  view: JsonSchema,
  ctx: Context,
  def: string | undefined,
  money: boolean,
): ObjectBinding {
  if (schema.additionalProperties !== false) {
    invalid(ctx.where, 'objects must have additionalProperties: false');
  }
  const props = (schema.properties ?? {}) as Record<string, JsonSchema>;
  const required = new Set(Array.isArray(schema.required) ? (schema.required as string[]) : []);
  const properties: PropertyBinding[] = [];
  const byElement = new Map<string, PropertyBinding>();
  const byName = new Map<string, PropertyBinding>();
  for (const [name, child] of Object.entries(props)) {
    const element = elementName(name);
    const where = `${ctx.where}/properties/${name}`;
    if (isForbiddenKey(name) || !XML_NAME.test(element) || element.includes(':')) {
      invalid(where, `property name "${name}" cannot be bound to XML`);
    }
    if (byElement.has(element)) invalid(where, `two properties map to element <${element}>`);
    const binding: PropertyBinding = {
      name,
      element,
      required: required.has(name),
      node: bindNode(child, { ...ctx, where }),
    };
    properties.push(binding);
    byElement.set(element, binding);
    byName.set(name, binding);
  }
  return { kind: 'object', schema: view, def, money, properties, byElement, byName };
}

function bindArray(
  schema: JsonSchema,
  view: JsonSchema,
  ctx: Context,
  def: string | undefined,
  money: boolean,
): ArrayBinding {
  const item = schema.xmlItem;
  if (typeof item !== 'string' || !XML_NAME.test(item)) {
    invalid(ctx.where, 'arrays must name their item element with xmlItem');
  }
  const items = schema.items;
  if (items === null || typeof items !== 'object' || Array.isArray(items)) {
    invalid(ctx.where, 'arrays must have one items schema');
  }
  const node = bindNode(items as JsonSchema, { ...ctx, where: `${ctx.where}/items` });
  return { kind: 'array', schema: view, def, money, item, items: node };
}

function kindOf(schema: JsonSchema, ctx: Context): 'object' | 'array' | ScalarKind {
  const type = schema.type;
  if (
    type === 'object' ||
    type === 'array' ||
    type === 'string' ||
    type === 'integer' ||
    type === 'boolean'
  ) {
    return type;
  }
  if (type !== undefined) invalid(ctx.where, `type ${JSON.stringify(type)} is not supported`);
  // No type: a const or enum decides (strict ajv refuses type-specific keywords without one).
  const values: unknown[] = 'const' in schema ? [schema.const] : ((schema.enum as unknown[]) ?? []);
  if (values.length > 0 && values.every((v) => typeof v === 'string')) return 'string';
  if (values.length > 0 && values.every((v) => Number.isInteger(v))) return 'integer';
  if (values.length > 0 && values.every((v) => typeof v === 'boolean')) return 'boolean';
  return invalid(ctx.where, 'every node needs a type (or a $ref, const or enum of one type)');
}

function resolvePointer(schema: JsonSchema | undefined, pointer: string): JsonSchema | undefined {
  if (schema === undefined || (pointer !== '' && !pointer.startsWith('/'))) return undefined;
  let node: unknown = schema;
  for (const raw of pointer === '' ? [] : pointer.slice(1).split('/')) {
    const segment = decodeURIComponent(raw).replaceAll('~1', '/').replaceAll('~0', '~');
    if (node === null || typeof node !== 'object' || !Object.hasOwn(node, segment)) {
      return undefined;
    }
    node = (node as Record<string, unknown>)[segment];
  }
  return node !== null && typeof node === 'object' && !Array.isArray(node)
    ? (node as JsonSchema)
    : undefined;
}

function invalid(where: string, message: string): never {
  throw new GatewayError('CONFIG_INVALID', `schema ${where}: ${message}`);
}
