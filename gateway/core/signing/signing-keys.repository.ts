import type { Kysely } from 'kysely';
import type { JWK } from 'jose';
import type { Database } from '../../db/tables.ts';

/** Publish a public key the gateway signs with (idempotent: every process publishes its own). */
export async function publishSigningKey(
  db: Kysely<Database>,
  keyId: string,
  publicJwk: JWK,
): Promise<void> {
  await db
    .insertInto('signing_keys')
    .values({ key_id: keyId, public_jwk: JSON.stringify(publicJwk) })
    .onConflict((oc) => oc.column('key_id').doNothing())
    .execute();
}

export async function listPublicKeys(db: Kysely<Database>): Promise<JWK[]> {
  const rows = await db
    .selectFrom('signing_keys')
    .select('public_jwk')
    .orderBy('created_at')
    .execute();
  return rows.map((r) => r.public_jwk as JWK);
}
