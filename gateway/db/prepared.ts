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
 *
 * Many rows go to one statement as one JSON array (jsonRows), read with `rows from
 * (json_to_recordset($1::json) as (…)) with ordinality`, so the text is the same however many rows
 * there are: one JSON.stringify makes the parameter, where an array parameter per column cost pg's
 * escaping of every element. Numbers that may pass 2^53 (money in minor units) go as JSON strings.
 * Their bytes go beside, packed into one bytea (packBytes).
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
 * Rows as the JSON parameter of a statement that reads them with json_to_recordset. PostgreSQL
 * text and jsonb cannot hold U+0000, and a NUL in any value would fail the statement and its
 * transaction: it goes as U+FFFD. The codecs refuse NUL in documents, so this keeps only free text
 * the gateway logs (a partner's error answer to a push, say) from breaking what logs it.
 */
export function jsonRows(rows: readonly object[]): string {
  const json = JSON.stringify(rows);
  // An escape `\u0000` starts after an even run of backslashes; after an odd one it is text.
  return json.includes('\\u0000') ? json.replace(/(?<!\\)((?:\\\\)*)\\u0000/g, '$1\\ufffd') : json;
}

/** Where a row's bytes lie in packBytes' bytea: both null for a row without bytes. */
export interface BytesSlice {
  body_at: number | null;
  body_length: number | null;
}

/**
 * Many rows' bytes as one bytea parameter, laid end to end: pg sends a Buffer in binary, PGlite
 * as hex made natively (database.ts). Each row's JSON carries its slice, read back with
 * `substring($n from body_at + 1 for body_length)` (null for a row without bytes).
 */
export function packBytes(all: readonly (Uint8Array | null | undefined)[]): {
  bytes: Buffer;
  slices: BytesSlice[];
} {
  const present: Uint8Array[] = [];
  let offset = 0;
  const slices = all.map((bytes): BytesSlice => {
    if (bytes == null) return { body_at: null, body_length: null };
    present.push(bytes);
    offset += bytes.byteLength;
    return { body_at: offset - bytes.byteLength, body_length: bytes.byteLength };
  });
  return { bytes: Buffer.concat(present, offset), slices };
}
