/**
 * Network faults between the gateway and a partner, through the test fault proxy: outbound push
 * delivery (the real deliver-outbox job) to a counting receiver goes through latency beyond the
 * push timeout, TCP resets, a request cut mid-body, a response cut mid-body, a black hole and a
 * refused port, then back to a clean network. Every queued document is delivered under its own
 * messageId, nothing dead-lettered, repeats are only re-sends of the same messageId with the
 * same bytes (at least once), and every attempt is in the message log. And a slowloris client
 * trickling headers one byte at a time does not keep the HTTP server from serving others.
 */
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listen, type RunningServer } from '../../gateway/http/server.ts';
import { exampleDocument, receiptOf } from '../support/documents.ts';
import { startDeliveryHarness, eventually, type DeliveryHarness } from '../support/delivery.ts';
import { startFaultProxy, type FaultProxy, type Toxic } from '../support/fault-proxy.ts';
import { registerPartner } from '../support/gateway.ts';
import { startReceiver, type Receiver } from '../support/receiver.ts';

const PARTNER = 'FLAKY-NET';
/** Documents queued before the faults (a clean run that also measures the wire sizes). */
const WARM_UP = 30;
/** Documents queued at the start of every fault phase, on top of what earlier phases left. */
const WAVE = 45;
/** Each fault holds at least this long, and until the log shows it was met. */
const PHASE_MIN_MS = 1_500;
const PUSH_TIMEOUT_MS = 500;
/**
 * Each way: a request reaches the partner within the push timeout, its answer does not (the
 * round trip, 800 ms, is beyond it). The partner has answered 200 to a push the gateway counts as
 * timed out, so the retry is a true duplicate: at least once.
 */
const LATENCY_MS = 400;
/**
 * The partner's answer carries a body, so that a response can be cut in the middle of it: its
 * status line and headers take well under RESPONSE_CUT bytes, the whole answer well over.
 */
const RESPONSE_BODY = `accepted ${'.'.repeat(2039)}`;
const RESPONSE_CUT = 1024;

let harness: DeliveryHarness;
let rx: Receiver;
let proxy: FaultProxy;

beforeAll(async () => {
  harness = await startDeliveryHarness({
    // The shortest the configuration allows that a loaded machine still meets on a healthy push.
    DELIVERY_TIMEOUT_MS: String(PUSH_TIMEOUT_MS),
    DELIVERY_RETRY_BASE_MS: '5',
    DELIVERY_RETRY_MAX_MS: '100',
    // Never dead-letter on count: every document must come through the faults.
    DELIVERY_MAX_ATTEMPTS: '1000',
  });
  rx = await startReceiver({ respond: () => ({ status: 200, body: RESPONSE_BODY }) });
  const { port } = new URL(rx.url);
  proxy = await startFaultProxy({ host: '127.0.0.1', port: Number(port) });
});
afterAll(async () => {
  await harness?.close();
  await proxy?.close();
  await rx?.close();
});

interface AttemptEntry {
  id: string;
  messageId: string;
  status: string;
  attempt: number;
  reason: string | undefined;
  httpStatus: number | undefined;
}

async function attemptsAfter(logId: string): Promise<AttemptEntry[]> {
  const rows = await harness.database.db
    .selectFrom('message_log')
    .select(['id', 'message_id', 'status', 'detail'])
    .where('event', '=', 'delivery-attempt')
    .where('partner_id', '=', PARTNER)
    .where('id', '>', logId as unknown as bigint)
    .orderBy('id')
    .execute();
  return rows.map((row) => {
    const detail = row.detail as { attempt: number; reason?: string; httpStatus?: number };
    return {
      id: String(row.id),
      messageId: row.message_id!,
      status: row.status,
      attempt: detail.attempt,
      reason: detail.reason,
      httpStatus: detail.httpStatus,
    };
  });
}

async function lastLogId(): Promise<string> {
  const row = await harness.database.db
    .selectFrom('message_log')
    .select((eb) => eb.fn.max('id').as('id'))
    .executeTakeFirstOrThrow();
  return String(row.id ?? 0);
}

