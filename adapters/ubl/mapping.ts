/**
 * Mapping files (adapters/ubl/mappings/*.json): one UBL document ⇄ one canonical document type,
 * as data. Loaded once at start-up, checked against mapping.schema.json, then against what they
 * name — every UBL path must walk the declared UBL structure (structure.ts), every canonical
 * pointer must exist in the document type's schema, every required canonical field of an inbound
 * mapping must be filled by some field — so a broken or mistyped mapping stops the gateway
 * instead of mistranslating documents. A new partner dialect is a new file that `extends` one.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { GatewayError } from '../../gateway/core/errors.ts';
import type { SchemaRegistry } from '../../schemas/registry.ts';
import type { BindingNode, ObjectBinding } from '../codec/binding.ts';
import { checkSteps, typeOf, UBL_DOCUMENTS } from './structure.ts';
import { compilePath, PathError, type UblPath } from './ubl-path.ts';

export type Conversion =
  | 'text'
  | 'integer'
  | 'decimal'
  | 'money'
  | 'quantity'
  | 'date'
  | 'dateTime'
  | 'endOfDay'
  | 'code'
  | 'base64'
  | 'party'
  | 'item'
  | 'order'
  | 'reservation'
  | 'address'
  | 'region'
  | 'position';

export type Alternative =
  | { kind: 'path'; path: UblPath; time?: UblPath; currency?: UblPath }
  | { kind: 'resolved'; resolved: 'listPrice' | 'orderCarrier'; of: string };

export interface Field {
  /** Canonical pointers (relative inside `each`); empty for a UBL-only constant. */
  canonical: readonly string[];
  alternatives: readonly Alternative[];
  as: Conversion;
  direction: 'in' | 'out' | 'both';
  const?: string | number | boolean;
  default?: string;
  /** code: UBL code → canonical value, and the first UBL code of each value for writing. */
  map?: ReadonlyMap<string, string>;
  reverse?: ReadonlyMap<string, string>;
  ignoreCase: boolean;
  attributes: Readonly<Record<string, string>>;
  times?: string;
  orAuthenticated: boolean;
  seller?: UblPath;
  sellerItemIds: readonly UblPath[];
  item?: UblPath;
  addressName: readonly UblPath[];
  missing?: { code: string; message: string };
  /** Required by this mapping where the canonical schema leaves it to the core (a bid's price). */
  required: boolean;
  each?: UblPath;
  /** With each: one element per entry of this array of the item (a single-segment pointer). */
  flatten?: string;
  fields: readonly Field[];
}

export interface Mapping {
  name: string;
  description: string;
  ubl: string;
  canonical: string;
  direction: 'inbound' | 'outbound' | 'both';
  customization?: string;
  split?: UblPath;
  needs?: string;
  when?: { paths: readonly UblPath[]; ignoreCase: boolean; values: ReadonlySet<string> };
  fields: readonly Field[];
}

export interface MappingSet {
  readonly all: readonly Mapping[];
  /** Candidates for reading a UBL document, most specific first (dialect, then `when`, then plain). */
  inboundFor(root: string, customizationId: string | undefined): readonly Mapping[];
  /** The mapping that writes a canonical type, if any. */
  outboundFor(type: string): Mapping | undefined;
  /** The UBL documents the gateway reads. */
  readonly inboundRoots: readonly string[];
}

// --- the raw form, as mapping.schema.json describes it ---------------------------------------

type RawSource = string | { path: string; time?: string; currency?: string } | RawResolved;
interface RawResolved {
  resolved: 'listPrice' | 'orderCarrier';
  of: string;
}

interface RawField {
  canonical?: string | string[];
  ubl?: RawSource | RawSource[];
  as?: Conversion;
  direction?: 'in' | 'out';
  const?: string | number | boolean;
  default?: string;
  map?: Record<string, string>;
  ignoreCase?: boolean;
  attributes?: Record<string, string>;
  times?: string;
  orAuthenticated?: boolean;
  seller?: string;
  sellerItemIds?: string[];
  item?: string;
  addressName?: string[];
  missing?: { code: string; message: string };
  required?: boolean;
  each?: string;
  flatten?: string;
  fields?: RawField[];
}

