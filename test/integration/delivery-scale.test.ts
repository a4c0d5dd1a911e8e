/**
 * Scale-out (PostgreSQL only): two gateway processes on one database deliver 10,000 documents
 * to four partners — none lost, none sent twice — and share the work; job ticks run once.
 */
import { afterAll, expect, it } from 'vitest';
import { notifyOutbox } from '../../gateway/core/delivery/outbox.repository.ts';
import { createPartner } from '../../gateway/core/partners/partners.service.ts';
import {
  openSharedStore,
  spawnGateway,
  type ChildGateway,
  type SharedStore,
} from '../support/child-gateway.ts';
import { onPostgres } from '../support/database.ts';
import { enqueueNoAwards, eventually, testOutboxDeps } from '../support/delivery.ts';
import { startReceiver, type Receiver } from '../support/receiver.ts';

const DOCUMENTS = 10_000;
const PARTNERS = 4;
const PER_TRANSACTION = 250;

let store: SharedStore | undefined;
const receivers: Receiver[] = [];
const gateways: ChildGateway[] = [];

afterAll(async () => {
  for (const gateway of gateways) gateway.kill('SIGKILL');
  await Promise.all(receivers.map((r) => r.close()));
  await store?.close();
});

it.skipIf(!onPostgres)(
  'two processes deliver 10,000 documents with none lost and none sent twice',
  { timeout: 120_000 },
  async () => {
    store = await openSharedStore();
    for (let i = 0; i < PARTNERS; i++) receivers.push(await startReceiver());
    await store.use(async (db) => {
      for (const [i, rx] of receivers.entries()) {
        await createPartner(
          { db, checkEndpoint: () => ({ ok: true }) },
          {
            id: `SCALE-${i}`,
            name: `Scale ${i}`,
            roles: ['buyer'],
            deliveryMode: 'push',
            endpointUrl: rx.url,
          },
        );
      }
    });
    // Queued first with every endpoint switched off (as after a 410), so that nothing is
    // claimable until both processes run; then switched on in one commit that wakes both.
    const expected = new Map<number, string[]>();
    const queueStarted = performance.now();
    await store.use(async (db) => {
      await db.updateTable('partners').set({ endpoint_disabled_at: new Date() }).execute();
      await Promise.all(
        receivers.map(async (_rx, i) => {
          const ids: string[] = [];
          for (let done = 0; done < DOCUMENTS / PARTNERS; done += PER_TRANSACTION) {
            ids.push(
              ...(await enqueueNoAwards(db, testOutboxDeps(), `SCALE-${i}`, PER_TRANSACTION)),
            );
          }
          expected.set(i, ids);
        }),
      );
    });
    const queuedMs = performance.now() - queueStarted;

    const env = { ...store.env, ROLE: 'jobs', ALLOW_INSECURE_ENDPOINTS: 'true' };
    gateways.push(...(await Promise.all([spawnGateway(env), spawnGateway(env)])));
    const started = performance.now();
    await store.use((db) =>
      db.transaction().execute(async (trx) => {
        await trx.updateTable('partners').set({ endpoint_disabled_at: null }).execute();
        await notifyOutbox(trx);
      }),
    );
    await eventually(
      () => receivers.every((rx, i) => rx.acknowledgedIds().size === expected.get(i)!.length),
      'every document delivered',
      60_000,
      100, // each check walks every request received so far
    );
    const deliveredMs = performance.now() - started;

    for (const [i, rx] of receivers.entries()) {
      const ids = expected.get(i)!;
      expect(rx.acknowledgedIds()).toEqual(new Set(ids)); // none lost
      expect(rx.requests).toHaveLength(ids.length); // none sent twice
      expect(rx.distinctMessageIds().size).toBe(ids.length);
    }
    // Idle again, the processes tick; each tick of the job runs in one of them only.
    await store.use((db) =>
      eventually(
        async () =>
          (
            await db
              .selectFrom('job_runs')
              .select('id')
              .where('job', '=', 'deliver-outbox')
              .execute()
          ).length > 0,
        'a tick of deliver-outbox',
        15_000,
      ),
    );
    const { rows, instances, ticks } = await store.use(async (db) => ({
      rows: await db
        .selectFrom('outbox')
        .select((eb) => ['status', eb.fn.countAll<string>().as('n')])
        .groupBy('status')
        .execute(),
      instances: await db
        .selectFrom('message_log')
        .select((eb) =>
          eb.fn<string>('jsonb_extract_path_text', ['detail', eb.val('instance')]).as('instance'),
        )
        .where('event', '=', 'delivery-attempt')
        .distinct()
        .execute(),
      ticks: await db
        .selectFrom('job_runs')
        .select(['slot', 'instance'])
        .where('job', '=', 'deliver-outbox')
        .execute(),
    }));
    expect(rows.map((r) => [r.status, Number(r.n)])).toEqual([['delivered', DOCUMENTS]]);
    // Both processes delivered: the work was shared, not merely survived.
    expect(instances).toHaveLength(2);
    // Each tick of the job ran in one process only.
    const slots = ticks.map((t) => t.slot.toISOString());
    expect(new Set(slots).size).toBe(slots.length);

    console.log(
      `${DOCUMENTS} documents queued in ${Math.round(queuedMs)} ms ` +
        `(${Math.round(DOCUMENTS / (queuedMs / 1000))}/s), delivered by two processes in ` +
        `${Math.round(deliveredMs)} ms (${Math.round(DOCUMENTS / (deliveredMs / 1000))}/s)`,
    );
    for (const gateway of gateways) gateway.kill('SIGTERM');
    expect(await Promise.all(gateways.map((g) => g.exited))).toEqual([0, 0]);
  },
);
