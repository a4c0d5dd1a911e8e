/**
 * The mapping engine: walks a compiled mapping over a UBL element tree (decode) or a canonical
 * document (encode). It knows conversions, not document types — everything type-specific is in
 * the mapping files.
 *
 * Decoding collects every problem instead of stopping at the first, each at the canonical
 * pointer it concerns and naming the UBL path(s) that were looked at, in one of three kinds:
 * a mapping problem (the document does not carry what the canonical form needs, or carries it
 * malformed), an unknown party or item (the identifier that failed), or a business refusal the
 * mapping declares (an order without its e-check).
 */
import type { CanonicalDocument } from '../../gateway/core/document.ts';
import type { ErrorCode, ErrorDetail } from '../../gateway/core/errors.ts';
import {
  GATEWAY_SCHEME,
  NAME_SCHEME,
  normalizeIdentifier,
  type ItemMatch,
  type OrderMatch,
  type PartnerDirectory,
  type PartyIdentifier,
} from '../../gateway/core/partners/identification.ts';
import type { BindingNode, ObjectBinding } from '../codec/binding.ts';
import {
  base64Text,
  ConversionError,
  COUNT_UNIT,
  dateOf,
  dateTimeOf,
  endOfDay,
  normalizeDecimal,
  quantityOf,
  splitDateTime,
  timesDecimal,
  toBase64,
  wholeNumber,
} from './conversions.ts';
import { bindingAt, type Alternative, type Field, type Mapping } from './mapping.ts';
import {
  compilePath,
  describePath,
  ensurePath,
  readValue,
  selectAll,
  selectFirst,
  textOf,
  writeValue,
  type UblPath,
} from './ubl-path.ts';
import { documentNamespace, element, type UblElement } from './ubl-xml.ts';

export interface EngineContext {
  directory: PartnerDirectory;
  /** The partner the document came from (authenticated), when known. */
  partnerId: string | undefined;
}

/**
 * deferred: a value only the gateway's records give (the carrier on an order), asked for where
 * there are none — `convert` with an alias file. It never arises inside the gateway.
 */
type ProblemKind = 'mapping' | 'not-found' | 'business' | 'deferred';

interface Problem extends ErrorDetail {
  kind: ProblemKind;
}

export type DecodeOutcome =
  | {
      ok: true;
      documents: CanonicalDocument[];
      /** `${document index}:${pointer}` → the UBL path its value came from, for error messages. */
      sources: ReadonlyMap<string, string>;
    }
  | {
      ok: false;
      code: ErrorCode;
      errors: ErrorDetail[];
      /** What could be read (for the messageId of a rejection receipt, and for `convert`). */
      partial: CanonicalDocument | undefined;
    };

// Paths the conversions themselves use, compiled once.
const P = {
  endpoint: compilePath('cbc:EndpointID'),
  partyId: compilePath('cac:PartyIdentification/cbc:ID'),
  companyId: compilePath('cac:PartyLegalEntity/cbc:CompanyID'),
  partyName: compilePath('cac:PartyName/cbc:Name'),
  catalogueItem: compilePath('cac:CatalogueItemIdentification/cbc:ID'),
  sellersItem: compilePath('cac:SellersItemIdentification/cbc:ID'),
  standardItem: compilePath('cac:StandardItemIdentification/cbc:ID'),
  street: compilePath('cbc:StreetName'),
  building: compilePath('cbc:BuildingNumber'),
  additionalStreet: compilePath('cbc:AdditionalStreetName'),
  addressLine: compilePath('cac:AddressLine/cbc:Line'),
  city: compilePath('cbc:CityName'),
  region: compilePath('cbc:CountrySubentity'),
  regionCode: compilePath('cbc:CountrySubentityCode'),
  postalZone: compilePath('cbc:PostalZone'),
  country: compilePath('cac:Country/cbc:IdentificationCode'),
};

const GTIN = /^\d{8,14}$/;

// --- canonical objects ------------------------------------------------------------------------

type Json = Record<string, unknown>;

/** The value at a canonical JSON pointer, if any. */
export function getAt(value: unknown, pointer: string): unknown {
  let node = value;
  for (const segment of pointer.split('/').slice(1)) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Json)[segment];
  }
  return node;
}