interface RawMapping {
  name: string;
  description: string;
  ubl?: string;
  canonical?: string;
  direction?: 'inbound' | 'outbound' | 'both';
  extends?: string;
  customization?: string;
  split?: string;
  needs?: string;
  when?: { ubl: string | string[]; ignoreCase?: boolean; in: string[] };
  fields: RawField[];
}

export const DEFAULT_MAPPINGS_DIR = fileURLToPath(new URL('./mappings/', import.meta.url));
const SCHEMA_FILE = fileURLToPath(new URL('./mapping.schema.json', import.meta.url));

function asArray<T>(value: T | T[] | undefined): T[] {
  return value === undefined ? [] : Array.isArray(value) ? value : [value];
}

/** Loads, checks and compiles every mapping in `dir`; any problem stops start-up (CONFIG_INVALID). */
export function loadMappings(
  registry: SchemaRegistry,
  dir: string = DEFAULT_MAPPINGS_DIR,
): MappingSet {
  const ajv = new Ajv2020({ strict: true, allowUnionTypes: true, allErrors: true });
  const validate = ajv.compile(JSON.parse(readFileSync(SCHEMA_FILE, 'utf8')) as object);
  const problems: string[] = [];
  const raws = new Map<string, RawMapping>();
  for (const file of readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()) {
    const raw = JSON.parse(readFileSync(join(dir, file), 'utf8')) as unknown;
    if (!validate(raw)) {
      for (const e of validate.errors ?? [])
        problems.push(`${file}: ${e.instancePath || '/'} ${e.message ?? ''}`);
      continue;
    }
    const mapping = raw as RawMapping;
    if (raws.has(mapping.name)) problems.push(`${file}: a second mapping named ${mapping.name}`);
    raws.set(mapping.name, mapping);
  }
  const compiled: Mapping[] = [];
  for (const raw of raws.values()) {
    try {
      const mapping = compileMapping(resolveExtends(raw, raws), registry);
      problems.push(...checkMapping(mapping, registry).map((p) => `${raw.name}: ${p}`));
      compiled.push(mapping);
    } catch (error) {
      if (!(error instanceof PathError || error instanceof MappingError)) throw error;
      problems.push(`${raw.name}: ${error.message}`);
    }
  }
  for (const type of new Set(
    compiled.filter((m) => m.direction !== 'inbound').map((m) => m.canonical),
  )) {
    const writers = compiled.filter((m) => m.canonical === type && m.direction !== 'inbound');
    if (writers.length > 1) {
      problems.push(`${type} is written by ${writers.map((m) => m.name).join(' and ')}: pick one`);
    }
  }
  if (problems.length > 0) {
    throw new GatewayError(
      'CONFIG_INVALID',
      `UBL mappings are not valid:\n  ${problems.join('\n  ')}`,
    );
  }
  return mappingSet(compiled);
}

class MappingError extends Error {}

/** A dialect: the base mapping, with the dialect's fields replacing those of the same target. */
function resolveExtends(raw: RawMapping, all: ReadonlyMap<string, RawMapping>): RawMapping {
  if (raw.extends === undefined) {
    if (raw.ubl === undefined || raw.canonical === undefined || raw.direction === undefined) {
      throw new MappingError('needs ubl, canonical and direction (or extends)');
    }
    return raw;
  }
  const base = all.get(raw.extends);
  if (base === undefined) throw new MappingError(`extends unknown mapping ${raw.extends}`);
  if (base.extends !== undefined)
    throw new MappingError('a dialect extends a base mapping, not a dialect');
  if (raw.customization === undefined) throw new MappingError('a dialect needs a customization');
  const key = (f: RawField) => JSON.stringify(f.canonical ?? f.ubl);
  const replaced = new Map(raw.fields.map((f) => [key(f), f]));
  const unused = new Set(replaced.keys());
  const fields = base.fields.map((f) => {
    const replacement = replaced.get(key(f));
    unused.delete(key(f));
    return replacement ?? f;
  });
  if (unused.size > 0)
    throw new MappingError(`replaces no field of ${base.name}: ${[...unused].join(', ')}`);
  return {
    ...base,
    ...raw,
    ubl: base.ubl,
    canonical: base.canonical,
    direction: base.direction,
    fields,
  };
}

