import { sql, type Kysely } from 'kysely';
import type { Database } from '../../db/tables.ts';

/**
 * Remember a signed request's id; false when the partner already sent it (a replay). Ids older
 * than the 5-minute timestamp tolerance are purged on the way: the timestamp check refuses them.
 */
export async function rememberRequestSignature(
  db: Kysely<Database>,
  partnerId: string,
  webhookId: string,
): Promise<boolean> {
  const row = await db
    .insertInto('request_signatures')
    .values({ partner_id: partnerId, webhook_id: webhookId })
    .onConflict((oc) => oc.columns(['partner_id', 'webhook_id']).doNothing())
    .returning('webhook_id')
    .executeTakeFirst();
  if (Math.random() < 0.01) {
    await db
      .deleteFrom('request_signatures')
      .where('seen_at', '<', sql<Date>`now() - interval '10 minutes'`)
      .execute();
  }
  return row !== undefined;
}
