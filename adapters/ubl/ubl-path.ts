/**
 * Paths into a UBL document, as mapping files write them:
 *
 *   cac:LineItem/cac:Price/cbc:PriceAmount          relative to the current element (a line)
 *   /cbc:IssueDate                                  from the document root
 *   cbc:PriceAmount/@currencyID                     an attribute (last step only)
 *   cac:AdditionalDocumentReference[cbc:DocumentType='ECheck']/cbc:ID   a predicate on a child
 *
 * Prefixes are the mapping's (cac, cbc, ext), resolved to namespace URIs when the path is
 * compiled, so matching compares URIs and local names and never the document's prefixes.
 * Compiled once at start-up; evaluation is a walk over children, no string work per document.
 */
import { element, MAPPING_PREFIXES, type UblElement } from './ubl-xml.ts';

export interface Step {
  ns: string;
  name: string;
  /** `cac:X` as written, for messages and for the structure checks. */
  qname: string;
  predicates: readonly Predicate[];
}

export interface Predicate {
  path: UblPath;
  value: string;
}

export interface UblPath {
  /** As written in the mapping: what error messages name. */
  readonly source: string;
  readonly absolute: boolean;
  readonly steps: readonly Step[];
  readonly attribute: string | undefined;
}

const STEP = /^([a-z]+):([A-Z][A-Za-z0-9]*)((?:\[[^\]]+\])*)$/;
const PREDICATE = /\[([^=\]]+)='([^']*)'\]/g;

export class PathError extends Error {}

export function compilePath(source: string): UblPath {
  const absolute = source.startsWith('/');
  const parts = (absolute ? source.slice(1) : source).split(/\/(?![^[]*\])/);
  let attribute: string | undefined;
  const last = parts[parts.length - 1];
  if (last?.startsWith('@') === true) {
    attribute = last.slice(1);
    parts.pop();
    if (!/^[A-Za-z][A-Za-z0-9]*$/.test(attribute)) {
      throw new PathError(`"${source}": bad attribute name @${attribute}`);
    }
  }
  const steps = parts.map((part) => compileStep(part, source));
  if (steps.length === 0 && attribute === undefined && !absolute) {
    throw new PathError(`"${source}" selects nothing`);
  }
  return { source, absolute, steps, attribute };
}

function compileStep(part: string, source: string): Step {
  const match = STEP.exec(part);
  if (match === null) throw new PathError(`"${source}": "${part}" is not prefix:Name[pred]`);
  const [, prefix = '', name = '', predicateText = ''] = match;
  const ns = MAPPING_PREFIXES[prefix];
  if (ns === undefined) throw new PathError(`"${source}": unknown prefix "${prefix}"`);
  const predicates: Predicate[] = [];
  for (const [, path = '', value = ''] of predicateText.matchAll(PREDICATE)) {
    const compiled = compilePath(path.trim());
    if (compiled.absolute || compiled.attribute !== undefined) {
      throw new PathError(`"${source}": a predicate tests a child element's text`);
    }
    predicates.push({ path: compiled, value });
  }
  if (predicateText !== '' && predicates.length === 0) {
    throw new PathError(`"${source}": predicates are [prefix:Child='value']`);
  }
  return { ns, name, qname: `${prefix}:${name}`, predicates };
}

function matches(node: UblElement, step: Step): boolean {
  if (node.ns !== step.ns || node.name !== step.name) return false;
  return step.predicates.every((p) =>
    selectAll(node, node, p.path).some((e) => textOf(e) === p.value),
  );
}

/** The trimmed text of an element: UBL identifiers and codes never mean their outer spaces. */
export function textOf(node: UblElement): string {
  return node.text.trim();
}

/** Every element the path selects, in document order (attributes are not selected here). */
export function selectAll(context: UblElement, root: UblElement, path: UblPath): UblElement[] {
  let current = [path.absolute ? root : context];
  for (const step of path.steps) {
    const next: UblElement[] = [];
    for (const node of current) {
      for (const child of node.children) if (matches(child, step)) next.push(child);
    }
    if (next.length === 0) return [];
    current = next;
  }
  return current;
}

export function selectFirst(
  context: UblElement,
  root: UblElement,
  path: UblPath,
): UblElement | undefined {
  return selectAll(context, root, path)[0];
}

/** The value at a path: an attribute, or an element's trimmed text; undefined when absent or empty. */
export function readValue(
  context: UblElement,
  root: UblElement,
  path: UblPath,
): string | undefined {
  const node = selectFirst(context, root, path);
  if (node === undefined) return undefined;
  const value = path.attribute === undefined ? textOf(node) : node.attributes.get(path.attribute);
  return value === undefined || value === '' ? undefined : value;
}

/**
 * The element at a path, made where missing: each step reuses the first matching child or
 * appends one (with its predicate children, so the new element matches). With `fresh`, the last
 * step is always a new element (the next item of a repeated element).
 */
export function ensurePath(
  context: UblElement,
  root: UblElement,
  path: UblPath,
  fresh = false,
): UblElement {
  let node = path.absolute ? root : context;
  path.steps.forEach((step, i) => {
    const last = i === path.steps.length - 1;
    const found = fresh && last ? undefined : node.children.find((child) => matches(child, step));
    node = found ?? appendStep(node, root, step);
  });
  return node;
}

function appendStep(parent: UblElement, root: UblElement, step: Step): UblElement {
  const child = element(step.ns, step.name);
  parent.children.push(child);
  for (const predicate of step.predicates) {
    ensurePath(child, root, predicate.path).text = predicate.value;
  }
  return child;
}

/** Writes a value at a path: an attribute, or the element's text. */
export function writeValue(
  context: UblElement,
  root: UblElement,
  path: UblPath,
  value: string,
): UblElement {
  const node = ensurePath(context, root, path);
  if (path.attribute === undefined) node.text = value;
  else node.attributes.set(path.attribute, value);
  return node;
}

/** "cac:OrderLine[2]/cac:LineItem/cbc:Quantity": where a value was looked for, for messages. */
export function describePath(path: UblPath, base: string): string {
  if (path.absolute || base === '') return path.source.replace(/^\//, '');
  return `${base}/${path.source}`;
}