function compileMapping(raw: RawMapping, registry: SchemaRegistry): Mapping {
  const ubl = raw.ubl ?? '';
  const canonical = raw.canonical ?? '';
  if (!(UBL_DOCUMENTS as readonly string[]).includes(ubl)) {
    throw new MappingError(
      `${ubl} is not a UBL document the adapter declares (${UBL_DOCUMENTS.join(', ')})`,
    );
  }
  if (!registry.has(canonical))
    throw new MappingError(`${canonical} is not a canonical document type`);
  return {
    name: raw.name,
    description: raw.description,
    ubl,
    canonical,
    direction: raw.direction ?? 'both',
    customization: raw.customization,
    split: raw.split === undefined ? undefined : compilePath(raw.split),
    needs: raw.needs,
    when:
      raw.when === undefined
        ? undefined
        : {
            paths: asArray(raw.when.ubl).map(compilePath),
            ignoreCase: raw.when.ignoreCase === true,
            values: new Set(
              raw.when.in.map((v) => (raw.when?.ignoreCase === true ? v.toLowerCase() : v)),
            ),
          },
    fields: raw.fields.map(compileField),
  };
}

function compileField(raw: RawField): Field {
  const alternatives = asArray(raw.ubl).map((source): Alternative => {
    if (typeof source === 'string') return { kind: 'path', path: compilePath(source) };
    if ('resolved' in source) return { kind: 'resolved', resolved: source.resolved, of: source.of };
    return {
      kind: 'path',
      path: compilePath(source.path),
      time: source.time === undefined ? undefined : compilePath(source.time),
      currency: source.currency === undefined ? undefined : compilePath(source.currency),
    };
  });
  const ignoreCase = raw.ignoreCase === true;
  const map =
    raw.map === undefined
      ? undefined
      : new Map(Object.entries(raw.map).map(([k, v]) => [ignoreCase ? k.toLowerCase() : k, v]));
  const reverse = new Map<string, string>();
  for (const [code, value] of Object.entries(raw.map ?? {}))
    if (!reverse.has(value)) reverse.set(value, code);
  return {
    canonical: asArray(raw.canonical),
    alternatives,
    as: raw.as ?? 'text',
    direction: raw.direction ?? 'both',
    const: raw.const,
    default: raw.default,
    map,
    reverse,
    ignoreCase,
    attributes: raw.attributes ?? {},
    times: raw.times,
    orAuthenticated: raw.orAuthenticated === true,
    seller: raw.seller === undefined ? undefined : compilePath(raw.seller),
    sellerItemIds: (raw.sellerItemIds ?? []).map(compilePath),
    item: raw.item === undefined ? undefined : compilePath(raw.item),
    addressName: (raw.addressName ?? []).map(compilePath),
    missing: raw.missing,
    required: raw.required === true,
    each: raw.each === undefined ? undefined : compilePath(raw.each),
    flatten: raw.flatten,
    fields: (raw.fields ?? []).map(compileField),
  };
}

// --- checks against the structure and the canonical schema ----------------------------------

/** The binding node a canonical pointer names, relative to `base`. */
export function bindingAt(base: BindingNode, pointer: string): BindingNode | undefined {
  let node: BindingNode | undefined = base;
  for (const segment of pointer.split('/').slice(1)) {
    if (node === undefined) return undefined;
    if (node.kind === 'array') node = node.items;
    if (node.kind !== 'object') return undefined;
    node = node.byName.get(segment)?.node;
  }
  return node;
}

function requiredPointers(node: ObjectBinding, prefix: string): string[] {
  const out: string[] = [];
  for (const property of node.properties) {
    if (!property.required) continue;
    const pointer = `${prefix}/${property.name}`;
    // An object is filled through its fields (or whole, by an address field: see below).
    if (property.node.kind === 'object' && !property.node.money) {
      const inner = requiredPointers(property.node, pointer);
      out.push(...(inner.length > 0 ? inner : [pointer]));
    } else {
      out.push(pointer);
    }
  }
  return out;
}

