import type { Kysely, Transaction } from 'kysely';
import type { Database, NewPartnerRow, PartnerRow, PartnerUpdate } from '../../db/tables.ts';
import type { PartnerRole } from './partners.ts';
import type { Partner } from './partners.ts';

type Db = Kysely<Database> | Transaction<Database>;

export function toPartner(row: PartnerRow): Partner {
  return {
    id: row.id,
    name: row.name,
    roles: row.roles as PartnerRole[],
    status: row.status,
    format: row.format,
    inboundFormat: row.inbound_format,
    deliveryMode: row.delivery_mode,
    endpointUrl: row.endpoint_url,
    endpointDisabledAt: row.endpoint_disabled_at,
    requireSignedRequests: row.require_signed_requests,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

export async function insertPartner(db: Db, row: NewPartnerRow): Promise<PartnerRow | undefined> {
  return db
    .insertInto('partners')
    .values(row)
    .onConflict((oc) => oc.column('id').doNothing())
    .returningAll()
    .executeTakeFirst();
}

export async function findPartner(db: Db, id: string): Promise<PartnerRow | undefined> {
  return db.selectFrom('partners').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function listPartnerRows(db: Db): Promise<PartnerRow[]> {
  return db.selectFrom('partners').selectAll().orderBy('id').execute();
}

export async function updatePartnerRow(
  db: Db,
  id: string,
  changes: PartnerUpdate,
): Promise<PartnerRow | undefined> {
  return db
    .updateTable('partners')
    .set({ ...changes, updated_at: new Date() })
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirst();
}

export async function insertApiKey(
  db: Db,
  key: { id: string; partnerId: string; keyHash: string },
): Promise<void> {
  await db
    .insertInto('partner_api_keys')
    .values({ id: key.id, partner_id: key.partnerId, key_hash: key.keyHash })
    .execute();
}

export async function listApiKeys(db: Db, partnerId: string) {
  return db
    .selectFrom('partner_api_keys')
    .select(['id', 'created_at', 'revoked_at'])
    .where('partner_id', '=', partnerId)
    .orderBy('created_at')
    .execute();
}

export async function revokeApiKeyRow(db: Db, partnerId: string, keyId: string): Promise<boolean> {
  const result = await db
    .updateTable('partner_api_keys')
    .set({ revoked_at: new Date() })
    .where('partner_id', '=', partnerId)
    .where('id', '=', keyId)
    .where('revoked_at', 'is', null)
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}

/** The active partner holding an unrevoked key with this hash, if any. */
export async function findPartnerByKeyHash(
  db: Db,
  keyHash: string,
): Promise<PartnerRow | undefined> {
  return db
    .selectFrom('partner_api_keys as k')
    .innerJoin('partners as p', 'p.id', 'k.partner_id')
    .selectAll('p')
    .where('k.key_hash', '=', keyHash)
    .where('k.revoked_at', 'is', null)
    .executeTakeFirst();
}
