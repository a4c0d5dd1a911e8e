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
  /** What the partner receives (migration 0050 added ubl). */
  format: 'xml' | 'json' | 'ubl';
  delivery_mode: 'push' | 'mailbox' | 'file';
  endpoint_url: string | null;
  signing_secret: string;
  require_signed_requests: Generated<boolean>;
  created_at: CreatedAt;
  updated_at: UpdatedAt;
  /** Set when the push endpoint answered 410 Gone; cleared when an operator sets an endpoint. */
  endpoint_disabled_at: Date | null;
  /** What the partner sends: for ubl, application/xml is UBL; csv adds CSV catalogues. */
  inbound_format: Generated<'xml' | 'json' | 'ubl' | 'csv'>;
}

/** A partner's identifier alias (scheme normalized upper-case; names lower-case). */
export interface PartnerIdentifiersTable {
  scheme: string;
  value: string;
  partner_id: string;
  created_at: CreatedAt;
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
  /** The inserting transaction (xid8, as a string): what seals cover, see core/audit. */
  txid: ColumnType<string, never, never>;
}

/** A signed seal over a range of the message log (append-only, see core/audit). */
export interface AuditSealsTable {
  seq: bigint;
  from_txid: ColumnType<string, string, never>;
  to_txid: ColumnType<string, string, never>;
  first_id: bigint;
  last_id: bigint;
  entry_count: number;
  merkle_root: string;
  prev_hash: string;
  seal_hash: string;
  key_id: string;
  signature: string;
  leaves: Uint8Array;
  sealed_at: ColumnType<Date, Date, never>;
}

export interface InboundMessagesTable {
  sender_id: string;
  message_id: string;
  digest: string;
  document_type: string;
  log_id: bigint;
  receipt: ColumnType<Record<string, unknown>, string, string>;
  received_at: CreatedAt;
}

export type OutboxStatus = 'pending' | 'delivering' | 'delivered' | 'dead';