const STRUCTURED: ReadonlySet<Conversion> = new Set(['money', 'address']);

/** The conversions an each over values (no fields) may apply at each element itself. */
const VALUE_EACH: ReadonlySet<Conversion> = new Set(['text', 'region']);

/** The structure type a conversion's UBL element must be. */
const ELEMENT_KIND: Partial<Record<Conversion, string>> = {
  party: 'Party',
  item: 'Item',
  address: 'Address',
  region: 'Address',
};

function checkMapping(mapping: Mapping, registry: SchemaRegistry): string[] {
  const problems: string[] = [];
  const binding = registry.binding(mapping.canonical);
  if (binding === undefined) return [`no binding for ${mapping.canonical}`];
  const rootType = mapping.ubl;
  const splitType =
    mapping.split === undefined
      ? rootType
      : typeOfPath(mapping.split, rootType, rootType, problems);
  const filled = new Set<string>();
  const resolvedKinds = new Map<string, Conversion>();

  for (const path of mapping.when?.paths ?? []) typeOfPath(path, rootType, splitType, problems);
  if (mapping.needs !== undefined && bindingAt(binding, mapping.needs)?.kind !== 'array') {
    problems.push(`needs ${mapping.needs}: not an array of ${mapping.canonical}`);
  }
  checkFields(mapping.fields, binding, '', splitType);

  if (mapping.direction !== 'outbound') {
    for (const pointer of requiredPointers(binding, '')) {
      if (pointer === '/header/type' || filled.has(pointer)) continue;
      if ([...filled].some((f) => pointer.startsWith(`${f}/`) || f.startsWith(`${pointer}/`))) {
        continue;
      }
      problems.push(`nothing fills the required ${mapping.canonical} field ${pointer}`);
    }
  }
  return problems;

  function checkFields(
    fields: readonly Field[],
    base: BindingNode,
    prefix: string,
    contextType: string,
  ): void {
    for (const field of fields) {
      const where = field.canonical[0] ?? field.alternatives.map(describe).join(' | ');
      for (const pointer of field.canonical) {
        const node = bindingAt(base, pointer);
        if (node === undefined) problems.push(`${pointer} is not a field of ${mapping.canonical}`);
        if (node !== undefined) checkKind(field, node, pointer);
      }
      if (
        field.const !== undefined &&
        field.canonical.length > 0 &&
        field.alternatives.length > 0
      ) {
        problems.push(`${where}: a constant is either canonical or UBL, not both`);
      }
      if (
        field.const === undefined &&
        field.alternatives.length === 0 &&
        field.each === undefined
      ) {
        problems.push(`${where}: says neither where in UBL nor a constant`);
      }
      if (field.as === 'code' && field.map === undefined)
        problems.push(`${where}: code needs a map`);
      for (const alternative of field.alternatives) {
        if (alternative.kind === 'resolved') {
          const kind = resolvedKinds.get(prefix + alternative.of);
          const wanted = alternative.resolved === 'listPrice' ? 'item' : 'order';
          if (kind !== wanted) {
            problems.push(
              `${where}: ${alternative.resolved} of ${alternative.of} needs an earlier ${wanted} field there`,
            );
          }
          continue;
        }
        const type = typeOfPath(alternative.path, rootType, contextType, problems);
        const wanted = ELEMENT_KIND[field.as];
        if (wanted !== undefined && type !== wanted) {
          problems.push(`${where}: ${alternative.path.source} is a ${type}, not a ${wanted}`);
        }
        for (const extra of [alternative.time, alternative.currency]) {
          if (extra !== undefined) typeOfPath(extra, rootType, contextType, problems);
        }
      }
      for (const path of [field.seller, field.item, ...field.sellerItemIds, ...field.addressName]) {
        if (path !== undefined) typeOfPath(path, rootType, contextType, problems);
      }
      if (field.flatten !== undefined && field.each === undefined) {
        problems.push(`${where}: flatten goes with each`);
      }
      if (field.each !== undefined) {
        const pointer = field.canonical[0];
        const array = pointer === undefined ? undefined : bindingAt(base, pointer);
        if (array?.kind !== 'array') {
          problems.push(`${where}: each needs a canonical array`);
          continue;
        }
        const itemType = typeOfPath(field.each, rootType, contextType, problems);
        if (field.direction !== 'out') filled.add(prefix + (pointer ?? ''));
        if (
          field.flatten !== undefined &&
          bindingAt(array.items, field.flatten)?.kind !== 'array'
        ) {
          problems.push(`${where}: flatten ${field.flatten} is not an array of its items`);
        }
        if (field.fields.length === 0) {
          const wanted = ELEMENT_KIND[field.as];
          if (!VALUE_EACH.has(field.as) || array.items.kind !== 'string') {
            problems.push(
              `${where}: an each without fields converts string values as text or region`,
            );
          } else if (wanted !== undefined && itemType !== wanted) {
            problems.push(`${where}: ${field.each.source} is a ${itemType}, not a ${wanted}`);
          }
          continue;
        }
        checkFields(field.fields, array.items, `${prefix}${pointer ?? ''}/*`, itemType);
        continue;
      }
      for (const pointer of field.canonical) {
        if (field.direction !== 'out' && prefix === '') filled.add(pointer);
        if (field.as === 'item' || field.as === 'order')
          resolvedKinds.set(prefix + pointer, field.as);
      }
      if (field.orAuthenticated && field.direction !== 'out') filled.add('/header/sender');
    }
  }

  function checkKind(field: Field, node: BindingNode, pointer: string): void {
    const integer = field.as === 'integer' || field.as === 'quantity' || field.as === 'position';
    const structured = STRUCTURED.has(field.as);
    if (field.const !== undefined) return;
    if (field.as === 'money' && !node.money)
      problems.push(`${pointer}: money into a field that is not money`);
    if (field.as === 'address' && (node.kind !== 'object' || node.money)) {
      problems.push(`${pointer}: an address into a field that is not an object`);
    }
    if (integer && node.kind !== 'integer')
      problems.push(`${pointer}: ${field.as} into a field that is not an integer`);
    if (!integer && !structured && field.each === undefined && node.kind !== 'string') {
      problems.push(`${pointer}: ${field.as} into a field that is not a string`);
    }
  }
}