function textAt(value: unknown, pointer: string): string {
  const found = getAt(value, pointer);
  return typeof found === 'string' ? found : '';
}

function setAt(target: Json, pointer: string, value: unknown): void {
  const segments = pointer.split('/').slice(1);
  const last = segments.pop() ?? '';
  let node = target;
  for (const segment of segments) {
    node[segment] ??= {};
    node = node[segment] as Json;
  }
  node[last] = value;
}

function isRequired(base: BindingNode, pointer: string): boolean {
  let node: BindingNode | undefined = base;
  for (const segment of pointer.split('/').slice(1)) {
    if (node?.kind === 'array') node = node.items;
    if (node?.kind !== 'object') return false;
    const property: ObjectBinding['properties'][number] | undefined = node.byName.get(segment);
    if (property?.required !== true) return false;
    node = property.node;
  }
  return true;
}

// --- decoding ---------------------------------------------------------------------------------

interface Scope {
  root: UblElement;
  context: UblElement;
  /** Where the context is, for messages: "cac:QuotationLine[2]". */
  where: string;
  /** Canonical pointer of the object being filled ('' for the document). */
  prefix: string;
  /** The binding of that object. */
  binding: BindingNode;
  target: Json;
}

interface Resolution {
  item?: ItemMatch;
  /** null: the gateway looked and found no such order. */
  order?: OrderMatch | null;
}

class Decoder {
  readonly problems: Problem[] = [];
  private readonly parties = new Map<UblElement, Promise<string | undefined>>();
  private readonly resolved = new Map<string, Resolution>();
  /** `${document index}:${pointer}` → the UBL path the value came from. */
  readonly sources = new Map<string, string>();
  document = 0;

  readonly mapping: Mapping;
  readonly context: EngineContext;

  constructor(mapping: Mapping, context: EngineContext) {
    this.mapping = mapping;
    this.context = context;
  }

  problem(kind: ProblemKind, path: string, code: string, message: string): void {
    this.problems.push({ kind, path, code, message });
  }

  async fields(fields: readonly Field[], scope: Scope): Promise<void> {
    for (const field of fields) {
      if (field.direction === 'out' || field.canonical.length === 0) continue;
      const pointer = field.canonical[0] ?? '';
      const target = scope.prefix + pointer;
      if (field.const !== undefined) {
        setAt(scope.target, pointer, field.const);
        continue;
      }
      if (field.each !== undefined) {
        await this.each(field, field.each, pointer, scope);
        continue;
      }
      const value = await this.value(field, scope, target);
      if (value !== undefined) setAt(scope.target, pointer, value);
    }
  }

  private async each(field: Field, each: UblPath, pointer: string, scope: Scope): Promise<void> {
    const items: unknown[] = [];
    const arrayBinding = bindingAt(scope.binding, pointer);
    const itemBinding = arrayBinding?.kind === 'array' ? arrayBinding.items : scope.binding;
    const elements = selectAll(scope.context, scope.root, each);
    for (const [i, node] of elements.entries()) {
      const where = `${describePath(each, scope.where)}[${i + 1}]`;
      if (field.fields.length === 0) {
        const value = this.ownValue(
          field,
          node,
          scope.root,
          where,
          `${scope.prefix}${pointer}/${i}`,
        );
        if (value !== undefined) items.push(value);
        continue;
      }
      const item: Json = {};
      await this.fields(field.fields, {
        root: scope.root,
        context: node,
        where,
        prefix: `${scope.prefix}${pointer}/${i}`,
        binding: itemBinding,
        target: item,
      });
      items.push(field.flatten === undefined ? item : regroupable(item, field.flatten));
    }
    if (field.flatten !== undefined)
      items.splice(0, items.length, ...regroup(items as Json[], field.flatten));
    const minItems = arrayBinding?.schema.minItems;
    if (items.length > 0 || (isRequired(scope.binding, pointer) && minItems === undefined)) {
      setAt(scope.target, pointer, items);
    } else if (isRequired(scope.binding, pointer)) {
      this.problem(
        'mapping',
        scope.prefix + pointer,
        'UBL_FIELD_MISSING',
        `${this.mapping.canonical} needs ${pointer.slice(1)}: expected at least one ${describePath(each, scope.where)}`,
      );
    }
  }

