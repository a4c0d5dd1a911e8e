/**
 * Settling attempts in batches (gateway/core/delivery/deliverer.ts): attempts that finish
 * together are recorded by one transaction — the rows marked and the log written once per batch,
 * on PGlite too, where a transaction never gives the event loop a turn.
 */
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDeliverer } from '../../gateway/core/delivery/deliverer.ts';
import type { PushAttempt, TransportOutcome } from '../../gateway/core/delivery/delivery.ts';
import { enqueueNoAwards, testOutboxDeps } from '../support/delivery.ts';
import { registerPartner, startTestGateway, type TestGateway } from '../support/gateway.ts';

let gateway: TestGateway;
beforeAll(async () => {
  gateway = await startTestGateway();
});
afterAll(() => gateway.close());

const silent = { warn: () => undefined };

describe('the deliverer', () => {
  it('settles the attempts that finish in one turn in one transaction', async () => {
    const partner = await registerPartner(gateway, {
      id: 'SETTLE-BUYER',
      roles: ['buyer'],
      deliveryMode: 'push',
      endpointUrl: 'https://settle.example/in',
    });
    const queued = await enqueueNoAwards(gateway.database.db, testOutboxDeps(), partner.id, 12);

    // Every push waits for one gate: all twelve answer in the same turn of the event loop.
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    const pushed: string[] = [];
    const deliverer = createDeliverer({
      db: gateway.database.db,
      transports: {
        push: async (attempt: PushAttempt): Promise<TransportOutcome> => {
          pushed.push(attempt.messageId);
          if (pushed.length === queued.length) open();
          await gate;
          return { kind: 'delivered', status: 200 };
        },
        writeFile: () => Promise.reject(new Error('no file partners here')),
      },
      policy: {
        maxAttempts: 3,
        maxAgeMs: 60_000,
        leaseMs: 30_000,
        concurrency: 16,
        perPartner: 16,
        retryDelayMs: () => 10,
      },
      instanceId: 'settle-test',
      logger: silent,
    });
    const never = new AbortController();
    const counts = await deliverer.drain({
      stopping: never.signal,
      abort: never.signal,
      nextWake: () => new Promise(() => undefined),
    });

    expect(counts).toMatchObject({ claimed: 12, delivered: 12, retried: 0, dead: 0 });
    expect([...pushed].sort()).toEqual([...queued].sort());
    const { rows } = await sql<{ attempts: string; transactions: string }>`
      select count(*)::text as attempts, count(distinct txid)::text as transactions
        from message_log
       where partner_id = ${partner.id} and event = 'delivery-attempt' and status = 'delivered'`.execute(
      gateway.database.db,
    );
    expect(rows).toEqual([{ attempts: '12', transactions: '1' }]);
    const delivered = await gateway.database.db
      .selectFrom('outbox')
      .select(['message_id', 'status'])
      .where('recipient_id', '=', partner.id)
      .execute();
    expect(delivered.map((row) => row.status)).toEqual(Array(12).fill('delivered'));
  });
});
