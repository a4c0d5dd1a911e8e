/**
 * Settling attempts in batches (gateway/core/delivery/deliverer.ts): attempts that finish
 * together are recorded by one transaction — the rows marked and the log written once per batch,
 * on PGlite too, where a transaction never gives the event loop a turn. A push's slot is free
 * once the partner has answered, while its attempt waits to be settled, up to a bound.
 */
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDeliverer } from '../../gateway/core/delivery/deliverer.ts';
import type { PushAttempt, TransportOutcome } from '../../gateway/core/delivery/delivery.ts';
import { onPostgres } from '../support/database.ts';
import { enqueueNoAwards, eventually, testOutboxDeps } from '../support/delivery.ts';
import { registerPartner, startTestGateway, type TestGateway } from '../support/gateway.ts';

let gateway: TestGateway;
beforeAll(async () => {
  gateway = await startTestGateway();
});
afterAll(() => gateway.close());

const silent = { warn: () => undefined };

/** A push partner with `count` documents queued for it: their messageIds. */
async function partnerWithQueue(id: string, count: number) {
  const partner = await registerPartner(gateway, {
    id,
    roles: ['buyer'],
    deliveryMode: 'push',
    endpointUrl: `https://${id.toLowerCase()}.example/in`,
  });
  return {
    partner,
    queued: await enqueueNoAwards(gateway.database.db, testOutboxDeps(), partner.id, count),
  };
}

/** A deliverer pushing through `push`, with `slots` pushes in flight (to one partner too). */
function delivererOf(push: (attempt: PushAttempt) => Promise<TransportOutcome>, slots: number) {
  return createDeliverer({
    db: gateway.database.db,
    transports: {
      push,
      writeFile: () => Promise.reject(new Error('no file partners here')),
    },
    policy: {
      maxAttempts: 3,
      maxAgeMs: 60_000,
      leaseMs: 30_000,
      concurrency: slots,
      perPartner: slots,
      retryDelayMs: () => 10,
    },
    instanceId: `deliverer-of-${slots}`,
    logger: silent,
  });
}

describe('the deliverer', () => {
  it('settles the attempts that finish in one turn in one transaction', async () => {
    const { partner, queued } = await partnerWithQueue('SETTLE-BUYER', 12);

    // Every push waits for one gate: all twelve answer in the same turn of the event loop.
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    const pushed: string[] = [];
    const deliverer = delivererOf(async (attempt) => {
      pushed.push(attempt.messageId);
      if (pushed.length === queued.length) open();
      await gate;
      return { kind: 'delivered', status: 200 };
    }, 16);
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

  // PostgreSQL only: the settlements are held up by a lock taken in another session, which the
  // embedded database (one session) cannot have.
  it.skipIf(!onPostgres)(
    'frees a slot when the partner answers, and holds at most two attempts per slot unsettled',
    async () => {
      const { queued } = await partnerWithQueue('SLOT-BUYER', 10);
      const pushed: string[] = [];
      const deliverer = delivererOf((attempt) => {
        pushed.push(attempt.messageId);
        return Promise.resolve({ kind: 'delivered', status: 200 });
      }, 2);

      // Another session holds the message log: every settlement waits at its log entries.
      let unlock!: () => void;
      const unlocked = new Promise<void>((resolve) => (unlock = resolve));
      let locked!: () => void;
      const lockTaken = new Promise<void>((resolve) => (locked = resolve));
      const holder = gateway.database.db.connection().execute(async (session) => {
        await sql`begin`.execute(session);
        await sql`lock table message_log in exclusive mode`.execute(session);
        locked();
        await unlocked;
        await sql`commit`.execute(session);
      });
      await lockTaken;

      const never = new AbortController();
      const draining = deliverer.drain({
        stopping: never.signal,
        abort: never.signal,
        nextWake: () => new Promise(() => undefined),
      });
      try {
        // Two slots: two pushes answered and two more sent while the first two wait to be
        // settled — then no more until a settlement ends.
        await eventually(() => pushed.length >= 4, 'four pushes while none is settled', 10_000);
        await new Promise((resolve) => setTimeout(resolve, 500));
        expect(pushed).toHaveLength(4);
      } finally {
        unlock();
        await holder;
      }
      const counts = await draining;
      expect(counts).toMatchObject({ claimed: 10, delivered: 10, retried: 0, dead: 0 });
      expect([...pushed].sort()).toEqual([...queued].sort());
    },
  );
});