  /** An each over values: the element itself converted (text, or a region code). */
  private ownValue(
    field: Field,
    node: UblElement,
    root: UblElement,
    where: string,
    target: string,
  ): string | undefined {
    const value = field.as === 'region' ? regionOf(node, root) : textOf(node);
    if (value === undefined || value === '') {
      this.problem('mapping', target, 'UBL_FIELD_MISSING', `${where} holds no value`);
      return undefined;
    }
    return value;
  }

  /** The first alternative that yields a value; problems recorded; undefined when none does. */
  private async value(field: Field, scope: Scope, target: string): Promise<unknown> {
    const unmatched: string[] = [];
    let deferred: string | undefined;
    for (const alternative of field.alternatives) {
      try {
        const outcome = await this.alternative(field, alternative, scope, target);
        if (outcome === FAILED) return undefined;
        if (outcome instanceof Deferred) deferred = outcome.description;
        if (outcome === undefined || outcome instanceof Deferred) continue;
        if (outcome instanceof Unmatched) {
          unmatched.push(outcome.description);
          continue;
        }
        if (alternative.kind === 'path') {
          this.sources.set(
            `${this.document}:${target}`,
            describePath(alternative.path, scope.where),
          );
        }
        return outcome.value;
      } catch (error) {
        if (!(error instanceof ConversionError)) throw error;
        const at =
          alternative.kind === 'path' ? describePath(alternative.path, scope.where) : target;
        this.problem('mapping', target, 'UBL_VALUE_INVALID', `${at}: ${error.message}`);
        return undefined;
      }
    }
    if (unmatched.length > 0) {
      const known = [...(field.map?.keys() ?? [])].map((k) => `"${k}"`).join(', ');
      this.problem(
        'mapping',
        target,
        'UBL_VALUE_INVALID',
        `${unmatched.join('; ')}: not one of ${known}`,
      );
      return undefined;
    }
    if (field.default !== undefined) return field.default;
    if (field.orAuthenticated && this.context.partnerId !== undefined)
      return this.context.partnerId;
    if (field.missing !== undefined) {
      this.problem('business', target, field.missing.code, field.missing.message);
      return undefined;
    }
    if (deferred !== undefined) {
      this.problem('deferred', target, 'RESOLVED_BY_GATEWAY', deferred);
      return undefined;
    }
    if (field.required || isRequired(scope.binding, target.slice(scope.prefix.length))) {
      this.problem(
        'mapping',
        target,
        'UBL_FIELD_MISSING',
        `${this.mapping.canonical} needs ${target.slice(1)}: expected ${this.expected(field, scope)}`,
      );
    }
    return undefined;
  }

  private expected(field: Field, scope: Scope): string {
    const names = field.alternatives.map((a) =>
      a.kind === 'path'
        ? describePath(a.path, scope.where)
        : a.resolved === 'listPrice'
          ? `the seller's list price of the item (${a.of.slice(1)})`
          : `the carrier on the order (${a.of.slice(1)}), which the gateway looks up`,
    );
    return names.join(', or ');
  }

