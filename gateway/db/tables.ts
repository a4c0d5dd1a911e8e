/**
 * Table types, kept by hand beside the migrations. `TABLE_COLUMNS` lists the same columns at run
 * time so that an integration test can compare them with the migrated database: the types never
 * drift from the schema silently.
 */
import type { ColumnType, Generated, Insertable, Selectable, Updateable } from 'kysely';

type CreatedAt = ColumnType<Date, Date | string | undefined, never>;
type UpdatedAt = ColumnType<Date, Date | string | undefined, Date | string>;

export interface PartnersTable {
  id: string;
  name: string;
  roles: string[];
  status: Generated<'active' | 'suspended'>;
  format: 'xml' | 'json';
  delivery_mode: 'push' | 'mailbox' | 'file';
  endpoint_url: string | null;
  signing_secret: string;
  require_signed_requests: Generated<boolean>;
  created_at: CreatedAt;
  updated_at: UpdatedAt;
}

export interface PartnerApiKeysTable {
  id: string;
  partner_id: string;
  key_hash: string;
  created_at: CreatedAt;
  revoked_at: Date | null;
}

export type Json = ColumnType<unknown, string, string>;

export type LogDirection = 'inbound' | 'outbound';
export type LogEvent =
  'received' | 'queued' | 'delivery-attempt' | 'acknowledged' | 'dead-lettered' | 'replayed';

export interface MessageLogTable {
  id: Generated<bigint>;
  logged_at: CreatedAt;
  direction: LogDirection;
  event: LogEvent;
  partner_id: string;
  message_id: string | null;
  document_type: string | null;
  status: string;
  content_type: string | null;
  body: Uint8Array | null;
  digest: string | null;
  refs: ColumnType<Record<string, string>, string | undefined, never>;
  detail: ColumnType<unknown, string | null | undefined, never>;
  request_id: string | null;
}

export interface InboundMessagesTable {
  sender_id: string;
  message_id: string;
  digest: string;
  document_type: string;
  log_id: bigint;
  receipt: ColumnType<Record<string, unknown>, string, never>;
  received_at: CreatedAt;
}

export type OutboxStatus = 'pending' | 'delivering' | 'delivered' | 'dead';

export interface OutboxTable {
  id: Generated<bigint>;
  message_id: string;
  recipient_id: string;
  document_type: string;
  format: 'xml' | 'json';
  content_type: string;
  body: Uint8Array;
  digest: string;
  refs: ColumnType<Record<string, string>, string | undefined, never>;
  created_at: CreatedAt;
  status: Generated<OutboxStatus>;
  attempts: Generated<number>;
  next_attempt_at: ColumnType<Date, Date | string | undefined, Date | string>;
  lease_until: Date | null;
  leased_by: string | null;
  last_error: string | null;
  delivered_at: Date | null;
  dead_at: Date | null;
}

export interface JobRunsTable {
  id: Generated<bigint>;
  job: string;
  slot: ColumnType<Date, Date | string, never>;
  instance: string;
  started_at: CreatedAt;
  finished_at: Date | null;
  outcome: Generated<'running' | 'ok' | 'failed' | 'skipped'>;
  counts: ColumnType<Record<string, number>, string | undefined, string>;
  error: string | null;
}

export interface JobLeasesTable {
  job: string;
  holder: string;
  lease_until: Date;
}

export interface Database {
  partners: PartnersTable;
  partner_api_keys: PartnerApiKeysTable;
  message_log: MessageLogTable;
  inbound_messages: InboundMessagesTable;
  outbox: OutboxTable;
  job_runs: JobRunsTable;
  job_leases: JobLeasesTable;
}

export type PartnerRow = Selectable<PartnersTable>;
export type NewPartnerRow = Insertable<PartnersTable>;
export type PartnerUpdate = Updateable<PartnersTable>;

/** Every column of T, each once: a column left out of the list is a compile error. */
function columnsOf<T>() {
  return <const L extends readonly (keyof T & string)[]>(
    ...list: L &
      ([Exclude<keyof T, L[number]>] extends [never]
        ? unknown
        : { missing: Exclude<keyof T, L[number]> })
  ): readonly string[] => list;
}

export const TABLE_COLUMNS: { readonly [T in keyof Database]: readonly string[] } = {
  partners: columnsOf<PartnersTable>()(
    'id',
    'name',
    'roles',
    'status',
    'format',
    'delivery_mode',
    'endpoint_url',
    'signing_secret',
    'require_signed_requests',
    'created_at',
    'updated_at',
  ),
  partner_api_keys: columnsOf<PartnerApiKeysTable>()(
    'id',
    'partner_id',
    'key_hash',
    'created_at',
    'revoked_at',
  ),
  message_log: columnsOf<MessageLogTable>()(
    'id',
    'logged_at',
    'direction',
    'event',
    'partner_id',
    'message_id',
    'document_type',
    'status',
    'content_type',
    'body',
    'digest',
    'refs',
    'detail',
    'request_id',
  ),
  inbound_messages: columnsOf<InboundMessagesTable>()(
    'sender_id',
    'message_id',
    'digest',
    'document_type',
    'log_id',
    'receipt',
    'received_at',
  ),
  outbox: columnsOf<OutboxTable>()(
    'id',
    'message_id',
    'recipient_id',
    'document_type',
    'format',
    'content_type',
    'body',
    'digest',
    'refs',
    'created_at',
    'status',
    'attempts',
    'next_attempt_at',
    'lease_until',
    'leased_by',
    'last_error',
    'delivered_at',
    'dead_at',
  ),
  job_runs: columnsOf<JobRunsTable>()(
    'id',
    'job',
    'slot',
    'instance',
    'started_at',
    'finished_at',
    'outcome',
    'counts',
    'error',
  ),
  job_leases: columnsOf<JobLeasesTable>()('job', 'holder', 'lease_until'),
};
