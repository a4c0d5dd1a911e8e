/**
 * Outbox queries. Every state change is one UPDATE whose WHERE clause is the state it expects
 * (compare-and-set): a worker whose lease has expired, a second replica, or a replay racing a
 * delivery changes nothing and learns so from the row count.
 */
import { sql, type Insertable, type Kysely, type Transaction } from 'kysely';
import { jsonRows, namedStatement, packBytes } from '../../db/prepared.ts';
import type { Database, OutboxStatus, OutboxTable } from '../../db/tables.ts';
import type { OutboundFormat } from '../document.ts';

type Db = Kysely<Database> | Transaction<Database>;

/** The channel `pg_notify` wakes deliverers on, after the commit that queued work. */
export const OUTBOX_CHANNEL = 'nakadachi_outbox';

function msFromNow(ms: number) {
  return sql<Date>`now() + make_interval(secs => ${ms / 1000})`;
}

/** An outbound document as the outbox keeps it: rendered, digested, addressed. */
export type QueuedDocument = Pick<
  Insertable<OutboxTable>,
  'message_id' | 'recipient_id' | 'document_type' | 'format' | 'content_type' | 'body' | 'digest'
> & { refs: Record<string, string> };

/**
 * Outbound documents queued in one round trip per 500: the outbox rows, their 'queued' log
 * entries (in the same order), and the notification that wakes the deliverers (PostgreSQL
 * delivers it at commit, folds repeats within a transaction, and drops it on rollback).
 *
 * SQL text, not built, and prepared (db/prepared.ts): the documents go as one JSON array and their
 * bodies as one bytea, so the text is the same however many there are — building and planning a
 * multi-row VALUES list of twenty parameters per document cost more than the rows themselves.
 */
export async function queueOutboxRows(db: Db, queued: readonly QueuedDocument[]): Promise<void> {
  for (let from = 0; from < queued.length; from += QUEUE_CHUNK) {
    const chunk = queued.slice(from, from + QUEUE_CHUNK);
    const bodies = packBytes(chunk.map((d) => d.body));
    const documents = chunk.map((d, i) => ({
      message_id: d.message_id,
      recipient_id: d.recipient_id,
      document_type: d.document_type,
      format: d.format,
      content_type: d.content_type,
      ...bodies.slices[i],
      digest: d.digest,
      refs: d.refs,
    }));
    await db.executeQuery(queueStatement([jsonRows(documents), bodies.bytes, OUTBOX_CHANNEL]));
  }
}

/** Documents per statement: bounds the size of one statement, whatever the documents. */
const QUEUE_CHUNK = 500;

const queueStatement = namedStatement(
  'queue_outbound',
  `with documents as (
  select *, substring($2::bytea from body_at + 1 for body_length) as body
  from rows from (json_to_recordset($1::json) as (message_id text, recipient_id text,
    document_type text, format text, content_type text, body_at int, body_length int,
    digest text, refs jsonb))
  with ordinality as d(message_id, recipient_id, document_type, format, content_type, body_at,
    body_length, digest, refs, n)),
queued as (
  insert into outbox (message_id, recipient_id, document_type, format, content_type, body,
    digest, refs)
  select message_id, recipient_id, document_type, format, content_type, body, digest, refs
  from documents order by n),
logged as (
  insert into message_log (direction, event, partner_id, message_id, document_type, status,
    content_type, body, digest, refs)
  select 'outbound', 'queued', recipient_id, message_id, document_type, 'queued', content_type,
    body, digest, refs
  from documents order by n)
select pg_notify($3, '')`,
);

/** Delivered to listeners when the caller's transaction commits; dropped on rollback. */
export async function notifyOutbox(db: Db): Promise<void> {
  await sql`select pg_notify(${OUTBOX_CHANNEL}, '')`.execute(db);
}

/**
 * Recipients whose rows the worker may push or write: active, push- or file-mode, endpoint not
 * disabled by a 410. Mailbox-mode rows wait for the partner's pull; if a partner changes mode,
 * its pending rows follow the new mode, because the mode is read here at every claim.
 */