  private async alternative(
    field: Field,
    alternative: Alternative,
    scope: Scope,
    target: string,
  ): Promise<{ value: unknown } | Unmatched | Deferred | typeof FAILED | undefined> {
    if (alternative.kind === 'resolved') return this.resolvedValue(alternative, scope, target);
    const { path } = alternative;
    const { context, root } = scope;
    switch (field.as) {
      case 'text': {
        const value = readValue(context, root, path);
        return value === undefined ? undefined : { value };
      }
      case 'integer':
      case 'decimal':
      case 'date':
      case 'endOfDay':
      case 'base64': {
        const text = readValue(context, root, path);
        if (text === undefined) return undefined;
        const convert = {
          integer: (t: string) => wholeNumber(t),
          decimal: normalizeDecimal,
          date: dateOf,
          endOfDay,
          base64: base64Text,
        }[field.as];
        return { value: convert(text) };
      }
      case 'dateTime': {
        const date = readValue(context, root, path);
        if (date === undefined) return undefined;
        const time =
          alternative.time === undefined ? undefined : readValue(context, root, alternative.time);
        return { value: dateTimeOf(date, time) };
      }
      case 'money': {
        const node = selectFirst(context, root, path);
        if (node === undefined || textOf(node) === '') return undefined;
        const currency =
          node.attributes.get('currencyID')?.trim() ??
          (alternative.currency === undefined
            ? undefined
            : readValue(context, root, alternative.currency));
        if (currency === undefined) throw new ConversionError('an amount needs its currencyID');
        return { value: { amount: normalizeDecimal(textOf(node)), currency } };
      }
      case 'quantity': {
        const node = selectFirst(context, root, path);
        if (node === undefined || textOf(node) === '') return undefined;
        return { value: quantityOf(textOf(node), node.attributes.get('unitCode')) };
      }
      case 'code':
        return this.code(field, path, scope);
      case 'region': {
        const node = selectFirst(context, root, path);
        const value = node === undefined ? undefined : regionOf(node, root);
        return value === undefined ? undefined : { value };
      }
      case 'party':
      case 'reservation':
      case 'order':
      case 'item':
      case 'address':
        return this.resolving(field, path, scope, target);
      case 'position':
        return undefined;
    }
  }

  private code(
    field: Field,
    path: UblPath,
    scope: Scope,
  ): { value: unknown } | Unmatched | undefined {
    const text = readValue(scope.context, scope.root, path);
    if (text === undefined) return undefined;
    const value = field.map?.get(field.ignoreCase ? text.toLowerCase() : text);
    return value === undefined
      ? new Unmatched(`${describePath(path, scope.where)} is "${text}"`)
      : { value };
  }

  private async resolving(
    field: Field,
    path: UblPath,
    scope: Scope,
    target: string,
  ): Promise<{ value: unknown } | typeof FAILED | undefined> {
    const { context, root } = scope;
    switch (field.as) {
      case 'party': {
        const node = selectFirst(context, root, path);
        if (node === undefined) return undefined;
        const partner = await this.party(node, describePath(path, scope.where), target);
        return partner === undefined ? FAILED : { value: partner };
      }
      case 'item': {
        const node = selectFirst(context, root, path);
        if (node === undefined) return undefined;
        const match = await this.item(field, node, scope, describePath(path, scope.where), target);
        if (match === undefined) return FAILED;
        this.resolved.set(target, { item: match });
        return { value: match.itemId };
      }
      case 'order': {
        const reference = readValue(context, root, path);
        if (reference === undefined) return undefined;
        const lookup = this.context.directory.references;
        if (lookup === undefined || this.context.partnerId === undefined)
          return { value: reference };
        const match = await lookup.findOrder(reference, this.context.partnerId);
        this.resolved.set(target, { order: match ?? null });
        return { value: match?.orderId ?? reference };
      }
      case 'reservation': {
        const reference = readValue(context, root, path);
        if (reference === undefined) return undefined;
        const lookup = this.context.directory.references;
        if (lookup === undefined) return { value: reference };
        const itemNode =
          field.item === undefined ? undefined : selectFirst(context, root, field.item);
        const item =
          itemNode === undefined ? undefined : await this.findItem(field, itemNode, scope);
        return { value: (await lookup.findReservation(reference, item?.itemId)) ?? reference };
      }
      default: {
        const node = selectFirst(context, root, path);
        return node === undefined
          ? undefined
          : { value: this.address(field, node, scope, path, target) };
      }
    }
  }

  private resolvedValue(
    alternative: Extract<Alternative, { kind: 'resolved' }>,
    scope: Scope,
    target: string,
  ): { value: unknown } | Deferred | typeof FAILED | undefined {
    const resolution = this.resolved.get(scope.prefix + alternative.of);
    if (alternative.resolved === 'listPrice') {
      const price = resolution?.item?.listPrice;
      return price === undefined ? undefined : { value: price };
    }
    if (resolution?.order === null) {
      const reference = textAt(scope.target, alternative.of);
      this.problem(
        'not-found',
        scope.prefix + alternative.of,
        'NOT_FOUND',
        `no order ${reference} of yours (the carrier, not named in the document, comes from the order): ${target.slice(1)} cannot be given`,
      );
      return FAILED;
    }
    if (resolution?.order === undefined) {
      const reference = textAt(scope.target, alternative.of);
      return reference === ''
        ? undefined
        : new Deferred(`not in the document: the gateway takes it from order ${reference}`);
    }
    return { value: resolution.order.carrierId };
  }

