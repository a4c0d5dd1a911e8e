/**
 * Many outbound documents queued at once (a judging batch): every one stored with its log entry
 * — the same bytes, digest and refs — and in order, across more statements than one (500
 * documents each), and the session still answers afterwards.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { sha256 } from '../support/batches.ts';
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

  const logged = await gateway.database.db
    .selectFrom('outbox as o')
    .innerJoin('message_log as l', (join) =>
      join.onRef('l.message_id', '=', 'o.message_id').on('l.event', '=', 'queued'),
    )
    .select(['o.message_id', 'o.body', 'o.digest', 'o.refs', 'l.partner_id'])
    .select(['l.body as logged_body', 'l.digest as logged_digest', 'l.refs as logged_refs'])
    .select(['l.document_type', 'l.content_type', 'l.status', 'l.direction'])
    .where('o.message_id', 'in', ids.slice(400, 1_400))
    .orderBy('l.id')
    .execute();
  // The log entries in the order of the documents, each with its document's bytes and digest.
  expect(logged.map((row) => row.message_id)).toEqual(ids.slice(400, 1_400));
  for (const row of logged) {
    expect(Buffer.from(row.logged_body!).equals(Buffer.from(row.body))).toBe(true);
    expect(row.logged_digest).toBe(sha256(row.body));
    expect(row.digest).toBe(row.logged_digest);
    expect(row.logged_refs).toEqual(row.refs);
    expect(row).toMatchObject({
      document_type: 'NoAward',
      status: 'queued',
      direction: 'outbound',
    });
    expect(row.content_type).toMatch(/^application\/(xml|json)/);
  }
  expect(logged.map((row) => row.partner_id)).toEqual(
    inputs.slice(400, 1_400).map((input) => input.recipientId),
  );
});