function deliverableRecipients(db: Db) {
  return db
    .selectFrom('partners as p')
    .where('p.status', '=', 'active')
    .where('p.endpoint_disabled_at', 'is', null)
    .where('p.delivery_mode', 'in', ['push', 'file'])
    .select((eb) =>
      // The recipient's earliest pending row: one probe of the outbox_claim index.
      eb
        .selectFrom('outbox as o')
        .select((o) => o.fn.min('o.next_attempt_at').as('oldest'))
        .whereRef('o.recipient_id', '=', 'p.id')
        .where('o.status', '=', 'pending')
        .as('oldest'),
    );
}

/** The columns that name a delivery in the log. */
const DELIVERY_NAME = [
  'outbox.id',
  'outbox.message_id',
  'outbox.recipient_id',
  'outbox.document_type',
] as const;

function deliveryName(row: {
  id: bigint;
  message_id: string;
  recipient_id: string;
  document_type: string;
}) {
  return {
    id: row.id,
    messageId: row.message_id,
    recipientId: row.recipient_id,
    documentType: row.document_type,
  };
}

export interface ClaimRequest {
  instanceId: string;
  leaseMs: number;
  /** Rows to claim at most (free push slots of this process). */
  limit: number;
  perPartner: number;
  /** Pushes this process has in flight, by recipient. */
  inFlight: ReadonlyMap<string, number>;
}

export interface ClaimedDelivery {
  id: bigint;
  messageId: string;
  recipientId: string;
  documentType: string;
  format: OutboundFormat;
  contentType: string;
  body: Uint8Array;
  digest: string;
  refs: Record<string, string>;
  /** Including the attempt this claim is for; with id and the instance, the claim's identity. */
  attempts: number;
  /** Age of the delivery cycle (since queued_at) by the database clock, at claim time. */
  ageMs: number;
  mode: 'push' | 'file';
  endpointUrl: string | null;
  secret: string;
}

/**
 * Claims due deliveries for this process: status delivering, attempts + 1, a lease.
 *
 * Concurrency invariant: a row is pushed by at most one worker at a time. The candidate rows are
 * locked with FOR UPDATE SKIP LOCKED on the outbox row alone (no other table is locked or
 * re-checked under the lock), so concurrent claimers never wait for each other and never take
 * the same row; the UPDATE re-checks status = 'pending' under that lock as the compare-and-set.
 * A crashed worker's rows come back when their lease expires (reapExpiredLeases).
 *
 * Fairness: each recipient contributes at most (perPartner − its pushes in flight here) rows, and
 * the batch is filled round-robin (every recipient's first row, then every second row …), with the
 * recipients whose work has waited longest first. One partner's backlog of thousands therefore
 * takes at most its own share of a batch, and a slow partner holds at most `perPartner` slots.
 * Rejected: one global `ORDER BY next_attempt_at LIMIT n FOR UPDATE SKIP LOCKED` (graphile-worker
 * style) — a backlog at the head of the queue fills every batch and the other partners wait behind
 * it; and a window function over all due rows — it reads the whole backlog on every claim, where
 * the per-recipient LATERAL reads at most `perPartner` index entries per recipient.
 */
