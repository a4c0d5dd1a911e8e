/**
 * Database faults against real gateway processes on a PostgreSQL server of the test's own (the
 * shared server is never stopped): a session killed in the middle of a request's transaction
 * (the request gets a retryable 503, nothing of it stays, the retry succeeds once, the process
 * lives on); idle pooled sessions killed; lock and statement timeouts answered as retryable 503;
 * the whole server stopped for 30 s and started again while documents wait for delivery and jobs
 * are due (readiness red then green, the process stays up, the jobs resume, every document is
 * delivered under its own messageId).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type DatabaseHandle } from '../../gateway/db/database.ts';
import { migrateToLatest } from '../../gateway/db/migrate.ts';
import { spawnGateway, type ChildGateway } from '../support/child-gateway.ts';
import { enqueueNoAwards, eventually, testOutboxDeps } from '../support/delivery.ts';
import { exampleDocument } from '../support/documents.ts';
import type { RegisteredPartner } from '../support/gateway.ts';
import {
  assignedIds,
  backendsOf,
  call,
  childUrl,
  connectClient,
  FAULTS_ADMIN_TOKEN,
  isRunning,
  postBytes,
  registerOver,
  sendAccepted,
  terminate,
  type HttpAnswer,
} from '../support/faults-db-http.ts';
import { startReceiver, type Receiver } from '../support/receiver.ts';
import {
  startThrowawayPostgres,
  throwawayPostgresUnavailable,
  type ThrowawayPostgres,
} from '../support/throwaway-postgres.ts';

const unavailable = throwawayPostgresUnavailable();
if (unavailable !== undefined) console.warn(`database fault tests skipped: ${unavailable}`);

let server: ThrowawayPostgres | undefined;
let dataDir: string;
const gateways: ChildGateway[] = [];
const handles: DatabaseHandle[] = [];
const clients: pg.Client[] = [];
const receivers: Receiver[] = [];
/** How long PostgreSQL stays down in the outage test. */
const OUTAGE_MS = 30_000;

beforeAll(async () => {
  if (unavailable !== undefined) return;
  server = await startThrowawayPostgres();
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'nakadachi-dbfaults-'));
});

afterAll(async () => {
  for (const gateway of gateways) gateway.kill('SIGKILL');
  await Promise.all(gateways.map((g) => g.exited));
  await Promise.all(clients.map((c) => c.end().catch(() => undefined)));
  await Promise.all(receivers.map((r) => r.close()));
  await Promise.all(handles.map((h) => h.close().catch(() => undefined)));
  await server?.remove();
  if (dataDir !== undefined) fs.rmSync(dataDir, { recursive: true, force: true });
});

/** A gateway process on a database of the throwaway server, its sessions named `app`. */
async function startGatewayOn(
  database: string,
  app: string,
  env: Record<string, string> = {},
  params: Record<string, string> = {},
): Promise<{ child: ChildGateway; url: string }> {
  const child = await spawnGateway({
    DATABASE_URL: server!.url(database, { application_name: app, ...params }),
    DATA_DIR: dataDir,
    ADMIN_TOKEN: FAULTS_ADMIN_TOKEN,
    DB_POOL_SIZE: '4',
    GROUP_COMMIT_LANES: '2',
    SHUTDOWN_TIMEOUT_MS: '2000',
    ...env,
  });
  gateways.push(child);
  return { child, url: childUrl(child) };
}

async function openOn(database: string): Promise<DatabaseHandle> {
  const handle = await openDatabase({ databaseUrl: server!.url(database), dataDir: '' });
  handles.push(handle);
  return handle;
}

async function clientOn(database: string): Promise<pg.Client> {
  const client = await connectClient(server!.url(database));
  clients.push(client);
  return client;
}

async function stopGateway(child: ChildGateway): Promise<void> {
  child.kill('SIGTERM');
  expect(await child.exited, child.output()).toBe(0);
  gateways.splice(gateways.indexOf(child), 1);
}