export interface OutboxTable {
  id: Generated<bigint>;
  message_id: string;
  recipient_id: string;
  document_type: string;
  format: 'xml' | 'json' | 'ubl';
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
  /** Start of the current delivery cycle (creation, or the last replay): max age counts from it. */
  queued_at: ColumnType<Date, Date | string | undefined, Date | string>;
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

export interface SigningKeysTable {
  key_id: string;
  public_jwk: ColumnType<Record<string, unknown>, string, never>;
  created_at: CreatedAt;
}

export interface RequestSignaturesTable {
  partner_id: string;
  webhook_id: string;
  seen_at: CreatedAt;
}

export interface ItemsTable {
  id: string;
  gtin: string | null;
  name: string;
  description: string | null;
  category: string;
  /** A `date`: kept as the ISO string (yyyy-mm-dd) by both drivers' parsers, see database.ts. */
  release_date: string;
  attributes: ColumnType<{ name: string; value: string }[], string | undefined, string>;
  created_by: string;
  created_at: CreatedAt;
  updated_at: UpdatedAt;
  /** The transaction (xid8, as a string) of the last change: feeds read from their cursor on. */
  change_txid: ColumnType<string, never, never>;
}

export interface OffersTable {
  item_id: string;
  seller_id: string;
  seller_item_id: string;
  list_price_minor: bigint;
  currency: string;
  quantity_available: number;
  regions: ColumnType<string[], string[] | undefined, string[]>;
  version: Generated<number>;
  created_at: CreatedAt;
  updated_at: UpdatedAt;
}

type DbDate = string; // `date` columns stay yyyy-mm-dd strings (database.ts)

export type ReservationStatus = 'open' | 'awarded' | 'confirmed' | 'no-award';

export interface ReservationsTable {
  id: string;
  buyer_id: string;
  item_id: string;
  quantity: number;
  max_unit_price_minor: bigint;
  currency: string;
  needed_by: DbDate;
  bidding_deadline: ColumnType<Date, Date | string, never>;
  delivery_region: string | null;
  buyer_reference: string | null;
  status: Generated<ReservationStatus>;
  change_txid: ColumnType<string, never, never>;
  created_at: CreatedAt;
  judged_at: Date | null;
}

export type BidStatus =
  'active' | 'withdrawn' | 'selected' | 'not-selected' | 'ineligible' | 'declined' | 'lapsed';

export interface BidsTable {
  id: string;
  reservation_id: string;
  seller_id: string;
  version: Generated<number>;
  status: Generated<BidStatus>;
  unit_price_minor: bigint;
  currency: string;
  quantity: number;
  promised_delivery_date: DbDate;
  note: string | null;
  received_at: CreatedAt;
  updated_at: UpdatedAt;
}

export type DealStatus = 'awarded' | 'confirmed' | 'declined' | 'lapsed';

export interface DealsTable {
  id: string;
  reservation_id: string;
  bid_id: string;
  buyer_id: string;
  seller_id: string;
  item_id: string;
  quantity: number;
  unit_price_minor: bigint;
  currency: string;
  total_minor: bigint;
  commission_minor: bigint;
  commission_rate_percent: string;
  promised_delivery_date: DbDate;
  confirm_by: Date;
  buyer_decision: 'accept' | 'decline' | null;
  seller_decision: 'accept' | 'decline' | null;
  status: Generated<DealStatus>;
  /** The settlement organ and carrier that won the deal's tenders. */
  settlement_organ_id: string | null;
  carrier_id: string | null;
  created_at: CreatedAt;
  confirmed_at: Date | null;
}

export interface TendersTable {
  id: string;
  deal_id: string;
  kind: 'settlement' | 'transport';
  terms_deadline: Date;
  status: Generated<'open' | 'awarded' | 'no-terms'>;
  winner_id: string | null;
  created_at: CreatedAt;
  judged_at: Date | null;
}

export interface TenderInvitationsTable {
  tender_id: string;
  organ_id: string;
}

export interface TenderTermsTable {
  tender_id: string;
  organ_id: string;
  version: Generated<number>;
  /** What the terms cost the buyer on this deal, the judging key. */
  cost_minor: bigint;
  currency: string;
  fixed_fee_minor: bigint | null;
  rate_percent: string | null;
  settlement_days: number | null;
  pickup_date: DbDate | null;
  delivery_date: DbDate | null;
  note: string | null;
  received_at: CreatedAt;
}

export interface FeedSubscriptionsTable {
  partner_id: string;
  feed: 'items' | 'reservations';
  mode: 'scheduled' | 'immediate';
  schedule: string | null;
  categories: ColumnType<string[], string[] | undefined, string[]>;
  regions: ColumnType<string[], string[] | undefined, string[]>;
  /** xid8 watermark, as a string. */
  cursor: ColumnType<string, never, never>;
  last_sent_at: Date | null;
}

export type AccountKind = 'partner' | 'revenue' | 'external';

export interface AccountsTable {
  id: string;
  kind: AccountKind;
  /** Null for the gateway's own accounts (revenue, external funding). */
  partner_id: string | null;
  currency: string;
  status: Generated<'active' | 'suspended'>;
  /** Kept in the transaction of the entries that change it; a test checks it is their sum. */
  balance_minor: ColumnType<bigint, bigint | undefined, bigint>;
  credit_limit_minor: ColumnType<bigint, bigint | undefined, bigint>;
  /** Sum of the account's holds in status 'held'. */
  held_minor: ColumnType<bigint, bigint | undefined, bigint>;
  created_at: CreatedAt;
  updated_at: UpdatedAt;
}

export interface LedgerTransfersTable {
  id: string;
  kind: 'funding' | 'payment';
  reference: string | null;
  currency: string;
  amount_minor: bigint;
  created_at: CreatedAt;
}

export interface LedgerEntriesTable {
  id: Generated<bigint>;
  transfer_id: string;
  account_id: string;
  /** + credit, − debit: the entries of a transfer sum to zero. */
  amount_minor: bigint;
  created_at: CreatedAt;
}

export type HoldStatus = 'held' | 'captured' | 'released';

export interface HoldsTable {
  reference: string;
  account_id: string;
  amount_minor: bigint;
  status: Generated<HoldStatus>;
  created_at: CreatedAt;
  settled_at: Date | null;
}

export type CheckStatus = 'issued' | 'presented' | 'demanded' | 'paid' | 'voided' | 'expired';

export interface ChecksTable {
  check_number: string;
  buyer_id: string;
  seller_id: string;
  carrier_id: string;
  deal_id: string | null;
  settlement_organ_id: string | null;
  amount_minor: bigint;
  currency: string;
  commission_minor: bigint;
  lines: ColumnType<{ itemId: string; quantity: number; unitPriceMinor: string }[], string, never>;
  request_message_id: string;
  jws: string;
  status: Generated<CheckStatus>;
  issued_at: ColumnType<Date, Date | string, never>;
  expires_at: ColumnType<Date, Date | string, Date | string>;
  presented_at: Date | null;
  demanded_at: Date | null;
  paid_at: Date | null;
  closed_at: Date | null;
}

export type CommodityOrderStatus = 'ordered' | 'instructed' | 'scheduled' | 'delivered';

export interface CommodityOrdersTable {
  id: string;
  check_number: string;
  buyer_id: string;
  seller_id: string;
  carrier_id: string;
  deal_id: string | null;
  total_minor: bigint;
  currency: string;
  lines: ColumnType<
    { itemId: string; quantity: number; unitPrice: { amount: string; currency: string } }[],
    string,
    never
  >;
  distribution_address: ColumnType<Record<string, string>, string, never>;
  order_reference: string | null;
  status: Generated<CommodityOrderStatus>;
  distribution_noticed_at: Date | null;
  expected_ship_date: DbDate | null;
  payment_noticed_at: Date | null;
  instructed_at: Date | null;
  delivery_date: DbDate | null;
  window_start: Date | null;
  window_end: Date | null;
  last_delivery_status: string | null;
  last_delivery_status_at: Date | null;
  delivered_at: Date | null;
  received_by: string | null;
  created_at: CreatedAt;
}

export interface Database {
  partners: PartnersTable;
  partner_api_keys: PartnerApiKeysTable;
  partner_identifiers: PartnerIdentifiersTable;
  message_log: MessageLogTable;
  audit_seals: AuditSealsTable;
  inbound_messages: InboundMessagesTable;
  outbox: OutboxTable;
  job_runs: JobRunsTable;
  job_leases: JobLeasesTable;
  signing_keys: SigningKeysTable;
  request_signatures: RequestSignaturesTable;
  items: ItemsTable;
  offers: OffersTable;
  reservations: ReservationsTable;
  bids: BidsTable;
  deals: DealsTable;
  tenders: TendersTable;
  tender_invitations: TenderInvitationsTable;
  tender_terms: TenderTermsTable;
  feed_subscriptions: FeedSubscriptionsTable;
  accounts: AccountsTable;
  ledger_transfers: LedgerTransfersTable;
  ledger_entries: LedgerEntriesTable;
  holds: HoldsTable;
  checks: ChecksTable;
  commodity_orders: CommodityOrdersTable;
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
    'endpoint_disabled_at',
    'inbound_format',
  ),
  partner_identifiers: columnsOf<PartnerIdentifiersTable>()(
    'scheme',
    'value',
    'partner_id',
    'created_at',
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
    'txid',
  ),
  audit_seals: columnsOf<AuditSealsTable>()(
    'seq',
    'from_txid',
    'to_txid',
    'first_id',
    'last_id',
    'entry_count',
    'merkle_root',
    'prev_hash',
    'seal_hash',
    'key_id',
    'signature',
    'leaves',
    'sealed_at',
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
    'queued_at',
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
  signing_keys: columnsOf<SigningKeysTable>()('key_id', 'public_jwk', 'created_at'),
  request_signatures: columnsOf<RequestSignaturesTable>()('partner_id', 'webhook_id', 'seen_at'),
  items: columnsOf<ItemsTable>()(
    'id',
    'gtin',
    'name',
    'description',
    'category',
    'release_date',
    'attributes',
    'created_by',
    'created_at',
    'updated_at',
    'change_txid',
  ),
  offers: columnsOf<OffersTable>()(
    'item_id',
    'seller_id',
    'seller_item_id',
    'list_price_minor',
    'currency',
    'quantity_available',
    'regions',
    'version',
    'created_at',
    'updated_at',
  ),
  reservations: columnsOf<ReservationsTable>()(
    'id',
    'buyer_id',
    'item_id',
    'quantity',
    'max_unit_price_minor',
    'currency',
    'needed_by',
    'bidding_deadline',
    'delivery_region',
    'buyer_reference',
    'status',
    'change_txid',
    'created_at',
    'judged_at',
  ),
  bids: columnsOf<BidsTable>()(
    'id',
    'reservation_id',
    'seller_id',
    'version',
    'status',
    'unit_price_minor',
    'currency',
    'quantity',
    'promised_delivery_date',
    'note',
    'received_at',
    'updated_at',
  ),
  deals: columnsOf<DealsTable>()(
    'id',
    'reservation_id',
    'bid_id',
    'buyer_id',
    'seller_id',
    'item_id',
    'quantity',
    'unit_price_minor',
    'currency',
    'total_minor',
    'commission_minor',
    'commission_rate_percent',
    'promised_delivery_date',
    'confirm_by',
    'buyer_decision',
    'seller_decision',
    'status',
    'settlement_organ_id',
    'carrier_id',
    'created_at',
    'confirmed_at',
  ),
  tenders: columnsOf<TendersTable>()(
    'id',
    'deal_id',
    'kind',
    'terms_deadline',
    'status',
    'winner_id',
    'created_at',
    'judged_at',
  ),
  tender_invitations: columnsOf<TenderInvitationsTable>()('tender_id', 'organ_id'),
  tender_terms: columnsOf<TenderTermsTable>()(
    'tender_id',
    'organ_id',
    'version',
    'cost_minor',
    'currency',
    'fixed_fee_minor',
    'rate_percent',
    'settlement_days',
    'pickup_date',
    'delivery_date',
    'note',
    'received_at',
  ),
  feed_subscriptions: columnsOf<FeedSubscriptionsTable>()(
    'partner_id',
    'feed',
    'mode',
    'schedule',
    'categories',
    'regions',
    'cursor',
    'last_sent_at',
  ),
  accounts: columnsOf<AccountsTable>()(
    'id',
    'kind',
    'partner_id',
    'currency',
    'status',
    'balance_minor',
    'credit_limit_minor',
    'held_minor',
    'created_at',
    'updated_at',
  ),
  ledger_transfers: columnsOf<LedgerTransfersTable>()(
    'id',
    'kind',
    'reference',
    'currency',
    'amount_minor',
    'created_at',
  ),
  ledger_entries: columnsOf<LedgerEntriesTable>()(
    'id',
    'transfer_id',
    'account_id',
    'amount_minor',
    'created_at',
  ),
  holds: columnsOf<HoldsTable>()(
    'reference',
    'account_id',
    'amount_minor',
    'status',
    'created_at',
    'settled_at',
  ),
  checks: columnsOf<ChecksTable>()(
    'check_number',
    'buyer_id',
    'seller_id',
    'carrier_id',
    'deal_id',
    'settlement_organ_id',
    'amount_minor',
    'currency',
    'commission_minor',
    'lines',
    'request_message_id',
    'jws',
    'status',
    'issued_at',
    'expires_at',
    'presented_at',
    'demanded_at',
    'paid_at',
    'closed_at',
  ),
  commodity_orders: columnsOf<CommodityOrdersTable>()(
    'id',
    'check_number',
    'buyer_id',
    'seller_id',
    'carrier_id',
    'deal_id',
    'total_minor',
    'currency',
    'lines',
    'distribution_address',
    'order_reference',
    'status',
    'distribution_noticed_at',
    'expected_ship_date',
    'payment_noticed_at',
    'instructed_at',
    'delivery_date',
    'window_start',
    'window_end',
    'last_delivery_status',
    'last_delivery_status_at',
    'delivered_at',
    'received_by',
    'created_at',
  ),
};
