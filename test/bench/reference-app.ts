/**
 * The reference apps the gateway is measured against in the same run, on the same documents:
 *   echo           a bare Hono POST echo — the HTTP ceiling;
 *   parse          Hono + the same XML parse and schema validation — the ceiling of the work itself;
 *   ingest         parse, validate and INSERT each document in its own transaction on the same
 *                  database — what a team would write in an afternoon.
 * Usage: reference-app.ts <echo|parse|ingest>; DATABASE_URL (PostgreSQL) or DATA_DIR (PGlite) for
 * ingest. Prints "listening <url>" when ready.
 */
import { createAdaptorServer } from '@hono/node-server';
import { Hono } from 'hono';
import { sql } from 'kysely';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { decodeDocument } from '../../adapters/codec/index.ts';
import { openDatabase } from '../../gateway/db/database.ts';
import { createSchemaRegistry } from '../../schemas/registry.ts';

const mode = process.argv[2];
const app = new Hono();

if (mode === 'echo') {
  app.post('/v1/documents', async (c) => c.body(await c.req.arrayBuffer(), 200));
} else if (mode === 'parse' || mode === 'ingest') {
  const registry = createSchemaRegistry();
  const database =
    mode === 'ingest'
      ? await openDatabase({
          databaseUrl: process.env.DATABASE_URL,
          dataDir: process.env.DATA_DIR ?? '',
          poolSize: 10,
        })
      : undefined;
  if (database !== undefined) {
    await sql`create table if not exists reference_ingest (id bigserial primary key, message_id text not null, body bytea not null, received_at timestamptz not null default now())`.execute(
      database.db,
    );
  }
  app.post('/v1/documents', async (c) => {
    const bytes = new Uint8Array(await c.req.arrayBuffer());
    const decoded = decodeDocument(bytes, 'xml', registry);
    if (!decoded.ok) return c.json({ errors: decoded.errors }, 422);
    if (database !== undefined) {
      await database.db.transaction().execute(async (trx) => {
        await sql`insert into reference_ingest (message_id, body) values (${decoded.document.header.messageId}, ${bytes})`.execute(
          trx,
        );
      });
    }
    return c.json({ status: 'accepted', messageId: decoded.document.header.messageId });
  });
} else {
  process.stderr.write('usage: reference-app.ts <echo|parse|ingest>\n');
  process.exit(2);
}

const server = createAdaptorServer({ fetch: app.fetch }) as Server;
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`listening http://127.0.0.1:${(server.address() as AddressInfo).port}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
