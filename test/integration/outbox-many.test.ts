/**
 * Many outbound documents queued at once (a judging batch): every one stored with its log entry
 * and in order — beyond what one statement may carry (PGlite silently breaks a session whose
 * statement has more than 32,767 parameters), and the session still answers afterwards.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { enqueueOutboundMany } from '../../gateway/core/delivery/outbox.ts';
import { noAward, testOutboxDeps } from '../support/delivery.ts';
import { registerPartner, startTestGateway, type TestGateway } from '../support/gateway.ts';

let gateway: TestGateway;

beforeAll(async () => {
  gateway = await startTestGateway();
  await registerPartner(gateway, { id: 'MANY-BUYER', roles: ['buyer'] });
  await registerPartner(gateway, { id: 'MANY-BUYER-2', roles: ['buyer'] });
});
afterAll(() => gateway.close());

it('queues 2,400 documents in one call: rows, log entries and order kept', async () => {
  const inputs = Array.from({ length: 2_400 }, (_, i) =>
    noAward(i % 3 === 0 ? 'MANY-BUYER-2' : 'MANY-BUYER'),
  );
  const ids = await gateway.database.db
    .transaction()
    .execute((trx) => enqueueOutboundMany(trx, testOutboxDeps(), inputs));
  expect(ids).toHaveLength(inputs.length);
  expect(new Set(ids).size).toBe(inputs.length);

  const rows = await gateway.database.db
    .selectFrom('outbox')
    .select(['message_id', 'recipient_id'])
    .where('message_id', 'in', ids.slice(0, 1_000))
    .orderBy('id')
    .execute();
  expect(rows.map((r) => r.message_id)).toEqual(ids.slice(0, 1_000));
  expect(rows.map((r) => r.recipient_id)).toEqual(
    inputs.slice(0, 1_000).map((input) => input.recipientId),
  );
  const counts = await gateway.database.db
    .selectFrom('message_log')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .where('direction', '=', 'outbound')
    .where('event', '=', 'queued')
    .executeTakeFirstOrThrow();
  expect(Number(counts.n)).toBe(inputs.length);
});
