import { Hono } from 'hono';
import type { Kysely } from 'kysely';
import { listPublicKeys } from '../../core/signing/signing-keys.repository.ts';
import type { Database } from '../../db/tables.ts';
import type { AppEnv } from '../env.ts';

/** `/.well-known/jwks.json`: every public key the gateway has signed receipts and checks with. */
export function jwksRoutes(db: Kysely<Database>) {
  return new Hono<AppEnv>().get('/jwks.json', async (c) => {
    c.header('cache-control', 'public, max-age=300');
    return c.json({ keys: await listPublicKeys(db) });
  });
}