export async function claimDue(db: Db, request: ClaimRequest): Promise<ClaimedDelivery[]> {
  if (request.limit <= 0) return [];
  const busy = JSON.stringify(Object.fromEntries(request.inFlight));
  const rows = await db
    .with('eligible', () =>
      deliverableRecipients(db).select([
        'p.id as recipient_id',
        'p.delivery_mode',
        'p.endpoint_url',
        'p.signing_secret',
        sql<number>`${request.perPartner}::int - coalesce((${busy}::jsonb ->> p.id)::int, 0)`.as(
          'quota',
        ),
      ]),
    )
    .with('recipients', (qb) =>
      qb
        .selectFrom('eligible')
        .selectAll()
        .where('quota', '>', 0)
        .where('oldest', '<=', sql<Date>`now()`)
        .orderBy('oldest')
        .limit(request.limit),
    )
    .with('candidates', (qb) =>
      qb
        .selectFrom('recipients as r')
        .innerJoinLateral(
          (eb) =>
            eb
              .selectFrom('outbox as o')
              .select(['o.id', 'o.next_attempt_at'])
              .whereRef('o.recipient_id', '=', 'r.recipient_id')
              .where('o.status', '=', 'pending')
              .where('o.next_attempt_at', '<=', sql<Date>`now()`)
              .orderBy('o.next_attempt_at')
              .orderBy('o.id')
              .limit(sql<number>`r.quota`)
              .forUpdate()
              .skipLocked()
              .as('c'),
          (join) => join.onTrue(),
        )
        .select([
          'c.id',
          'c.next_attempt_at',
          'r.delivery_mode',
          'r.endpoint_url',
          'r.signing_secret',
          sql<number>`row_number() over (partition by r.recipient_id order by c.next_attempt_at, c.id)`.as(
            'turn',
          ),
        ]),
    )
    .with('picked', (qb) =>
      qb
        .selectFrom('candidates')
        .selectAll()
        .orderBy('turn')
        .orderBy('next_attempt_at')
        .orderBy('id')
        .limit(request.limit),
    )
    .updateTable('outbox')
    .from('picked')
    .set((eb) => ({
      status: 'delivering',
      attempts: eb('outbox.attempts', '+', 1),
      lease_until: msFromNow(request.leaseMs),
      leased_by: request.instanceId,
    }))
    .whereRef('outbox.id', '=', 'picked.id')
    .where('outbox.status', '=', 'pending')
    .returning([
      ...DELIVERY_NAME,
      'outbox.format',
      'outbox.content_type',
      'outbox.body',
      'outbox.digest',
      'outbox.refs',
      'outbox.attempts',
      'picked.delivery_mode',
      'picked.endpoint_url',
      'picked.signing_secret',
      sql<number>`(extract(epoch from now() - outbox.queued_at) * 1000)::float8`.as('age_ms'),
    ])
    .execute();
  return rows.map((r) => ({
    ...deliveryName(r),
    format: r.format,
    contentType: r.content_type,
    body: r.body,
    digest: r.digest,
    refs: r.refs,
    attempts: r.attempts,
    ageMs: r.age_ms,
    mode: r.delivery_mode === 'file' ? 'file' : 'push',
    endpointUrl: r.endpoint_url,
    secret: r.signing_secret,
  }));
}

/** Identifies one claim: the row, the claimer, and the attempt number the claim set. */
export interface ClaimRef {
  id: bigint;
  instanceId: string;
  attempts: number;
}

function updateClaimed(db: Db, ref: ClaimRef) {
  return db
    .updateTable('outbox')
    .where('id', '=', ref.id)
    .where('status', '=', 'delivering')
    .where('leased_by', '=', ref.instanceId)
    .where('attempts', '=', ref.attempts);
}

const NO_LEASE = { lease_until: null, leased_by: null } as const;

/** Delivered, for many claims of one worker at once; returns the ids it settled. */
export async function markDeliveredMany(
  db: Db,
  instanceId: string,
  claims: readonly Omit<ClaimRef, 'instanceId'>[],
): Promise<Set<bigint>> {
  if (claims.length === 0) return new Set();
  const { rows } = await db.executeQuery<{ id: bigint }>(
    markDeliveredStatement([
      jsonRows(claims.map((c) => ({ id: String(c.id), attempts: c.attempts }))),
      instanceId,
    ]),
  );
  return new Set(rows.map((r) => r.id));
}

// Prepared (db/prepared.ts): built with a tuple per claim, its text changed with every batch
// size, and PostgreSQL parsed and planned it for each settlement.
const markDeliveredStatement = namedStatement(
  'mark_delivered',
  `update outbox o
   set status = 'delivered', delivered_at = now(), last_error = null, lease_until = null,
     leased_by = null
  from json_to_recordset($1::json) as c(id bigint, attempts integer)
 where o.id = c.id and o.attempts = c.attempts and o.status = 'delivering'
   and o.leased_by = $2
returning o.id`,
);

/** Back to pending, due after `delayMs`; returns the next attempt time, undefined if not ours. */
export async function scheduleRetry(
  db: Db,
  ref: ClaimRef,
  delayMs: number,
  error: string,
): Promise<Date | undefined> {
  const row = await updateClaimed(db, ref)
    .set({ ...NO_LEASE, status: 'pending', next_attempt_at: msFromNow(delayMs), last_error: error })
    .returning('next_attempt_at')
    .executeTakeFirst();
  return row?.next_attempt_at;
}

