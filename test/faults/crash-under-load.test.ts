/**
 * A real gateway process SIGKILLed at a random moment, on PostgreSQL (a schema of its own):
 *
 * - under load from 32 concurrent clients sending ItemNotices and PurchaseReservations: every
 *   document that got an accepted receipt before the kill is in the message log once and took
 *   effect once; after a restart on the same database every document is sent again — the
 *   accepted ones get their original receipt back (Idempotent-Replayed, same digest, same
 *   signature), the others are processed exactly once (replayed if they had committed when the
 *   process died) — and every receipt verifies against the gateway's JWKS;
 * - while it pushes queued documents to a partner: after a restart every document is delivered,
 *   any re-send under the same messageId with the same bytes, none lost, none dead.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { compactVerify, createLocalJWKSet, type JSONWebKeySet } from 'jose';
import type { Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPartner } from '../../gateway/core/partners/partners.service.ts';
import type { Database } from '../../gateway/db/tables.ts';
import {
  openSharedStore,
  spawnGateway,
  type ChildGateway,
  type SharedStore,
} from '../support/child-gateway.ts';
import { onPostgres } from '../support/database.ts';
import { enqueueNoAwards, eventually, testOutboxDeps } from '../support/delivery.ts';
import { exampleDocument } from '../support/documents.ts';
import { startReceiver, type Receiver } from '../support/receiver.ts';

const CLIENTS = 32;
const DOCUMENTS = 480;
const SELLERS = ['LOAD-SELLER-1', 'LOAD-SELLER-2'];
const BUYERS = ['LOAD-BUYER-1', 'LOAD-BUYER-2'];
const PUSH_PARTNER = 'CRASH-PUSH';
const PUSHED = 400;

let store: SharedStore;
let dataDir: string;
const gateways: ChildGateway[] = [];
const receivers: Receiver[] = [];

/** Both processes of a test share the data directory, hence the signing key. */
function gatewayEnv(): Record<string, string> {
  return {
    ...store.env,
    DATA_DIR: dataDir,
    // 32 clients of two partners each go well beyond the default per-partner rate.
    RATE_LIMIT_PER_SECOND: '0',
    ALLOW_INSECURE_ENDPOINTS: 'true',
    DELIVERY_RETRY_BASE_MS: '20',
    DELIVERY_RETRY_MAX_MS: '200',
    DELIVERY_TIMEOUT_MS: '1000',
    // The killed process's claims come back 2 s after it made them.
    DELIVERY_LEASE_MS: '2000',
    SHUTDOWN_TIMEOUT_MS: '2000',
  };
}

async function startGateway(): Promise<{ gateway: ChildGateway; url: string }> {
  const gateway = await spawnGateway(gatewayEnv());
  gateways.push(gateway);
  const line = gateway
    .output()
    .split('\n')
    .find((l) => l.includes('"msg":"gateway started"'));
  return { gateway, url: (JSON.parse(line!) as { url: string }).url };
}

beforeAll(async () => {
  if (!onPostgres) return;
  store = await openSharedStore();
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'nakadachi-crash-load-'));
});
afterAll(async () => {
  for (const gateway of gateways) gateway.kill('SIGKILL');
  await Promise.all(gateways.map((g) => g.exited));
  await Promise.all(receivers.map((r) => r.close()));
  await store?.close();
  if (dataDir !== undefined) fs.rmSync(dataDir, { recursive: true, force: true });
});

interface Sent {
  messageId: string;
  sender: string;
  apiKey: string;
  type: 'ItemNotice' | 'PurchaseReservation';
  /** sellerItemId of a notice, buyerReference of a reservation: where its effect is found. */
  reference: string;
  bytes: string;
  /** unsent: never tried before the kill; failed: the request died with the process. */
  state: 'unsent' | 'accepted' | 'failed';
  /** The receipt answered before the kill. */
  receipt?: Record<string, any>;
}

interface Answer {
  status: number;
  replayed: boolean;
  receipt: Record<string, any> | undefined;
}

async function send(url: string, doc: Sent): Promise<Answer> {
  const response = await fetch(`${url}/v1/documents`, {
    method: 'POST',
    headers: { authorization: `Bearer ${doc.apiKey}`, 'content-type': 'application/json' },
    body: doc.bytes,
  });
  const json = (await response.json()) as { body?: Record<string, any> };
  return {
    status: response.status,
    replayed: response.headers.get('idempotent-replayed') === 'true',
    receipt: json.body,
  };
}

