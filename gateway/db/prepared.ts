/**
 * Named statements: the few statements that nearly every document runs, as SQL text with a name.
 * On PostgreSQL each pooled session parses and plans a named statement once, then only binds and
 * executes it — parsing and planning the same text for every document took over a third of the
 * server's CPU per document. PGlite runs the text as it is.
 *
 * Only fixed text belongs here (no lists whose length varies): each name is one statement kept
 * in every session for the life of the pool.
 *
 * A named statement must have one good plan only. After a few runs PostgreSQL keeps a generic
 * plan, made from the table sizes of that moment — on a new database, empty tables — until an
 * ANALYZE of them (never, with autovacuum off): a plan that scans a table because it was empty
 * slows down with every row it gains (a 100,000-item file drop fell from ~1,900 to ~450
 * documents/s). So a named statement reads a table that grows with documents only by a whole
 * unique key, and leaves the planner no other way: a lookup is an EXISTS or LATERAL subquery with
 * OFFSET 0, which is run per row through the key's index — never joined, hashed or scanned.
 * statement-plans.test.ts plans each one as on a new database and checks.
 */
import { CompiledQuery } from 'kysely';

const nameOfText = new Map<string, string>();

/** Registers `text` under `name`; returns a builder of the statement with its parameters. */
export function namedStatement(
  name: string,
  text: string,
): (parameters: readonly unknown[]) => CompiledQuery {
  if ([...nameOfText.values()].includes(name)) {
    throw new Error(`the statement name ${name} is taken`);
  }
  nameOfText.set(text, name);
  return (parameters) => CompiledQuery.raw(text, [...parameters]);
}

/** Every registered statement's text by its name (for the test of their plans). */
export function namedStatements(): ReadonlyMap<string, string> {
  return new Map([...nameOfText].map(([text, name]) => [name, text]));
}

/** The name under which `text` is prepared, if it was registered. */
export function statementNameOf(text: string): string | undefined {
  return nameOfText.get(text);
}

/**
 * Rows as the parameters of a statement that reads them through `unnest`: one array per getter,
 * in the order of the getters, each in the order of the rows.
 */
export function arrayColumns<R>(
  rows: readonly R[],
  getters: readonly ((row: R) => unknown)[],
): unknown[][] {
  return getters.map((get) => rows.map(get));
}

/**
 * Bytes as an element of a text array parameter (decoded in the statement with
 * `decode(x, 'hex')`): both drivers take arrays of text alike.
 */
export function bytesAsHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}