export async function markDead(db: Db, ref: ClaimRef, error: string): Promise<boolean> {
  const result = await updateClaimed(db, ref)
    .set({ ...NO_LEASE, status: 'dead', dead_at: sql<Date>`now()`, last_error: error })
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}

/**
 * Back to pending and due now, without counting the attempt: the attempt was cut short by our
 * own shutdown, or the endpoint is gone, which says nothing about the document.
 */
export async function releaseClaim(db: Db, ref: ClaimRef, error: string | null): Promise<boolean> {
  const result = await updateClaimed(db, ref)
    .set((eb) => ({
      ...NO_LEASE,
      status: 'pending',
      attempts: eb('attempts', '-', 1),
      next_attempt_at: sql<Date>`now()`,
      last_error: error,
    }))
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}

/** 410 Gone: switch the endpoint off, unless an operator has configured another one since. */
export async function disableEndpoint(db: Db, partnerId: string, url: string): Promise<boolean> {
  const result = await db
    .updateTable('partners')
    .set({ endpoint_disabled_at: sql<Date>`now()` })
    .where('id', '=', partnerId)
    .where('endpoint_url', '=', url)
    .where('endpoint_disabled_at', 'is', null)
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}

export interface ExpiredLease {
  id: bigint;
  messageId: string;
  recipientId: string;
  documentType: string;
  attempts: number;
  holder: string | null;
  dead: boolean;
}

/**
 * Rows whose worker stopped mid-attempt (its lease ran out): due again now, or dead when that was
 * the last permitted attempt — so a document that crashes its worker cannot loop forever.
 * SKIP LOCKED: two reapers split the rows instead of waiting on each other.
 */
export async function reapExpiredLeases(
  db: Db,
  maxAttempts: number,
  error: string,
): Promise<ExpiredLease[]> {
  const rows = await db
    .with('expired', (qb) =>
      qb
        .selectFrom('outbox')
        .select(['id', 'leased_by'])
        .where('status', '=', 'delivering')
        .where('lease_until', '<', sql<Date>`now()`)
        .forUpdate()
        .skipLocked(),
    )
    .updateTable('outbox')
    .from('expired')
    .set((eb) => {
      const spent = eb('outbox.attempts', '>=', maxAttempts);
      return {
        ...NO_LEASE,
        status: eb
          .case()
          .when(spent)
          .then(eb.val<OutboxStatus>('dead'))
          .else(eb.val<OutboxStatus>('pending'))
          .end(),
        dead_at: eb
          .case()
          .when(spent)
          .then(sql<Date>`now()`)
          .else(null)
          .end(),
        next_attempt_at: sql<Date>`now()`,
        last_error: error,
      };
    })
    .whereRef('outbox.id', '=', 'expired.id')
    .where('outbox.status', '=', 'delivering')
    .returning([...DELIVERY_NAME, 'outbox.attempts', 'outbox.status', 'expired.leased_by'])
    .execute();
  return rows.map((r) => ({
    ...deliveryName(r),
    attempts: r.attempts,
    holder: r.leased_by,
    dead: r.status === 'dead',
  }));
}

/**
 * Milliseconds (by the database clock, so the caller's clock may differ) until something becomes
 * claimable: a retry falling due or a lease expiring; 0 if something is due now, undefined if
 * nothing waits.
 */
export async function nextDueInMs(db: Db): Promise<number | undefined> {
  const row = await db
    .with('eligible', () => deliverableRecipients(db))
    .selectNoFrom((eb) => [
      eb
        .selectFrom('eligible')
        .select((e) => e.fn.min('oldest').as('at'))
        .as('due'),
      eb
        .selectFrom('outbox')
        .select((e) => e.fn.min('lease_until').as('at'))
        .where('status', '=', 'delivering')
        .as('lease'),
      sql<Date>`now()`.as('now'),
    ])
    .executeTakeFirstOrThrow();
  const times = [row.due, row.lease].filter((t): t is Date => t instanceof Date);
  if (times.length === 0) return undefined;
  return Math.max(0, Math.min(...times.map((t) => t.getTime())) - row.now.getTime());
}

// ─── Mailbox ──────────────────────────────────────────────────────────────────────────────────