/** Runs `work` over the documents with `CLIENTS` concurrent clients, each taking the next one. */
async function withClients(docs: Sent[], work: (doc: Sent) => Promise<boolean>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: CLIENTS }, async () => {
      while (next < docs.length) {
        const doc = docs[next++]!;
        if (!(await work(doc))) return;
      }
    }),
  );
}

function assignedValue(receipt: Record<string, any>, name: string): string | undefined {
  return (receipt.assigned as { name: string; value: string }[]).find((a) => a.name === name)
    ?.value;
}

interface Recorded {
  /** Accepted entries of the document in the message log. */
  logged: number;
  /** Rows of its effect: the offer of a notice, the reservation of a reservation. */
  effects: number;
  /** The gateway id of the effect (item of the offer, or the reservation). */
  effectId: string | undefined;
}

/** What the database holds of each document, in four queries. */
async function recorded(db: Kysely<Database>, docs: Sent[]): Promise<Map<string, Recorded>> {
  const logged = await db
    .selectFrom('message_log')
    .select(['partner_id', 'message_id', (eb) => eb.fn.countAll<string>().as('n')])
    .where('direction', '=', 'inbound')
    .where('event', '=', 'received')
    .where('status', '=', 'accepted')
    .where('partner_id', 'in', [...SELLERS, ...BUYERS])
    .groupBy(['partner_id', 'message_id'])
    .execute();
  const offers = await db
    .selectFrom('offers')
    .select(['seller_id', 'seller_item_id', 'item_id'])
    .where('seller_id', 'in', SELLERS)
    .execute();
  const reservations = await db
    .selectFrom('reservations')
    .select(['buyer_id', 'buyer_reference', 'id'])
    .where('buyer_id', 'in', BUYERS)
    .execute();
  const logCount = new Map(logged.map((r) => [`${r.partner_id}/${r.message_id}`, Number(r.n)]));
  const effectsOf = new Map<string, string[]>();
  for (const offer of offers) {
    const key = `${offer.seller_id}/${offer.seller_item_id}`;
    effectsOf.set(key, [...(effectsOf.get(key) ?? []), offer.item_id]);
  }
  for (const reservation of reservations) {
    const key = `${reservation.buyer_id}/${reservation.buyer_reference}`;
    effectsOf.set(key, [...(effectsOf.get(key) ?? []), reservation.id]);
  }
  return new Map(
    docs.map((doc) => {
      const effects = effectsOf.get(`${doc.sender}/${doc.reference}`) ?? [];
      return [
        doc.messageId,
        {
          logged: logCount.get(`${doc.sender}/${doc.messageId}`) ?? 0,
          effects: effects.length,
          effectId: effects[0],
        },
      ];
    }),
  );
}