  /** Looked up once per party element: a line's seller is the document's seller. */
  private findParty(node: UblElement): Promise<string | undefined> {
    let pending = this.parties.get(node);
    if (pending === undefined) {
      pending = this.context.directory.findParty(partyIdentifiers(node));
      this.parties.set(node, pending);
    }
    return pending;
  }

  /** The partner a UBL party names, through its identifier aliases; the failure recorded. */
  async party(node: UblElement, where: string, target: string): Promise<string | undefined> {
    const partner = await this.findParty(node);
    if (partner !== undefined) return partner;
    const identifiers = partyIdentifiers(node);
    this.problem(
      identifiers.length === 0 ? 'mapping' : 'not-found',
      target,
      identifiers.length === 0 ? 'UBL_FIELD_MISSING' : 'UNKNOWN_PARTY',
      identifiers.length === 0
        ? `${where} carries no EndpointID, PartyIdentification, PartyLegalEntity/CompanyID or PartyName`
        : `no registered partner is known by ${identifiers.map(describeIdentifier).join(', ')} (${where}): register an alias for it`,
    );
    return undefined;
  }

  private sellerOf(field: Field, scope: Scope): Promise<string | undefined> | undefined {
    if (field.seller === undefined) return undefined;
    const node = selectFirst(scope.context, scope.root, field.seller);
    return node === undefined ? undefined : this.findParty(node);
  }

  private async itemQuery(field: Field, node: UblElement, scope: Scope) {
    const values = (path: UblPath, base: UblElement) =>
      selectAll(base, scope.root, path)
        .map(textOf)
        .filter((v) => v !== '');
    return {
      sellerId: await this.sellerOf(field, scope),
      itemIds: values(P.catalogueItem, node),
      sellerItemIds: [
        ...values(P.sellersItem, node),
        ...field.sellerItemIds.flatMap((path) => values(path, scope.context)),
      ],
      gtins: values(P.standardItem, node).filter((v) => GTIN.test(v)),
    };
  }

  private async findItem(
    field: Field,
    node: UblElement,
    scope: Scope,
  ): Promise<ItemMatch | undefined> {
    const query = await this.itemQuery(field, node, scope);
    if (query.itemIds.length + query.sellerItemIds.length + query.gtins.length === 0)
      return undefined;
    return this.context.directory.findItem(query);
  }

  private async item(
    field: Field,
    node: UblElement,
    scope: Scope,
    where: string,
    target: string,
  ): Promise<ItemMatch | undefined> {
    const query = await this.itemQuery(field, node, scope);
    const tried = [
      ...query.itemIds.map((id) => `gateway item ${id}`),
      ...query.sellerItemIds.map((id) =>
        query.sellerId === undefined
          ? `seller item ${id} (of an unregistered seller)`
          : `${query.sellerId}'s item ${id}`,
      ),
      ...query.gtins.map((id) => `GTIN ${id}`),
    ];
    if (tried.length === 0) {
      this.problem(
        'mapping',
        target,
        'UBL_FIELD_MISSING',
        `${where} carries no item identifier: expected cac:SellersItemIdentification/cbc:ID, cac:StandardItemIdentification/cbc:ID (GTIN) or cac:CatalogueItemIdentification/cbc:ID`,
      );
      return undefined;
    }
    const match = await this.context.directory.findItem(query);
    if (match === undefined) {
      this.problem(
        'not-found',
        target,
        'UNKNOWN_ITEM',
        `no item is known as ${tried.join(', ')} (${where})`,
      );
    }
    return match;
  }

