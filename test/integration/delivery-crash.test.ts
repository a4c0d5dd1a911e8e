/**
 * Crashes of a real gateway process (SIGKILL), on PGlite and on PostgreSQL: documents committed
 * but never sent go out after the restart, and documents sent but never marked are sent again
 * under the same messageId once the dead worker's lease expires. Nothing is lost.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createPartner } from '../../gateway/core/partners/partners.service.ts';
import { spawnGateway, openSharedStore, type SharedStore } from '../support/child-gateway.ts';
import { enqueueNoAwards, eventually, testOutboxDeps } from '../support/delivery.ts';
import { startReceiver, type Receiver } from '../support/receiver.ts';

let store: SharedStore;
let rx: Receiver;

beforeAll(async () => {
  store = await openSharedStore();
  // Records every request, then never answers: the gateway is killed while it waits.
  rx = await startReceiver({ respond: () => ({ status: 200, delayMs: 3_600_000 }) });
});
afterAll(async () => {
  await rx.close();
  await store.close();
});

const DELIVERY_ENV = {
  ALLOW_INSECURE_ENDPOINTS: 'true',
  DELIVERY_RETRY_BASE_MS: '20',
  DELIVERY_TIMEOUT_MS: '2000',
  // The killed worker's claims come back 3 s after it made them.
  DELIVERY_LEASE_MS: '3000',
};

it(
  'loses nothing when the gateway is killed between commit and send, or between send and mark',
  { timeout: 90_000 },
  async () => {
    const ids = await store.use(async (db) => {
      await createPartner(
        { db, checkEndpoint: () => ({ ok: true }) },
        {
          id: 'CRASHY',
          name: 'Crashy',
          roles: ['buyer'],
          deliveryMode: 'push',
          endpointUrl: rx.url,
        },
      );
      return enqueueNoAwards(db, testOutboxDeps(), 'CRASHY', 20);
    });

    const first = await spawnGateway({ ...store.env, ...DELIVERY_ENV, ROLE: 'jobs' });
    // At most 8 pushes in flight to one partner: 8 reach the partner, 12 are never sent.
    await eventually(() => rx.requests.length === 8, 'eight pushes in flight', 20_000);
    first.kill('SIGKILL');
    expect(await first.exited).toBeNull();
    const sent = rx.requests.map((r) => r.messageId!);
    expect(new Set(sent).size).toBe(8);

    const before = await store.use((db) =>
      db.selectFrom('outbox').select(['message_id', 'status']).execute(),
    );
    const statusOf = new Map(before.map((r) => [r.message_id, r.status]));
    for (const id of ids)
      expect(statusOf.get(id)).toBe(sent.includes(id) ? 'delivering' : 'pending');

    rx.respondWith(() => ({ status: 200 }));
    const second = await spawnGateway({ ...store.env, ...DELIVERY_ENV, ROLE: 'all' });
    await eventually(
      () => ids.every((id) => rx.acknowledgedIds().has(id)),
      'every document acknowledged after the restart',
      30_000,
    );
    second.kill('SIGTERM');
    expect(await second.exited).toBe(0);

    // Each document acknowledged exactly once; the interrupted ones were sent twice, same id.
    expect([...rx.acknowledgedCounts().values()].every((n) => n === 1)).toBe(true);
    for (const id of ids) {
      expect(rx.requests.filter((r) => r.messageId === id)).toHaveLength(sent.includes(id) ? 2 : 1);
    }
    const after = await store.use(async (db) => ({
      rows: await db.selectFrom('outbox').select(['message_id', 'status', 'attempts']).execute(),
      expired: await db
        .selectFrom('message_log')
        .select('message_id')
        .where('event', '=', 'delivery-attempt')
        .where('status', '=', 'lease-expired')
        .execute(),
    }));
    for (const row of after.rows) {
      expect(row.status).toBe('delivered');
      expect(row.attempts).toBe(sent.includes(row.message_id) ? 2 : 1);
    }
    expect(after.expired.map((e) => e.message_id).sort()).toEqual([...sent].sort());
  },
);
