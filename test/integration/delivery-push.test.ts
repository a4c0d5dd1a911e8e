/**
 * Signed HTTPS push against real local receivers: delivered once on 2xx, retried on 5xx, timeouts
 * and refused connections under the same messageId, Retry-After honoured, 4xx dead-lettered at
 * once and replayable, 410 disabling the endpoint, and one slow partner never holding up another.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Webhook } from 'standardwebhooks';
import {
  eventually,
  logOf,
  outboxRow,
  outboxStatus,
  startDeliveryHarness,
  type DeliveryHarness,
} from '../support/delivery.ts';
import { registerPartner, type RegisteredPartner } from '../support/gateway.ts';
import { startReceiver, type Receiver } from '../support/receiver.ts';

let harness: DeliveryHarness;
const receivers: Receiver[] = [];

async function receiver(respond?: Parameters<typeof startReceiver>[0]): Promise<Receiver> {
  const started = await startReceiver(respond);
  receivers.push(started);
  return started;
}

async function pushPartner(
  id: string,
  url: string,
  extra: Record<string, unknown> = {},
): Promise<RegisteredPartner> {
  return registerPartner(harness, {
    id,
    roles: ['buyer'],
    deliveryMode: 'push',
    endpointUrl: url,
    ...extra,
  });
}

beforeAll(async () => {
  harness = await startDeliveryHarness({ DELIVERY_MAX_ATTEMPTS: '6' });
});
afterAll(async () => {
  await harness.close();
  await Promise.all(receivers.map((r) => r.close()));
});

describe('push delivery', () => {
  it('delivers once on 2xx, signed with the partner secret, and logs queue and attempt', async () => {
    const rx = await receiver();
    const partner = await pushPartner('OK-JSON', rx.url);
    const [messageId] = await harness.enqueue(partner.id);
    await eventually(() => rx.acknowledgedIds().has(messageId!), 'the delivery');
    await eventually(
      async () => (await outboxStatus(harness.database.db, messageId!)) === 'delivered',
      'the outbox row marked delivered',
    );

    expect(rx.requests).toHaveLength(1);
    const request = rx.requests[0]!;
    expect(request.headers['content-type']).toBe('application/json; charset=utf-8');
    // The Standard Webhooks verifier accepts the signature with the partner's secret …
    const verified = new Webhook(partner.signingSecret).verify(request.body, {
      'webhook-id': String(request.headers['webhook-id']),
      'webhook-timestamp': String(request.headers['webhook-timestamp']),
      'webhook-signature': String(request.headers['webhook-signature']),
    }) as { header: Record<string, string>; body: Record<string, unknown> };
    // … and refuses it with anyone else's.
    const other = await pushPartner('OTHER', rx.url);
    expect(() =>
      new Webhook(other.signingSecret).verify(request.body, {
        'webhook-id': String(request.headers['webhook-id']),
        'webhook-timestamp': String(request.headers['webhook-timestamp']),
        'webhook-signature': String(request.headers['webhook-signature']),
      }),
    ).toThrow();

    expect(verified.header).toMatchObject({
      messageId,
      type: 'NoAward',
      sender: 'NAKADACHI',
      recipient: 'OK-JSON',
    });
    expect(messageId).toMatch(/^NAKADACHI-[0-9A-Z]{26}$/);
    const log = await logOf(harness.database.db, messageId!);
    expect(log.map((e) => [e.event, e.status])).toEqual([
      ['queued', 'queued'],
      ['delivery-attempt', 'delivered'],
    ]);
    expect(log[1]!.detail).toMatchObject({ attempt: 1, transport: 'push', httpStatus: 200 });
  });

  it('renders for an XML partner in XML', async () => {
    const rx = await receiver();
    const partner = await pushPartner('OK-XML', rx.url, { format: 'xml' });
    const [messageId] = await harness.enqueue(partner.id);
    await eventually(() => rx.acknowledgedIds().has(messageId!), 'the delivery');
    const request = rx.requests[0]!;
    expect(request.headers['content-type']).toBe('application/xml; charset=utf-8');
    expect(request.body).toContain('<NoAward xmlns="urn:nakadachi:1">');
    expect(request.body).toContain(`<MessageId>${messageId}</MessageId>`);
  });

  it('retries 500 and timeouts with the same messageId until it succeeds', async () => {
    // 500, then a silent answer (beyond DELIVERY_TIMEOUT_MS = 1000), then 200.
    const rx = await receiver({
      respond: (_request, n) =>
        n === 0 ? { status: 500 } : n === 1 ? { status: 200, delayMs: 2_000 } : { status: 200 },
    });
    const partner = await pushPartner('FLAKY', rx.url);
    const [messageId] = await harness.enqueue(partner.id);
    await eventually(
      async () => (await outboxStatus(harness.database.db, messageId!)) === 'delivered',
      'the delivery after two failures',
    );
    expect(rx.requests.map((r) => r.messageId)).toEqual([messageId, messageId, messageId]);
    expect(rx.acknowledgedCounts().get(messageId!)).toBe(1);
    const attempts = (await logOf(harness.database.db, messageId!)).filter(
      (e) => e.event === 'delivery-attempt',
    );
    expect(attempts.map((e) => e.status)).toEqual(['retry', 'retry', 'delivered']);
    expect(attempts[0]!.detail).toMatchObject({ reason: 'SERVER_ERROR', httpStatus: 500 });
    expect(attempts[1]!.detail).toMatchObject({ reason: 'TIMEOUT' });
    expect((await outboxRow(harness.database.db, messageId!)).attempts).toBe(3);
  });

  it('retries a refused connection until the partner is back', async () => {
    const gone = await startReceiver();
    const port = Number(new URL(gone.url).port);
    await gone.close(); // nothing listens there now: connection refused
    const partner = await pushPartner('DOWN', `http://127.0.0.1:${port}/`);
    const [messageId] = await harness.enqueue(partner.id);
    await eventually(
      async () =>
        (await logOf(harness.database.db, messageId!)).filter((e) => e.status === 'retry').length >=
        2,
      'two refused attempts',
    );
    const back = await receiver({ port });
    await eventually(() => back.acknowledgedIds().has(messageId!), 'delivery once it is back');
    const log = await logOf(harness.database.db, messageId!);
    expect(log.find((e) => e.status === 'retry')!.detail).toMatchObject({
      reason: 'CONNECTION_REFUSED',
    });
    expect(back.requests.map((r) => r.messageId)).toEqual([messageId]);
  });

  it('honours Retry-After', async () => {
    const rx = await receiver({
      respond: (_request, n) =>
        n === 0 ? { status: 503, headers: { 'retry-after': '1' } } : { status: 200 },
    });
    const partner = await pushPartner('BUSY', rx.url);
    const [messageId] = await harness.enqueue(partner.id);
    await eventually(() => rx.acknowledgedIds().has(messageId!), 'the delivery', 10_000);
    const [first, second] = rx.requests;
    // Without Retry-After the retry would follow within DELIVERY_RETRY_BASE_MS = 20 ms.
    expect(second!.receivedAt - first!.receivedAt).toBeGreaterThanOrEqual(950);
    const retry = (await logOf(harness.database.db, messageId!)).find((e) => e.status === 'retry');
    expect(retry!.detail).toMatchObject({ retryAfterMs: 1000, httpStatus: 503 });
  });

  it('dead-letters a permanent 4xx at once, and a replay delivers it', async () => {
    const rx = await receiver({
      respond: (_request, n) =>
        n === 0 ? { status: 400, body: 'no such buyer' } : { status: 204 },
    });
    const partner = await pushPartner('PICKY', rx.url);
    const [messageId] = await harness.enqueue(partner.id);
    await eventually(
      async () => (await outboxStatus(harness.database.db, messageId!)) === 'dead',
      'the dead letter',
    );
    expect(rx.requests).toHaveLength(1);
    const log = await logOf(harness.database.db, messageId!);
    expect(log.map((e) => [e.event, e.status])).toEqual([
      ['queued', 'queued'],
      ['delivery-attempt', 'failed'],
      ['dead-lettered', 'dead'],
    ]);
    expect(log[1]!.detail).toMatchObject({ reason: 'CLIENT_ERROR', response: 'no such buyer' });

    const listed = (await (
      await harness.admin('GET', '/admin/v1/dead-letters?partner=PICKY')
    ).json()) as { deadLetters: { messageId: string; attempts: number; lastError: string }[] };
    expect(listed.deadLetters).toEqual([
      expect.objectContaining({
        messageId,
        attempts: 1,
        lastError: expect.stringContaining('CLIENT_ERROR'),
      }),
    ]);

    const replay = await harness.admin('POST', `/admin/v1/dead-letters/${messageId}/replay`);
    expect(replay.status).toBe(200);
    expect(await replay.json()).toEqual({ replayed: [messageId], notFound: [] });
    await eventually(() => rx.acknowledgedIds().has(messageId!), 'the replayed delivery');
    expect(rx.requests.map((r) => r.messageId)).toEqual([messageId, messageId]);
    await eventually(
      async () => (await outboxStatus(harness.database.db, messageId!)) === 'delivered',
      'the replayed row marked delivered',
    );
    expect((await logOf(harness.database.db, messageId!)).map((e) => e.event)).toEqual([
      'queued',
      'delivery-attempt',
      'dead-lettered',
      'replayed',
      'delivery-attempt',
    ]);
  });

  it('dead-letters after DELIVERY_MAX_ATTEMPTS retryable failures', async () => {
    const rx = await receiver({ respond: () => ({ status: 502 }) });
    const partner = await pushPartner('BROKEN', rx.url);
    const [messageId] = await harness.enqueue(partner.id);
    await eventually(
      async () => (await outboxStatus(harness.database.db, messageId!)) === 'dead',
      'the dead letter',
    );
    expect(rx.requests).toHaveLength(6);
    const row = await outboxRow(harness.database.db, messageId!);
    expect(row.attempts).toBe(6);
    expect(row.last_error).toContain('6 attempts failed');
  });

  it('disables an endpoint that answers 410, keeps its documents, and resumes when it is set again', async () => {
    const rx = await receiver({ respond: () => ({ status: 410 }) });
    const partner = await pushPartner('GONE', rx.url);
    const ids = await harness.enqueue(partner.id, 3);
    await eventually(
      async () =>
        (
          await harness.database.db
            .selectFrom('partners')
            .select('endpoint_disabled_at')
            .where('id', '=', 'GONE')
            .executeTakeFirstOrThrow()
        ).endpoint_disabled_at !== null,
      'the endpoint disabled',
    );
    // Pushes already in flight when the first 410 arrived settle too, back to pending.
    await eventually(async () => {
      for (const id of ids) {
        if ((await outboxStatus(harness.database.db, id)) !== 'pending') return false;
      }
      return true;
    }, 'every document pending again');
    const pushed = rx.requests.length;
    expect(pushed).toBeGreaterThanOrEqual(1);
    expect(pushed).toBeLessThanOrEqual(3);
    const shown = (await (await harness.admin('GET', '/admin/v1/partners/GONE')).json()) as {
      partner: { endpointDisabledAt: string | null };
    };
    expect(shown.partner.endpointDisabledAt).not.toBeNull();
    // Nothing more is pushed; nothing is lost.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(rx.requests).toHaveLength(pushed);
    for (const id of ids) expect(await outboxStatus(harness.database.db, id)).toBe('pending');
    // A 410 says nothing about the documents: their attempts are not spent.
    for (const id of ids) expect((await outboxRow(harness.database.db, id)).attempts).toBe(0);

    rx.respondWith(() => ({ status: 200 }));
    const patched = await harness.admin('PATCH', '/admin/v1/partners/GONE', {
      endpointUrl: rx.url,
    });
    expect(patched.status).toBe(200);
    await eventually(
      () => ids.every((id) => rx.acknowledgedIds().has(id)),
      'the resumed deliveries',
    );
    for (const id of ids) {
      await eventually(
        async () => (await outboxStatus(harness.database.db, id)) === 'delivered',
        'rows delivered',
      );
    }
  });

  it('keeps a slow partner from delaying another, with at most 8 pushes in flight to it', async () => {
    // Well inside DELIVERY_TIMEOUT_MS (1000), so every slow push is answered, never timed out.
    const SLOW_MS = 150;
    const slow = await receiver({ respond: () => ({ status: 200, delayMs: SLOW_MS }) });
    const fast = await receiver();
    await pushPartner('SLOW', slow.url);
    await pushPartner('FAST', fast.url);
    // The slow partner's backlog is queued first and is older than anything the fast one gets:
    // 64 documents, 8 at a time, 150 ms each, take at least 1.2 s.
    const slowIds = await harness.enqueue('SLOW', 64);
    await eventually(() => slow.requests.length >= 8, 'the slow partner busy');
    const fastIds = await harness.enqueue('FAST', 10);
    await eventually(
      () => fastIds.every((id) => fast.acknowledgedIds().has(id)),
      'fast deliveries',
    );
    // The fast partner was served while the slow one's backlog still waited.
    expect(slow.acknowledgedIds().size).toBeLessThan(64);
    await eventually(
      () => slowIds.every((id) => slow.acknowledgedIds().has(id)),
      'slow deliveries',
      15_000,
    );
    // Concurrency at the slow partner: requests received while another was still unanswered.
    const answered = slow.requests.filter((r) => r.status !== undefined);
    expect(answered).toHaveLength(64);
    const overlaps = answered.map(
      (r) =>
        answered.filter(
          (o) => o.receivedAt <= r.receivedAt && o.receivedAt + SLOW_MS > r.receivedAt,
        ).length,
    );
    expect(Math.max(...overlaps)).toBeLessThanOrEqual(8);
    expect(Math.max(...overlaps)).toBeGreaterThanOrEqual(4);
  });
});