  private address(
    field: Field,
    node: UblElement,
    scope: Scope,
    path: UblPath,
    target: string,
  ): Json {
    const read = (p: UblPath) => readValue(node, scope.root, p);
    const lines = selectAll(node, scope.root, P.addressLine)
      .map(textOf)
      .filter((l) => l !== '');
    const street = [read(P.street), read(P.building)].filter((v) => v !== undefined).join(' ');
    const line1 = street !== '' ? street : lines.shift();
    const line2 = read(P.additionalStreet) ?? lines.shift();
    let name: string | undefined;
    for (const namePath of field.addressName) {
      name = readValue(scope.context, scope.root, namePath);
      if (name !== undefined) break;
    }
    const address: Json = {};
    const base = describePath(path, scope.where);
    const parts: [string, string | undefined, string][] = [
      ['name', name, field.addressName.map((p) => describePath(p, scope.where)).join(' or ')],
      ['line1', line1, `${base}/cbc:StreetName or ${base}/cac:AddressLine/cbc:Line`],
      ['line2', line2, ''],
      ['city', read(P.city), `${base}/cbc:CityName`],
      ['region', read(P.region), ''],
      ['postalCode', read(P.postalZone), `${base}/cbc:PostalZone`],
      ['country', read(P.country), `${base}/cac:Country/cbc:IdentificationCode`],
    ];
    for (const [key, value, expected] of parts) {
      if (value !== undefined && value !== '') address[key] = value;
      else if (expected !== '') {
        this.problem(
          'mapping',
          `${target}/${key}`,
          'UBL_FIELD_MISSING',
          `${this.mapping.canonical} needs ${target.slice(1)}/${key}: expected ${expected}`,
        );
      }
    }
    return address;
  }
}

/** A code the mapping does not list: the next alternative may still match. */
class Unmatched {
  readonly description: string;
  constructor(description: string) {
    this.description = description;
  }
}

/** A value the gateway's records would give (see 'deferred'). */
class Deferred {
  readonly description: string;
  constructor(description: string) {
    this.description = description;
  }
}

const FAILED = Symbol('failed');

/**
 * A region code from an Address: its CountrySubentityCode (ISO 3166-2, JP-13), else its
 * country's IdentificationCode (ISO 3166-1, JP).
 */
function regionOf(node: UblElement, root: UblElement): string | undefined {
  return readValue(node, root, P.regionCode) ?? readValue(node, root, P.country);
}

/** A region code into an Address: the country always, the subdivision code when it has one. */
function writeRegion(node: UblElement, root: UblElement, code: string): void {
  writeValue(node, root, P.country, code.slice(0, 2));
  if (code.length > 2) writeValue(node, root, P.regionCode, code);
}

/** A flattened element read back: its one entry of the flattened array, as that array. */
function regroupable(item: Json, flatten: string): Json {
  const entry = getAt(item, flatten);
  setAt(item, flatten, entry === undefined ? [] : [entry]);
  return item;
}

/**
 * Consecutive flattened elements whose item fields are the same are one item with all their
 * entries: the inverse of writing one element per entry.
 */
function regroup(items: readonly Json[], flatten: string): Json[] {
  const out: Json[] = [];
  const key = flatten.slice(1);
  let last: { item: Json; rest: string } | undefined;
  for (const item of items) {
    const rest = JSON.stringify({ ...item, [key]: undefined });
    const entries = (item[key] as unknown[] | undefined) ?? [];
    if (last !== undefined && last.rest === rest) {
      (last.item[key] as unknown[]).push(...entries);
      continue;
    }
    last = { item, rest };
    out.push(item);
  }
  return out;
}

function describeIdentifier(identifier: PartyIdentifier): string {
  return identifier.scheme === NAME_SCHEME
    ? `name "${identifier.value}"`
    : `${identifier.scheme} ${identifier.value}`;
}

/** EndpointID, each PartyIdentification/ID, PartyLegalEntity/CompanyID, then PartyName/Name. */
export function partyIdentifiers(party: UblElement): PartyIdentifier[] {
  const out: PartyIdentifier[] = [];
  for (const path of [P.endpoint, P.partyId, P.companyId]) {
    for (const node of selectAll(party, party, path)) {
      const value = textOf(node);
      if (value !== '')
        out.push(normalizeIdentifier({ scheme: node.attributes.get('schemeID') ?? '', value }));
    }
  }
  for (const node of selectAll(party, party, P.partyName)) {
    const value = textOf(node);
    if (value !== '') out.push({ scheme: NAME_SCHEME, value });
  }
  return out;
}

