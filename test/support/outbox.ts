/** What the gateway queued for a partner, decoded (test partners use the JSON format). */
import type { Kysely } from 'kysely';
import type { Database } from '../../gateway/db/tables.ts';

export interface Queued {
  messageId: string;
  type: string;
  header: Record<string, string>;
  body: Record<string, any>;
}

export async function queuedFor(
  db: Kysely<Database>,
  recipientId: string,
  type?: string,
): Promise<Queued[]> {
  let query = db
    .selectFrom('outbox')
    .select(['message_id', 'document_type', 'body', 'format'])
    .where('recipient_id', '=', recipientId)
    .orderBy('id');
  if (type !== undefined) query = query.where('document_type', '=', type);
  const rows = await query.execute();
  return rows.map((row) => {
    if (row.format !== 'json') throw new Error(`test partner ${recipientId} should use JSON`);
    const doc = JSON.parse(new TextDecoder().decode(row.body)) as {
      header: Record<string, string>;
      body: Record<string, any>;
    };
    return {
      messageId: row.message_id,
      type: row.document_type,
      header: doc.header,
      body: doc.body,
    };
  });
}