function describe(alternative: Alternative): string {
  return alternative.kind === 'path'
    ? alternative.path.source
    : `${alternative.resolved} of ${alternative.of}`;
}

/** The structure type a path ends at (checking every step, predicates included). */
function typeOfPath(
  path: UblPath,
  rootType: string,
  contextType: string,
  problems: string[],
): string {
  const start = path.absolute ? rootType : contextType;
  const problem = checkSteps(
    start,
    path.steps.map((s) => s.qname),
  );
  if (problem !== undefined) {
    problems.push(`${path.source}: ${problem}`);
    return '?';
  }
  let type = start;
  for (const step of path.steps) {
    type = typeOf(step.qname);
    for (const predicate of step.predicates) typeOfPath(predicate.path, rootType, type, problems);
  }
  return type;
}

function mappingSet(all: readonly Mapping[]): MappingSet {
  const inbound = all.filter((m) => m.direction !== 'outbound');
  return {
    all,
    inboundRoots: [...new Set(inbound.map((m) => m.ubl))].sort(),
    inboundFor(root, customizationId) {
      const candidates = inbound.filter(
        (m) =>
          m.ubl === root &&
          (m.customization === undefined || customizationId?.startsWith(m.customization) === true),
      );
      const rank = (m: Mapping) =>
        (m.customization !== undefined ? 0 : 2) + (m.when !== undefined ? 0 : 1);
      return [...candidates].sort((a, b) => rank(a) - rank(b));
    },
    outboundFor(type) {
      return all.find(
        (m) => m.canonical === type && m.direction !== 'inbound' && m.customization === undefined,
      );
    },
  };
}