function outcomeCode(problems: readonly Problem[]): ErrorCode {
  if (problems.some((p) => p.kind === 'mapping')) return 'SCHEMA_VIOLATION';
  if (problems.some((p) => p.kind === 'business')) return 'BUSINESS_RULE';
  return 'NOT_FOUND';
}

/** Does the mapping's `when` hold for this document? */
export function mappingApplies(mapping: Mapping, root: UblElement): boolean {
  if (mapping.when === undefined) return true;
  for (const path of mapping.when.paths) {
    const value = readValue(root, root, path);
    if (value === undefined) continue;
    return mapping.when.values.has(mapping.when.ignoreCase ? value.toLowerCase() : value);
  }
  return false;
}

/**
 * UBL → canonical: one document, or one per `split` element (a quotation's lines), all with the
 * document's own header. Not yet schema-validated: the caller does that with its registry.
 */
export async function decodeWithMapping(
  root: UblElement,
  mapping: Mapping,
  binding: ObjectBinding,
  context: EngineContext,
): Promise<DecodeOutcome> {
  const decoder = new Decoder(mapping, context);
  const contexts = mapping.split === undefined ? [root] : selectAll(root, root, mapping.split);
  const documents: CanonicalDocument[] = [];
  if (contexts.length === 0 && mapping.split !== undefined) {
    decoder.problem(
      'mapping',
      '/body',
      'UBL_FIELD_MISSING',
      `${mapping.ubl} has no ${mapping.split.source}`,
    );
  }
  for (const [i, node] of contexts.entries()) {
    decoder.document = i;
    const target: Json = { header: { type: mapping.canonical }, body: {} };
    await decoder.fields(mapping.fields, {
      root,
      context: node,
      where: mapping.split === undefined ? '' : `${mapping.split.source}[${i + 1}]`,
      prefix: '',
      binding,
      target,
    });
    documents.push(target as unknown as CanonicalDocument);
  }
  if (decoder.problems.length > 0) {
    return {
      ok: false,
      code: outcomeCode(decoder.problems),
      errors: decoder.problems.map(({ path, code, message }) => ({ path, code, message })),
      partial: documents[0],
    };
  }
  return { ok: true, documents, sources: decoder.sources };
}

// --- encoding ---------------------------------------------------------------------------------

export interface EncodeOptions {
  /**
   * Partner id → the identifier alias its party is written with as cbc:EndpointID (the
   * receiving partner's own GLN, say), beside PartyIdentification in the gateway's scheme.
   */
  aliases?: ReadonlyMap<string, PartyIdentifier>;
}

interface WriteScope {
  root: UblElement;
  context: UblElement;
  value: unknown;
  index: number;
  aliases: ReadonlyMap<string, PartyIdentifier>;
}

/** Canonical → a UBL element tree (not yet ordered or checked: see structure.ts). */
export function encodeWithMapping(
  doc: CanonicalDocument,
  mapping: Mapping,
  options: EncodeOptions = {},
): UblElement {
  const root = element(documentNamespace(mapping.ubl), mapping.ubl);
  const context = mapping.split === undefined ? root : ensurePath(root, root, mapping.split, true);
  writeFields(mapping.fields, {
    root,
    context,
    value: doc,
    index: 0,
    aliases: options.aliases ?? new Map(),
  });
  return root;
}

/** The items an each writes: each item, or with flatten each item once per entry of its array. */
function eachViews(items: readonly unknown[], flatten: string | undefined): unknown[] {
  if (flatten === undefined) return [...items];
  const key = flatten.slice(1);
  return items.flatMap((item) => {
    const entries: unknown = getAt(item, flatten);
    return Array.isArray(entries)
      ? entries.map((entry: unknown) => ({ ...(item as Json), [key]: entry }))
      : [];
  });
}

function firstPath(field: Field): Extract<Alternative, { kind: 'path' }> | undefined {
  return field.alternatives.find(
    (a): a is Extract<Alternative, { kind: 'path' }> => a.kind === 'path',
  );
}