async function undelivered(): Promise<number> {
  const row = await harness.database.db
    .selectFrom('outbox')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .where('recipient_id', '=', PARTNER)
    .where('status', '!=', 'delivered')
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

interface Phase {
  name: string;
  toxic: Toxic;
  /**
   * True once the attempts logged in this phase and the proxy's counters (counted from the
   * phase's start) show the fault hit.
   */
  met(
    attempts: AttemptEntry[],
    counted: { resets: number; cuts: number; dropped: number },
  ): boolean;
}

describe('push delivery through network faults', () => {
  it(
    'delivers every document, once per messageId at least, with every attempt logged',
    { timeout: 150_000 },
    async () => {
      await registerPartner(harness, {
        id: PARTNER,
        roles: ['buyer'],
        deliveryMode: 'push',
        endpointUrl: `http://127.0.0.1:${proxy.port}/push`,
      });
      const queued: string[] = [];

      // A clean network first.
      queued.push(...(await harness.enqueue(PARTNER, WARM_UP)));
      await eventually(async () => (await undelivered()) === 0, 'the warm-up delivered', 30_000);
      const clean = proxy.stats();
      expect(rx.acknowledgedIds().size).toBe(WARM_UP);
      // One push on the wire: request line, headers as received (every name and value as sent),
      // blank line, body. All pushes have the same size (fixed-width ids, time and signature).
      const sample = rx.requests[0]!;
      const requestBody = Buffer.byteLength(sample.body);
      const requestHead =
        Buffer.byteLength(`${sample.method} ${sample.path} HTTP/1.1\r\n\r\n`) +
        Object.entries(sample.headers).reduce(
          (sum, [name, value]) => sum + Buffer.byteLength(`${name}: ${String(value)}\r\n`),
          0,
        );
      expect(clean.upstreamBytes).toBeGreaterThanOrEqual(WARM_UP * (requestHead + requestBody));

      const reasons = (attempts: AttemptEntry[], reason: string): number =>
        attempts.filter((a) => a.reason === reason).length;
      const phases: Phase[] = [
        {
          name: 'latency beyond the push timeout',
          toxic: { type: 'latency', latencyMs: LATENCY_MS },
          met: (attempts) => reasons(attempts, 'TIMEOUT') >= 8,
        },
        {
          name: 'reset_peer',
          toxic: { type: 'reset_peer', connections: 'all' },
          met: (attempts, counted) =>
            reasons(attempts, 'CONNECTION_RESET') >= 8 && counted.resets >= 8,
        },
        {
          name: 'limit_data cutting the request mid-body',
          toxic: {
            type: 'limit_data',
            stream: 'upstream',
            bytes: requestHead + Math.floor(requestBody / 2),
          },
          met: (attempts, counted) =>
            reasons(attempts, 'CONNECTION_RESET') >= 8 && counted.cuts >= 8,
        },
        {
          name: 'limit_data cutting the response mid-body',
          toxic: {
            type: 'limit_data',
            stream: 'downstream',
            bytes: RESPONSE_CUT,
          },
          // The status line came through (the partner answered 200: delivered), the rest of the
          // answer did not (the proxy cut it).
          met: (attempts, counted) =>
            attempts.filter((a) => a.status === 'delivered' && a.httpStatus === 200).length >= 8 &&
            counted.cuts >= 8,
        },
        {
          name: 'black hole (timeout)',
          toxic: { type: 'timeout' },
          // The pushes went into the proxy and nowhere further.
          met: (attempts, counted) => reasons(attempts, 'TIMEOUT') >= 8 && counted.dropped > 0,
        },
        {
          name: 'down',
          toxic: { type: 'down' },
          met: (attempts) => reasons(attempts, 'CONNECTION_REFUSED') >= 8,
        },
      ];

      for (const phase of phases) {
        const since = await lastLogId();
        const started = Date.now();
        const before = proxy.stats();
        await proxy.setToxic(phase.toxic);
        queued.push(...(await harness.enqueue(PARTNER, WAVE)));
        await eventually(
          async () => {
            if (Date.now() - started < PHASE_MIN_MS) return false;
            const now = proxy.stats();
            return phase.met(await attemptsAfter(since), {
              resets: now.resets - before.resets,
              cuts: now.cuts - before.cuts,
              dropped: now.droppedBytes - before.droppedBytes,
            });
          },
          `the fault "${phase.name}" to show in the delivery attempts`,
          30_000,
          50,
        );
      }
      await proxy.setToxic({ type: 'none' });
      await eventually(
        async () => (await undelivered()) === 0,
        'every document delivered once the network is clean again',
        60_000,
        50,
      );

      const db = harness.database.db;
      const rows = await db
        .selectFrom('outbox')
        .select(['message_id', 'status', 'attempts', 'body'])
        .where('recipient_id', '=', PARTNER)
        .execute();
      const queuedIds = new Set(queued);
      expect(queuedIds.size).toBe(WARM_UP + WAVE * phases.length);
      expect(rows.map((r) => r.message_id).sort()).toEqual([...queuedIds].sort());
      expect(rows.every((r) => r.status === 'delivered')).toBe(true);

      // Every queued document was acknowledged by the partner; nothing under another id.
      expect([...rx.acknowledgedIds()].sort()).toEqual([...queuedIds].sort());
      expect(
        rx.requests.every((r) => r.messageId !== undefined && queuedIds.has(r.messageId)),
      ).toBe(true);
      // A repeat is a re-send of the same document: same bytes, same id inside the document.
      const bodyOf = new Map(rows.map((r) => [r.message_id, new TextDecoder().decode(r.body)]));
      for (const request of rx.requests) {
        expect(request.body).toBe(bodyOf.get(request.messageId!));
        const header = (JSON.parse(request.body) as { header: { messageId: string } }).header;
        expect(header.messageId).toBe(request.messageId);
      }
      // Re-sends did happen: in the latency phase the partner answered 200 to pushes the gateway
      // had given up on (the answer came back after the push timeout).
      const acknowledgedTwice = [...rx.acknowledgedCounts().values()].filter((n) => n > 1);
      expect(acknowledgedTwice.length).toBeGreaterThan(0);

      // No dead letters.
      const dead = await db
        .selectFrom('message_log')
        .select('message_id')
        .where('partner_id', '=', PARTNER)
        .where('event', '=', 'dead-lettered')
        .execute();
      expect(dead).toEqual([]);

      // Every attempt is in the log: numbered 1…attempts per document, exactly one delivered
      // (the last), and at least as many as the partner saw of it.
      const attempts = await attemptsAfter('0');
      const byMessage = new Map<string, AttemptEntry[]>();
      for (const entry of attempts) {
        byMessage.set(entry.messageId, [...(byMessage.get(entry.messageId) ?? []), entry]);
      }
      const arrivals = new Map<string, number>();
      for (const request of rx.requests) {
        arrivals.set(request.messageId!, (arrivals.get(request.messageId!) ?? 0) + 1);
      }
      for (const row of rows) {
        const logged = byMessage.get(row.message_id) ?? [];
        expect(logged.map((a) => a.attempt)).toEqual(
          Array.from({ length: row.attempts }, (_, i) => i + 1),
        );
        expect(logged.filter((a) => a.status === 'delivered')).toHaveLength(1);
        expect(logged.at(-1)!.status).toBe('delivered');
        expect(logged.length).toBeGreaterThanOrEqual(arrivals.get(row.message_id) ?? 0);
      }
    },
  );
});

describe('slowloris', () => {
  let server: RunningServer;
  const slow: net.Socket[] = [];
  const timers: NodeJS.Timeout[] = [];

  beforeAll(async () => {
    server = await listen(harness.app, '127.0.0.1', 0);
  });
  afterAll(async () => {
    for (const timer of timers) clearInterval(timer);
    for (const socket of slow) socket.destroy();
    await server.close(1_000);
  });

  it('headers trickled one byte at a time do not stop other requests', async () => {
    const seller = await registerPartner(harness, { id: 'SLOW-NEIGHBOUR', roles: ['seller'] });
    const { port } = new URL(server.url);
    const head = `POST /v1/documents HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Trickle: ${'a'.repeat(10_000)}`;
    const answered: number[] = [];
    for (let i = 0; i < 20; i++) {
      const socket = net.connect({ host: '127.0.0.1', port: Number(port) });
      socket.on('error', () => undefined);
      socket.on('data', () => answered.push(i));
      slow.push(socket);
      let sent = 0;
      timers.push(
        setInterval(() => {
          if (sent < head.length && !socket.destroyed) socket.write(head[sent++]!);
        }, 10),
      );
    }
    await eventually(() => slow.every((s) => s.bytesWritten >= 20), 'the trickles under way');

    // Meanwhile the server answers everyone else, again and again.
    for (let round = 0; round < 5; round++) {
      const health = await fetch(`${server.url}/healthz`);
      expect(health.status).toBe(200);
      const doc = exampleDocument('ItemNotice', seller.id, {
        sellerItemId: `SLOW-${round}`,
        gtin: undefined,
      });
      const response = await fetch(`${server.url}/v1/documents`, {
        method: 'POST',
        headers: { authorization: `Bearer ${seller.apiKey}`, 'content-type': 'application/json' },
        body: JSON.stringify(doc),
      });
      expect(response.status).toBe(200);
      expect((await receiptOf(response)).status).toBe('accepted');
    }
    // The trickling sockets were still being read, never answered: they hold a connection each
    // and nothing else. (Closing them is the server's headersTimeout, 66 s, checked every 30 s:
    // too long for this suite; see the report on server.ts.)
    expect(answered).toEqual([]);
    expect(slow.every((s) => !s.destroyed)).toBe(true);
  });
});