describe.skipIf(!onPostgres)('SIGKILL of a real gateway (PostgreSQL: TEST_DATABASE_URL)', () => {
  it(
    'under load from 32 clients: accepted documents are kept once, every document is resent once',
    { timeout: 150_000 },
    async () => {
      const keys = new Map<string, string>();
      await store.use(async (db) => {
        for (const [id, role] of [
          ...SELLERS.map((s) => [s, 'seller'] as const),
          ...BUYERS.map((b) => [b, 'buyer'] as const),
        ]) {
          const created = await createPartner(
            { db, checkEndpoint: () => ({ ok: true }) },
            { id, name: id, roles: [role] },
          );
          keys.set(id, created.apiKey.apiKey);
        }
      });
      const first = await startGateway();

      // The item every reservation asks for, published before the load.
      const published = await send(
        first.url,
        documentFor('ItemNotice', SELLERS[0]!, 'LOAD-ITEM', keys),
      );
      expect(published.status).toBe(200);
      const itemId = assignedValue(published.receipt!, 'itemId')!;

      const docs: Sent[] = Array.from({ length: DOCUMENTS }, (_, i) =>
        i % 2 === 0
          ? documentFor('ItemNotice', SELLERS[(i / 2) % SELLERS.length]!, `LOAD-${i}`, keys)
          : documentFor(
              'PurchaseReservation',
              BUYERS[((i - 1) / 2) % BUYERS.length]!,
              `LOAD-${i}`,
              keys,
              itemId,
            ),
      );
      // Killed once this many receipts came back: anywhere from early to late in the load.
      const killAfter = Math.floor(DOCUMENTS * (0.15 + Math.random() * 0.45));
      const why = `killed after ${killAfter} accepted receipts`;
      let accepted = 0;
      const unexpected: string[] = [];
      await withClients(docs, async (doc) => {
        doc.state = 'failed';
        let answer: Answer;
        try {
          answer = await send(first.url, doc);
        } catch {
          return false; // the process is gone: this client stops
        }
        if (answer.status !== 200 || answer.replayed || answer.receipt?.status !== 'accepted') {
          unexpected.push(`${doc.messageId}: ${answer.status} ${JSON.stringify(answer.receipt)}`);
          return true;
        }
        doc.state = 'accepted';
        doc.receipt = answer.receipt;
        accepted += 1;
        if (accepted === killAfter) first.gateway.kill('SIGKILL');
        return true;
      });
      expect(await first.gateway.exited).toBeNull();
      expect(unexpected, why).toEqual([]);

      const before = { accepted: [] as Sent[], failed: [] as Sent[], unsent: [] as Sent[] };
      for (const doc of docs) before[doc.state].push(doc);
      expect(before.accepted.length, why).toBeGreaterThanOrEqual(killAfter);
      // Requests were in flight when the process died, and some were never sent.
      expect(before.failed.length, why).toBeGreaterThan(0);
      expect(before.unsent.length, why).toBeGreaterThan(0);

      // What the dead process left: each accepted document logged once with its effect once;
      // the interrupted ones all or nothing; the unsent ones nothing.
      const atKill = await store.use((db) => recorded(db, docs));
      for (const doc of before.accepted) {
        const assignedKey = doc.type === 'ItemNotice' ? 'itemId' : 'reservationId';
        expect(atKill.get(doc.messageId), `${why}: ${doc.messageId}`).toEqual({
          logged: 1,
          effects: 1,
          effectId: assignedValue(doc.receipt!, assignedKey),
        });
      }
      for (const doc of before.failed) {
        const state = atKill.get(doc.messageId)!;
        expect([0, 1]).toContain(state.logged);
        expect(state.effects).toBe(state.logged);
      }
      for (const doc of before.unsent) {
        expect(atKill.get(doc.messageId)).toMatchObject({ logged: 0, effects: 0 });
      }

      // Restarted on the same database, every document is sent again, 32 at a time.
      const second = await startGateway();
      const answers = new Map<string, Answer>();
      await withClients(docs, async (doc) => {
        answers.set(doc.messageId, await send(second.url, doc));
        return true;
      });
      for (const doc of docs) {
        const answer = answers.get(doc.messageId)!;
        expect(answer.status, doc.messageId).toBe(200);
        expect(answer.receipt!.status).toBe('accepted');
        expect(answer.receipt!.digest).toBe(sha256(doc.bytes));
        if (doc.state === 'accepted') {
          // The original receipt, as it was: same id, digest, time and signature.
          expect(answer.replayed).toBe(true);
          expect(answer.receipt).toEqual(doc.receipt);
        } else {
          // Replayed exactly when the dead process had committed it.
          expect(answer.replayed, doc.messageId).toBe(atKill.get(doc.messageId)!.logged === 1);
        }
      }

      const after = await store.use((db) => recorded(db, docs));
      for (const doc of docs) {
        const assignedKey = doc.type === 'ItemNotice' ? 'itemId' : 'reservationId';
        expect(after.get(doc.messageId), doc.messageId).toEqual({
          logged: 1,
          effects: 1,
          effectId: assignedValue(answers.get(doc.messageId)!.receipt!, assignedKey),
        });
      }
      // No item without its offer: a notice half-applied twice would leave one.
      const orphans = await store.use((db) =>
        db
          .selectFrom('items')
          .leftJoin('offers', 'offers.item_id', 'items.id')
          .select('items.id')
          .where('items.created_by', 'in', SELLERS)
          .where('offers.item_id', 'is', null)
          .execute(),
      );
      expect(orphans).toEqual([]);

      // Every receipt, from either process, verifies against the keys the gateway publishes.
      const jwks = (await (
        await fetch(`${second.url}/.well-known/jwks.json`)
      ).json()) as JSONWebKeySet;
      const keySet = createLocalJWKSet(jwks);
      const receipts = [
        ...before.accepted.map((d) => d.receipt!),
        ...[...answers.values()].map((a) => a.receipt!),
      ];
      for (const receipt of receipts) {
        const { signature, ...unsigned } = receipt;
        const { payload } = await compactVerify(String(signature), keySet);
        expect(JSON.parse(new TextDecoder().decode(payload))).toEqual(unsigned);
      }

      second.gateway.kill('SIGTERM');
      expect(await second.gateway.exited).toBe(0);
    },
  );

  it(
    'while it pushes: every queued document is delivered after the restart, none lost',
    { timeout: 120_000 },
    async () => {
      // Killed when the partner has received this many pushes: early, midway or late.
      const killAt = 40 + Math.floor(Math.random() * (PUSHED - 120));
      const why = `killed at push ${killAt}`;
      // The process to kill, set once it runs; the partner kills it as the push arrives.
      const target: { gateway?: ChildGateway } = {};
      let killed = false;
      const rx = await startReceiver({
        respond: (_request, n) => {
          if (!killed && target.gateway !== undefined && n + 1 >= killAt) {
            killed = true;
            target.gateway.kill('SIGKILL');
          }
          // A short wait keeps pushes in flight at any moment.
          return { status: 200, delayMs: 20 };
        },
      });
      receivers.push(rx);
      const queued = await store.use(async (db) => {
        await createPartner(
          { db, checkEndpoint: () => ({ ok: true }) },
          {
            id: PUSH_PARTNER,
            name: 'Crash push',
            roles: ['buyer'],
            deliveryMode: 'push',
            endpointUrl: rx.url,
          },
        );
        return enqueueNoAwards(db, testOutboxDeps(), PUSH_PARTNER, PUSHED);
      });

      const first = await startGateway();
      target.gateway = first.gateway;
      // Pushes that arrived before the handle was set: the next one kills it.
      await eventually(() => killed, 'the kill mid-delivery', 60_000, 5);
      expect(await first.gateway.exited).toBeNull();
      const seenAtKill = rx.requests.length;
      expect(seenAtKill, why).toBeLessThan(PUSHED);

      const second = await startGateway();
      const queuedIds = new Set(queued);
      await eventually(
        () => [...queuedIds].every((id) => rx.acknowledgedIds().has(id)),
        'every document acknowledged after the restart',
        60_000,
      );
      await eventually(
        async () =>
          (
            await store.use((db) =>
              db
                .selectFrom('outbox')
                .select('status')
                .where('recipient_id', '=', PUSH_PARTNER)
                .where('status', '!=', 'delivered')
                .execute(),
            )
          ).length === 0,
        'every outbox row marked delivered',
        30_000,
      );
      second.gateway.kill('SIGTERM');
      expect(await second.gateway.exited).toBe(0);

      // Nothing under another id; a repeat is the same document again.
      expect(rx.requests.every((r) => queuedIds.has(r.messageId!))).toBe(true);
      const rows = await store.use((db) =>
        db
          .selectFrom('outbox')
          .select(['message_id', 'status', 'attempts', 'body'])
          .where('recipient_id', '=', PUSH_PARTNER)
          .execute(),
      );
      expect(rows).toHaveLength(PUSHED);
      const bodyOf = new Map(rows.map((r) => [r.message_id, new TextDecoder().decode(r.body)]));
      for (const request of rx.requests) expect(request.body).toBe(bodyOf.get(request.messageId!));

      // Every attempt logged, the interrupted ones as lease-expired; none dead.
      const entries = await store.use((db) =>
        db
          .selectFrom('message_log')
          .select(['message_id', 'event', 'status'])
          .where('partner_id', '=', PUSH_PARTNER)
          .where('event', 'in', ['delivery-attempt', 'dead-lettered'])
          .execute(),
      );
      expect(entries.filter((e) => e.event === 'dead-lettered')).toEqual([]);
      const attemptsOf = new Map<string, string[]>();
      for (const entry of entries) {
        attemptsOf.set(entry.message_id!, [
          ...(attemptsOf.get(entry.message_id!) ?? []),
          entry.status,
        ]);
      }
      let interrupted = 0;
      for (const row of rows) {
        const statuses = attemptsOf.get(row.message_id) ?? [];
        expect(statuses, `${why}: ${row.message_id}`).toHaveLength(row.attempts);
        expect(statuses.filter((s) => s === 'delivered')).toHaveLength(1);
        const sentTimes = rx.requests.filter((r) => r.messageId === row.message_id).length;
        expect(sentTimes).toBeLessThanOrEqual(row.attempts);
        if (statuses.includes('lease-expired')) interrupted += 1;
      }
      // The kill caught pushes in flight: their leases expired and they went out again.
      expect(interrupted, why).toBeGreaterThan(0);
    },
  );
});

function documentFor(
  type: Sent['type'],
  sender: string,
  reference: string,
  keys: Map<string, string>,
  itemId?: string,
): Sent {
  const body =
    type === 'ItemNotice'
      ? { sellerItemId: reference, gtin: undefined }
      : { itemId, buyerReference: reference };
  const doc = exampleDocument(type, sender, body);
  return {
    messageId: doc.header.messageId!,
    sender,
    apiKey: keys.get(sender)!,
    type,
    reference,
    bytes: JSON.stringify(doc),
    state: 'unsent',
  };
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}