function writeFields(fields: readonly Field[], scope: WriteScope): void {
  for (const field of fields) {
    if (field.direction === 'in') continue;
    const alternative = firstPath(field);
    if (field.as === 'position' && alternative !== undefined) {
      writeValue(scope.context, scope.root, alternative.path, String(scope.index + 1));
      continue;
    }
    if (field.canonical.length === 0) {
      if (alternative === undefined) continue;
      const node =
        field.const === ''
          ? ensurePath(scope.context, scope.root, alternative.path)
          : writeValue(scope.context, scope.root, alternative.path, String(field.const));
      for (const [key, value] of Object.entries(field.attributes)) node.attributes.set(key, value);
      continue;
    }
    if (field.const !== undefined) continue;
    if (field.each !== undefined) {
      const items = getAt(scope.value, field.canonical[0] ?? '');
      if (!Array.isArray(items)) continue;
      eachViews(items, field.flatten).forEach((item, index) => {
        const node = ensurePath(scope.context, scope.root, field.each as UblPath, true);
        if (field.fields.length > 0) {
          writeFields(field.fields, { ...scope, context: node, value: item, index });
        } else if (field.as === 'region') {
          writeRegion(node, scope.root, String(item));
        } else {
          node.text = String(item);
        }
      });
      continue;
    }
    const value = field.canonical.map((p) => getAt(scope.value, p)).find((v) => v !== undefined);
    if (value === undefined || alternative === undefined) continue;
    writeField(field, alternative, value, scope);
  }
}

function writeField(
  field: Field,
  alternative: Extract<Alternative, { kind: 'path' }>,
  value: unknown,
  scope: WriteScope,
): void {
  const { context, root } = scope;
  const { path } = alternative;
  const write = (text: string) => {
    const node = writeValue(context, root, path, text);
    for (const [key, attribute] of Object.entries(field.attributes))
      node.attributes.set(key, attribute);
    return node;
  };
  switch (field.as) {
    case 'money': {
      const money = value as { amount: string; currency: string };
      const factor = field.times === undefined ? 1 : Number(getAt(scope.value, field.times));
      write(timesDecimal(money.amount, factor)).attributes.set('currencyID', money.currency);
      return;
    }
    case 'quantity':
      write(String(value)).attributes.set('unitCode', COUNT_UNIT);
      return;
    case 'dateTime': {
      const { date, time } = splitDateTime(String(value));
      write(date);
      if (alternative.time !== undefined) writeValue(context, root, alternative.time, time);
      return;
    }
    case 'endOfDay':
      write(splitDateTime(String(value)).date);
      return;
    case 'code':
      write(field.reverse?.get(String(value)) ?? String(value));
      return;
    case 'base64':
      write(toBase64(String(value)));
      return;
    case 'party': {
      // The gateway's scheme always, so the party reads back without aliases; the partner's
      // own identifier as the endpoint when it registered one.
      const party = ensurePath(context, root, path);
      const alias = scope.aliases.get(String(value));
      const endpoint = alias ?? { scheme: GATEWAY_SCHEME, value: String(value) };
      writeValue(party, root, P.endpoint, endpoint.value).attributes.set(
        'schemeID',
        endpoint.scheme,
      );
      writeValue(party, root, P.partyId, String(value)).attributes.set('schemeID', GATEWAY_SCHEME);
      return;
    }
    case 'region':
      writeRegion(ensurePath(context, root, path), root, String(value));
      return;
    case 'item':
      writeValue(ensurePath(context, root, path), root, P.catalogueItem, String(value));
      return;
    case 'address': {
      const address = value as Record<string, string | undefined>;
      const node = ensurePath(context, root, path);
      const namePath = field.addressName[0];
      if (namePath !== undefined && address.name !== undefined)
        writeValue(context, root, namePath, address.name);
      const parts: [UblPath, string | undefined][] = [
        [P.street, address.line1],
        [P.additionalStreet, address.line2],
        [P.city, address.city],
        [P.postalZone, address.postalCode],
        [P.region, address.region],
        [P.country, address.country],
      ];
      for (const [partPath, part] of parts)
        if (part !== undefined) writeValue(node, root, partPath, part);
      return;
    }
    default:
      write(typeof value === 'string' ? value : String(value));
  }
}