/** What the gateway kept of one inbound message: idempotency claim, log entries. */
async function traceOf(db: DatabaseHandle['db'], senderId: string, messageId: string) {
  const claims = await db
    .selectFrom('inbound_messages')
    .select('message_id')
    .where('sender_id', '=', senderId)
    .where('message_id', '=', messageId)
    .execute();
  const logged = await db
    .selectFrom('message_log')
    .select(['status', 'event'])
    .where('partner_id', '=', senderId)
    .where('message_id', '=', messageId)
    .execute();
  return { claims: claims.length, logged };
}

/** The one error envelope of a retryable refusal: 503, Retry-After, STORAGE_UNAVAILABLE. */
function expectRetryable503(answer: HttpAnswer): void {
  expect(answer.status, answer.text).toBe(503);
  expect(Number(answer.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
  expect(Object.keys(answer.json as object)).toEqual(['error']);
  expect(answer.json.error).toEqual({
    code: 'STORAGE_UNAVAILABLE',
    message: expect.any(String),
    requestId: answer.headers.get('x-request-id'),
  });
}

let lockedSerial = 0;

/**
 * The test locks an item row, then a partner adds an offer to that item: the request's
 * transaction claims its messageId, inserts the offer, and waits on the lock (the foreign key
 * check takes FOR KEY SHARE on the item), mid-transaction, until the test lets go.
 */
async function sendIntoLock(
  url: string,
  locker: pg.Client,
  itemId: string,
  seller: RegisteredPartner,
) {
  lockedSerial += 1;
  const doc = exampleDocument('ItemNotice', seller.id, {
    itemId,
    sellerItemId: `LOCKED-${lockedSerial}`,
    gtin: undefined,
    releaseDate: '2036-12-01',
  });
  const bytes = JSON.stringify(doc);
  await locker.query('begin');
  await locker.query('select id from items where id = $1 for update', [itemId]);
  const pending = postBytes(url, seller, bytes);
  return { doc, bytes, pending };
}

/**
 * The one session of the process waiting on a lock, seen from a session outside any transaction
 * (inside one, pg_stat_activity is a snapshot taken at its first read).
 */
function waitingOnLock(monitor: pg.Client, app: string) {
  return eventually(async () => {
    const found = (await backendsOf(monitor, app)).filter(
      (b) => b.state === 'active' && b.waitEventType === 'Lock',
    );
    return found.length === 1 ? found[0] : undefined;
  }, 'the request to wait on the lock');
}

describe.skipIf(unavailable !== undefined)('database faults', () => {
  it('a session killed mid-transaction: 503, no partial state, the process lives, the retry succeeds once', async () => {
    await server!.createDatabase('killed');
    const app = 'gateway-killed';
    const { child, url } = await startGatewayOn('killed', app);
    const handle = await openOn('killed');
    const db = handle.db;
    const seller1 = await registerOver(url, { id: 'SELLER-1', roles: ['seller'] });
    const seller2 = await registerOver(url, { id: 'SELLER-2', roles: ['seller'] });
    const { itemId } = await sendAccepted(
      url,
      seller1,
      exampleDocument('ItemNotice', seller1.id, { gtin: undefined, releaseDate: '2036-12-01' }),
    );
    const outboxBefore = await db.selectFrom('outbox').select('id').execute();

    const locker = await clientOn('killed');
    const monitor = await clientOn('killed');
    const { doc, bytes, pending } = await sendIntoLock(url, locker, itemId!, seller2);
    const waiting = await waitingOnLock(monitor, app);
    // Mid-transaction: it has written (the idempotency claim) and now waits for the lock.
    expect(waiting.wrote).toBe(true);
    await terminate(monitor, [waiting.pid]);
    const answer = await pending.catch((error: unknown) =>
      error instanceof Error ? error : new Error(String(error)),
    );
    await locker.query('rollback');

    // The process is still there (a dead session must not crash it), and answered.
    expect(isRunning(child.pid), child.output()).toBe(true);
    if (answer instanceof Error) throw answer;
    expectRetryable503(answer);
    // Nothing of the request stayed: no claim, no log entry, no offer, nothing queued.
    expect(await traceOf(db, seller2.id, doc.header.messageId!)).toEqual({ claims: 0, logged: [] });
    expect(
      await db.selectFrom('offers').select('item_id').where('seller_id', '=', seller2.id).execute(),
    ).toEqual([]);
    expect(await db.selectFrom('outbox').select('id').execute()).toEqual(outboxBefore);
    // And serving.
    expect((await call(url, 'GET', '/healthz')).status).toBe(200);
    expect((await call(url, 'GET', '/readyz')).status).toBe(200);

    // The retry with the same messageId and bytes takes effect once; a second retry replays it.
    const retried = await postBytes(url, seller2, bytes);
    expect(retried.status, retried.text).toBe(200);
    expect(retried.headers.get('idempotent-replayed')).toBeNull();
    expect(retried.json.body.status).toBe('accepted');
    expect(assignedIds(retried)).toEqual({ itemId });
    const again = await postBytes(url, seller2, bytes);
    expect(again.status).toBe(200);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.json).toEqual(retried.json);
    expect(await traceOf(db, seller2.id, doc.header.messageId!)).toEqual({
      claims: 1,
      logged: [{ status: 'accepted', event: 'received' }],
    });
    expect(
      await db.selectFrom('offers').select('item_id').where('seller_id', '=', seller2.id).execute(),
    ).toEqual([{ item_id: itemId }]);
    expect(child.output()).not.toMatch(/uncaught|unhandled 'error'/i);
    await stopGateway(child);
  });

  it('idle pooled sessions killed: the process lives, reconnects its listener and serves', async () => {
    await server!.createDatabase('idle');
    const app = 'gateway-idle';
    const { child, url } = await startGatewayOn('idle', app);
    const monitor = await clientOn('idle');
    const seller = await registerOver(url, { id: 'SELLER-1', roles: ['seller'] });
    // Several pooled sessions, all idle afterwards, plus the LISTEN session of the deliverer.
    await Promise.all(Array.from({ length: 4 }, () => call(url, 'GET', '/readyz')));
    const idle = await eventually(async () => {
      const backends = await backendsOf(monitor, app);
      return backends.length >= 3 && backends.every((b) => b.state === 'idle')
        ? backends
        : undefined;
    }, 'idle pooled sessions');
    expect(idle.some((b) => b.query.startsWith('listen'))).toBe(true);
    const killed = idle.map((b) => b.pid);
    await terminate(monitor, killed);
    await eventually(
      async () => (await backendsOf(monitor, app)).every((b) => !killed.includes(b.pid)),
      'the killed sessions to end',
    );

    // The pool's 'error' events did not crash it; the listener comes back on a new session.
    await eventually(
      async () =>
        (await backendsOf(monitor, app)).some(
          (b) => b.query.startsWith('listen') && !killed.includes(b.pid),
        ),
      'the LISTEN session to come back',
    );
    expect(isRunning(child.pid), child.output()).toBe(true);
    await eventually(
      async () => (await call(url, 'GET', '/readyz')).status === 200,
      'readiness on new sessions',
    );
    await sendAccepted(
      url,
      seller,
      exampleDocument('ItemNotice', seller.id, { gtin: undefined, releaseDate: '2036-12-01' }),
    );
    expect(child.output()).not.toMatch(/uncaught|unhandled 'error'/i);
    await stopGateway(child);
  });

  it('lock and statement timeouts are answered 503 (retry), leave nothing behind, and the retry succeeds', async () => {
    const database = await server!.createDatabase('timeouts');
    const handle = await openOn(database);
    await migrateToLatest(handle.db);
    const monitor = await clientOn(database);
    const locker = await clientOn(database);
    const cases = [
      { app: 'gateway-lock-timeout', setting: 'lock_timeout' },
      { app: 'gateway-statement-timeout', setting: 'statement_timeout' },
    ];
    let seller1: RegisteredPartner | undefined;
    let seller2: RegisteredPartner | undefined;
    for (const { app, setting } of cases) {
      // One process per setting, on the same database (started one after the other: the
      // migrator's lock would trip their own timeouts).
      const { child, url } = await startGatewayOn(
        database,
        app,
        { ROLE: 'api' },
        {
          options: `-c ${setting}=1000`,
        },
      );
      seller1 ??= await registerOver(url, { id: 'SELLER-1', roles: ['seller'] });
      seller2 ??= await registerOver(url, { id: 'SELLER-2', roles: ['seller'] });
      const { itemId } = await sendAccepted(
        url,
        seller1,
        exampleDocument('ItemNotice', seller1.id, {
          sellerItemId: `ITEM-${setting}`,
          gtin: undefined,
          releaseDate: '2036-12-01',
        }),
      );
      const { doc, bytes, pending } = await sendIntoLock(url, locker, itemId!, seller2);
      // The lock is still held: the gateway gives up on its own, after its timeout.
      const answer = await pending;
      expectRetryable503(answer);
      expect(answer.json.error.message).toMatch(
        setting === 'lock_timeout' ? /lock timeout/ : /statement timeout/,
      );
      // Rolled back at once: no session of the gateway is left in a transaction or holding locks.
      const sessions = await backendsOf(monitor, app);
      expect(sessions.filter((b) => b.wrote || b.state !== 'idle')).toEqual([]);
      expect(await traceOf(handle.db, seller2.id, doc.header.messageId!)).toEqual({
        claims: 0,
        logged: [],
      });
      await locker.query('rollback');

      const retried = await postBytes(url, seller2, bytes);
      expect(retried.status, retried.text).toBe(200);
      expect(retried.headers.get('idempotent-replayed')).toBeNull();
      expect(assignedIds(retried)).toEqual({ itemId });
      expect(await traceOf(handle.db, seller2.id, doc.header.messageId!)).toEqual({
        claims: 1,
        logged: [{ status: 'accepted', event: 'received' }],
      });
      expect(child.output()).not.toMatch(/unhandled error/);
      await stopGateway(child);
    }
  });

  it(
    'PostgreSQL stopped for 30 s: readiness red then green, the process lives, jobs resume, every queued document is delivered',
    { timeout: 170_000 },
    async () => {
      await server!.createDatabase('outage');
      // The buyer's endpoint refuses at first: its documents wait in the outbox, retried.
      const receiver = await startReceiver({ respond: () => ({ status: 503 }) });
      receivers.push(receiver);
      const app = 'gateway-outage';
      const { child, url } = await startGatewayOn('outage', app, {
        ROLE: 'all',
        ALLOW_INSECURE_ENDPOINTS: 'true',
        DELIVERY_RETRY_BASE_MS: '200',
        DELIVERY_RETRY_MAX_MS: '1000',
        DELIVERY_MAX_ATTEMPTS: '1000',
        DELIVERY_TIMEOUT_MS: '2000',
        DELIVERY_LEASE_MS: '4000',
      });
      const handle = await openOn('outage');
      const db = handle.db;
      const seller = await registerOver(url, { id: 'SELLER-1', roles: ['seller'] });
      const buyer = await registerOver(url, {
        id: 'BUYER-1',
        roles: ['buyer'],
        deliveryMode: 'push',
        endpointUrl: receiver.url,
      });
      const { itemId } = await sendAccepted(
        url,
        seller,
        exampleDocument('ItemNotice', seller.id, { gtin: undefined, releaseDate: '2036-12-01' }),
      );
      const { reservationId } = await sendAccepted(
        url,
        buyer,
        exampleDocument('PurchaseReservation', buyer.id, {
          itemId,
          quantity: 10,
          maxUnitPrice: { amount: '1000', currency: 'JPY' },
          neededBy: '2036-06-30',
          biddingDeadline: new Date(Date.now() + 3_600_000).toISOString(),
        }),
      );
      await sendAccepted(
        url,
        seller,
        exampleDocument('OrderBid', seller.id, {
          reservationId,
          action: 'submit',
          unitPrice: { amount: '900', currency: 'JPY' },
          quantity: 10,
          promisedDeliveryDate: '2036-06-01',
          note: undefined,
        }),
      );
      const queued = await enqueueNoAwards(db, testOutboxDeps(), buyer.id, 60);
      await eventually(
        () => queued.every((id) => receiver.distinctMessageIds().has(id)),
        'every queued document tried (and refused) once',
        30_000,
      );

      // The bidding closes while the database is down: the judge is due during the outage.
      await sql`update reservations set bidding_deadline = now() + interval '3 seconds'
                 where id = ${reservationId}`.execute(db);
      await server!.stop();
      const stoppedAt = Date.now();
      receiver.respondWith(() => ({ status: 200 }));

      // A document sent meanwhile is refused with a retryable 503.
      const refusedDoc = exampleDocument('ItemNotice', seller.id, {
        sellerItemId: 'DURING-OUTAGE',
        gtin: undefined,
        releaseDate: '2036-12-01',
      });
      expectRetryable503(await postBytes(url, seller, JSON.stringify(refusedDoc)));
      const firstReadiness = await call(url, 'GET', '/readyz');
      expect([firstReadiness.status, firstReadiness.json]).toEqual([
        503,
        { status: 'unavailable', database: 'postgres' },
      ]);
      // The outage lasts 30 s; the process is watched all along.
      const readiness: number[] = [];
      while (Date.now() - stoppedAt < OUTAGE_MS) {
        readiness.push((await call(url, 'GET', '/readyz')).status);
        expect((await call(url, 'GET', '/healthz')).status).toBe(200);
        expect(isRunning(child.pid), child.output()).toBe(true);
        await new Promise((resolve) => setTimeout(resolve, 1_000));
      }
      expect(readiness.length).toBeGreaterThanOrEqual(10);
      expect(new Set(readiness)).toEqual(new Set([503]));

      await server!.start();
      await eventually(
        async () => (await call(url, 'GET', '/readyz')).status === 200,
        'readiness after the restart',
        30_000,
        200,
      );
      const restartedAt = (
        await sql<{ at: Date }>`select pg_postmaster_start_time() as at`.execute(db)
      ).rows[0]!.at;
      expect(restartedAt.getTime()).toBeGreaterThan(stoppedAt);

      // The judge runs again: it awards the reservation whose bidding closed during the outage.
      const deal = await eventually(
        () =>
          db
            .selectFrom('deals')
            .select(['id', 'created_at'])
            .where('reservation_id', '=', reservationId!)
            .executeTakeFirst(),
        'the award of the reservation closed during the outage',
        30_000,
        250,
      );
      expect(deal.created_at.getTime()).toBeGreaterThanOrEqual(restartedAt.getTime());
      const award = await eventually(
        async () =>
          (
            await db
              .selectFrom('outbox')
              .select('message_id')
              .where('recipient_id', '=', buyer.id)
              .where('document_type', '=', 'Award')
              .execute()
          )[0]?.message_id,
        'the award queued for the buyer',
      );
      // Every document queued for the buyer is delivered, none lost; the receiver saw no other id.
      const expected = new Set([...queued, award]);
      await eventually(
        () => [...expected].every((id) => receiver.acknowledgedIds().has(id)),
        'every queued document delivered',
        60_000,
        250,
      );
      const rows = await db
        .selectFrom('outbox')
        .select(['message_id', 'status'])
        .where('recipient_id', '=', buyer.id)
        .execute();
      expect(new Set(rows.map((r) => r.message_id))).toEqual(expected);
      await eventually(
        async () =>
          (
            await db
              .selectFrom('outbox')
              .select('status')
              .where('recipient_id', '=', buyer.id)
              .where('status', '<>', 'delivered')
              .execute()
          ).length === 0,
        'every outbox row settled as delivered',
        30_000,
        250,
      );
      expect(receiver.acknowledgedIds()).toEqual(expected);
      expect(receiver.distinctMessageIds()).toEqual(expected);

      // The scheduled jobs tick again after the restart, in this same process.
      const ticks = await eventually(async () => {
        const runs = await db
          .selectFrom('job_runs')
          .select(['instance'])
          .where('started_at', '>=', restartedAt)
          .where('job', '=', 'judge-reservations')
          .where('outcome', '=', 'ok')
          .execute();
        return runs.length > 0 ? runs : undefined;
      }, 'a judge-reservations tick after the restart');
      expect(ticks.every((t) => t.instance.split(':').at(-2) === String(child.pid))).toBe(true);
      // The document refused during the outage left nothing.
      expect(await traceOf(db, seller.id, refusedDoc.header.messageId!)).toEqual({
        claims: 0,
        logged: [],
      });
      expect(isRunning(child.pid), child.output()).toBe(true);
      expect(child.output()).not.toMatch(/uncaught|unhandled 'error'/i);
      await stopGateway(child);
    },
  );
});
