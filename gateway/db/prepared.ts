/**
 * Named statements: the few statements that nearly every document runs, as SQL text with a name.
 * On PostgreSQL each pooled session parses and plans a named statement once, then only binds and
 * executes it — parsing and planning the same text for every document took over a third of the
 * server's CPU per document. PGlite runs the text as it is.
 *
 * Only fixed text belongs here (no lists whose length varies): each name is one statement kept
 * in every session for the life of the pool.
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