export async function listPending(db: Db, recipientId: string, after: bigint, limit: number) {
  return db
    .selectFrom('outbox')
    .select(['id', 'message_id', 'document_type', 'format', 'content_type', 'body'])
    .where('recipient_id', '=', recipientId)
    .where('status', '=', 'pending')
    .where('id', '>', after)
    .orderBy('id')
    .limit(limit)
    .execute();
}

export type AckSelection = { messageIds: readonly string[] } | { upTo: bigint };

/** Pending rows of this recipient become delivered; another partner's rows never match. */
export async function acknowledgePending(db: Db, recipientId: string, selection: AckSelection) {
  let update = db
    .updateTable('outbox')
    .set({ status: 'delivered', delivered_at: sql<Date>`now()` })
    .where('recipient_id', '=', recipientId)
    .where('status', '=', 'pending');
  update =
    'upTo' in selection
      ? update.where('id', '<=', selection.upTo)
      : update.where('message_id', 'in', selection.messageIds);
  const rows = await update
    .returning(['id', 'message_id', 'document_type', 'digest', 'refs'])
    .execute();
  return rows.sort((a, b) => (a.id < b.id ? -1 : 1));
}

/** Of these message ids, the ones this recipient has already acknowledged. */
export async function findDelivered(
  db: Db,
  recipientId: string,
  messageIds: readonly string[],
): Promise<string[]> {
  if (messageIds.length === 0) return [];
  const rows = await db
    .selectFrom('outbox')
    .select('message_id')
    .where('recipient_id', '=', recipientId)
    .where('status', '=', 'delivered')
    .where('message_id', 'in', messageIds)
    .execute();
  return rows.map((r) => r.message_id);
}

// ─── Dead letters ─────────────────────────────────────────────────────────────────────────────

export interface DeadLetterFilter {
  partnerId?: string;
  type?: string;
  /** Only documents created at least this long ago. */
  olderThanMs?: number;
  /** Only documents created at most this long ago. */
  newerThanMs?: number;
}

function deadLetters(db: Db, filter: DeadLetterFilter) {
  let query = db.selectFrom('outbox').where('status', '=', 'dead');
  if (filter.partnerId !== undefined) query = query.where('recipient_id', '=', filter.partnerId);
  if (filter.type !== undefined) query = query.where('document_type', '=', filter.type);
  if (filter.olderThanMs !== undefined) {
    query = query.where('created_at', '<=', msFromNow(-filter.olderThanMs));
  }
  if (filter.newerThanMs !== undefined) {
    query = query.where('created_at', '>=', msFromNow(-filter.newerThanMs));
  }
  return query;
}

export async function listDeadLetterRows(
  db: Db,
  filter: DeadLetterFilter,
  after: bigint,
  limit: number,
) {
  return deadLetters(db, filter)
    .select([
      'id',
      'message_id',
      'recipient_id',
      'document_type',
      'format',
      'attempts',
      'created_at',
      'dead_at',
      'last_error',
    ])
    .where('id', '>', after)
    .orderBy('id')
    .limit(limit)
    .execute();
}

export type ReplaySelection =
  { messageIds: readonly string[] } | { filter: DeadLetterFilter; limit: number };

/**
 * Dead letters back to pending with a fresh delivery cycle: attempts from zero, due now, max age
 * counted from now. Only rows still dead change, so two operators replaying at once replay once.
 */
export async function reviveDeadLetters(db: Db, selection: ReplaySelection) {
  const chosen =
    'messageIds' in selection
      ? db
          .selectFrom('outbox')
          .select('id')
          .where('status', '=', 'dead')
          .where('message_id', 'in', selection.messageIds)
      : deadLetters(db, selection.filter).select('id').orderBy('id').limit(selection.limit);
  return db
    .updateTable('outbox')
    .set({
      ...NO_LEASE,
      status: 'pending',
      attempts: 0,
      next_attempt_at: sql<Date>`now()`,
      queued_at: sql<Date>`now()`,
      dead_at: null,
    })
    .where('id', 'in', chosen.forUpdate().skipLocked())
    .where('status', '=', 'dead')
    .returning(['id', 'message_id', 'recipient_id', 'document_type', 'last_error'])
    .execute();
}

export async function findDeadLetterRow(db: Db, messageId: string) {
  return db
    .selectFrom('outbox')
    .selectAll()
    .where('message_id', '=', messageId)
    .where('status', '=', 'dead')
    .executeTakeFirst();
}
