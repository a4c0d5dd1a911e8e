import { randomBytes } from 'node:crypto';
import { lookup as dnsLookup } from 'node:dns';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo, LookupFunction } from 'node:net';
import { Webhook } from 'standardwebhooks';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  classifyStatus,
  createGuardedLookup,
  createPushClient,
  parseRetryAfter,
  type PushClient,
  type PushRequest,
} from '../../adapters/transport/https-push.ts';
import { startReceiver, type Receiver } from '../support/receiver.ts';

const secret = `whsec_${randomBytes(32).toString('base64')}`;
const body = '<ItemNotice xmlns="urn:nakadachi:1"><Header/><Body>Ω</Body></ItemNotice>';

let receiver: Receiver;
let client: PushClient;

beforeEach(async () => {
  receiver = await startReceiver();
  client = createPushClient({ allowInsecure: true, timeoutMs: 2000 });
});

afterEach(async () => {
  client.close();
  await receiver.close();
});

function request(overrides: Partial<PushRequest> = {}): PushRequest {
  return {
    url: receiver.url,
    body,
    contentType: 'application/xml',
    messageId: 'GW-0001',
    secret,
    ...overrides,
  };
}

function signatureHeaders(headers: IncomingHttpHeaders): Record<string, string> {
  const pick = (name: string) => String(headers[name]);
  return {
    'webhook-id': pick('webhook-id'),
    'webhook-timestamp': pick('webhook-timestamp'),
    'webhook-signature': pick('webhook-signature'),
  };
}

/** Resolves every name to 127.0.0.1, as a rebinding DNS server would. */
const toLoopback: LookupFunction = (_hostname, options, callback) => {
  if (options.all) callback(null, [{ address: '127.0.0.1', family: 4 }]);
  else callback(null, '127.0.0.1', 4);
};

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('push: delivery and signature', () => {
  it('delivers on 200 with signed Standard Webhooks headers', async () => {
    const outcome = await client.push(request({ url: `${receiver.url}hooks/in?x=1` }));
    expect(outcome).toEqual({ kind: 'delivered', status: 200 });

    expect(receiver.requests).toHaveLength(1);
    const received = receiver.requests[0]!;
    expect(received.method).toBe('POST');
    expect(received.path).toBe('/hooks/in?x=1');
    expect(received.body).toBe(body);
    expect(received.messageId).toBe('GW-0001');
    expect(received.headers['content-type']).toBe('application/xml');
    expect(received.headers['user-agent']).toBe('nakadachi');
    expect(received.headers['content-length']).toBe(String(Buffer.byteLength(body)));
    expect(() =>
      new Webhook(secret).verify(received.body, signatureHeaders(received.headers), {
        jsonParse: false,
      }),
    ).not.toThrow();
    expect(() =>
      new Webhook(`whsec_${randomBytes(32).toString('base64')}`).verify(
        received.body,
        signatureHeaders(received.headers),
        { jsonParse: false },
      ),
    ).toThrow('No matching signature');
  });

  it('signs a Uint8Array body over the same bytes and delivers on any 2xx', async () => {
    receiver.respondWith(() => ({ status: 204 }));
    const bytes = new TextEncoder().encode('{"header":{"messageId":"m"},"body":{"q":"数量"}}');
    const outcome = await client.push(
      request({ body: bytes, contentType: 'application/json', messageId: 'GW-0002' }),
    );
    expect(outcome).toEqual({ kind: 'delivered', status: 204 });
    const received = receiver.requests[0]!;
    expect(Buffer.from(received.body)).toEqual(Buffer.from(bytes));
    expect(new Webhook(secret).verify(received.body, signatureHeaders(received.headers))).toEqual({
      header: { messageId: 'm' },
      body: { q: '数量' },
    });
  });

  it('keeps the message id stable across retries and reuses one keep-alive connection', async () => {
    receiver.respondWith((_req, n) => ({ status: n < 2 ? 503 : 200 }));
    const kinds: string[] = [];
    for (let i = 0; i < 3; i += 1) kinds.push((await client.push(request())).kind);
    expect(kinds).toEqual(['retryable', 'retryable', 'delivered']);
    expect(receiver.requests.map((r) => r.messageId)).toEqual(['GW-0001', 'GW-0001', 'GW-0001']);
    expect(receiver.distinctMessageIds()).toEqual(new Set(['GW-0001']));
    expect(receiver.acknowledgedCounts()).toEqual(new Map([['GW-0001', 1]]));
    expect(new Set(receiver.requests.map((r) => r.remotePort)).size).toBe(1);
  });

  it('delivers many concurrent pushes exactly once each', async () => {
    const ids = Array.from({ length: 300 }, (_, i) => `GW-${i}`);
    const outcomes = await Promise.all(ids.map((messageId) => client.push(request({ messageId }))));
    expect(outcomes.every((o) => o.kind === 'delivered')).toBe(true);
    expect(receiver.acknowledgedIds()).toEqual(new Set(ids));
    expect([...receiver.acknowledgedCounts().values()].every((count) => count === 1)).toBe(true);
  });

  it('opens at most 64 connections to one host; the pushes beyond them wait for one', async () => {
    receiver.respondWith(() => ({ status: 200, delayMs: 50 }));
    const ids = Array.from({ length: 200 }, (_, i) => `GW-${i}`);
    const outcomes = await Promise.all(ids.map((messageId) => client.push(request({ messageId }))));
    expect(outcomes.every((o) => o.kind === 'delivered')).toBe(true);
    expect(receiver.acknowledgedIds()).toEqual(new Set(ids));
    expect(new Set(receiver.requests.map((r) => r.remotePort)).size).toBe(64);
  });

  it("counts a push's wait for a connection in its time limit", async () => {
    const oneSocket = createPushClient({ allowInsecure: true, timeoutMs: 900, maxSockets: 1 });
    receiver.respondWith(() => ({ status: 200, delayMs: 600 }));
    const [first, second] = await Promise.all([
      oneSocket.push(request({ messageId: 'GW-first' })),
      oneSocket.push(request({ messageId: 'GW-second' })),
    ]);
    oneSocket.close();
    // The second waited 600 ms for the socket, then 600 ms for its answer: past 900 ms.
    expect(first).toEqual({ kind: 'delivered', status: 200 });
    expect(second).toMatchObject({ kind: 'retryable', reason: 'TIMEOUT' });
  });
});

describe('push: classification of answers', () => {
  it.each([
    [500, 'SERVER_ERROR'],
    [502, 'SERVER_ERROR'],
    [503, 'SERVER_ERROR'],
    [429, 'RATE_LIMITED'],
    [408, 'REQUEST_TIMEOUT'],
  ])('%i is retryable (%s)', async (status, reason) => {
    receiver.respondWith(() => ({ status, body: 'try later' }));
    expect(await client.push(request())).toEqual({
      kind: 'retryable',
      status,
      reason,
      detail: 'try later',
    });
  });

  it('503 with Retry-After in seconds', async () => {
    receiver.respondWith(() => ({ status: 503, headers: { 'retry-after': '120' } }));
    expect(await client.push(request())).toEqual({
      kind: 'retryable',
      status: 503,
      reason: 'SERVER_ERROR',
      retryAfterMs: 120_000,
    });
  });

  it('503 and 429 with Retry-After as an HTTP-date', async () => {
    const at = new Date(Date.now() + 90_000).toUTCString();
    for (const status of [503, 429]) {
      receiver.respondWith(() => ({ status, headers: { 'retry-after': at } }));
      const outcome = await client.push(request());
      expect(outcome.kind).toBe('retryable');
      if (outcome.kind !== 'retryable') return;
      // Whole seconds in the header, plus however long the round trip took.
      expect(outcome.retryAfterMs).toBeGreaterThan(80_000);
      expect(outcome.retryAfterMs).toBeLessThanOrEqual(90_000);
    }
  });

  it.each([400, 401, 403, 404, 409, 413, 422])('%i is permanent', async (status) => {
    receiver.respondWith(() => ({ status, body: `{"error":{"code":"X${status}"}}` }));
    expect(await client.push(request())).toEqual({
      kind: 'permanent',
      status,
      reason: 'CLIENT_ERROR',
      detail: `{"error":{"code":"X${status}"}}`,
    });
  });

  it('302 is permanent and not followed', async () => {
    receiver.respondWith(() => ({ status: 302, headers: { location: 'http://169.254.169.254/' } }));
    expect(await client.push(request())).toEqual({
      kind: 'permanent',
      status: 302,
      reason: 'REDIRECT',
      detail: 'redirect to http://169.254.169.254/',
    });
    expect(receiver.requests).toHaveLength(1);
  });

  it('410 is gone', async () => {
    receiver.respondWith(() => ({ status: 410 }));
    expect(await client.push(request())).toEqual({ kind: 'gone', status: 410 });
  });

  it('keeps at most 1 KiB of a large error body', async () => {
    receiver.respondWith(() => ({ status: 500, body: 'e'.repeat(300_000) }));
    const outcome = await client.push(request());
    expect(outcome.kind).toBe('retryable');
    if (outcome.kind === 'retryable') expect(outcome.detail).toBe('e'.repeat(1024));
  });
});

describe('push: network failures', () => {
  it('connection refused is retryable', async () => {
    const port = await closedPort();
    const outcome = await client.push(request({ url: `http://127.0.0.1:${port}/` }));
    expect(outcome).toMatchObject({ kind: 'retryable', reason: 'CONNECTION_REFUSED' });
  });

  it('a connection reset before the answer is retryable', async () => {
    receiver.respondWith(() => ({ status: 200, destroy: true }));
    const outcome = await client.push(request());
    expect(outcome).toMatchObject({ kind: 'retryable', reason: 'CONNECTION_RESET' });
    expect(receiver.acknowledgedIds().size).toBe(0);
  });

  it('a partner that never answers times out', async () => {
    const quick = createPushClient({ allowInsecure: true, timeoutMs: 200 });
    receiver.respondWith(() => ({ status: 200, delayMs: 60_000 }));
    const started = Date.now();
    const outcome = await quick.push(request());
    quick.close();
    expect(outcome).toMatchObject({ kind: 'retryable', reason: 'TIMEOUT' });
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('a failed TLS handshake is retryable', async () => {
    // https to a plain-http listener: the handshake fails (as with a bad certificate).
    const outcome = await client.push(request({ url: receiver.url.replace('http:', 'https:') }));
    expect(outcome).toMatchObject({ kind: 'retryable', reason: 'TLS_ERROR' });
    expect(receiver.requests).toHaveLength(0);
  });

  it('a DNS failure is retryable', async () => {
    const failing: LookupFunction = (hostname, _options, callback) => {
      callback(
        Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' }),
        [],
      );
    };
    const dnsless = createPushClient({ allowInsecure: false, timeoutMs: 2000, dnsLookup: failing });
    const outcome = await dnsless.push(request({ url: 'https://partner.example/in' }));
    dnsless.close();
    expect(outcome).toMatchObject({ kind: 'retryable', reason: 'DNS_FAILURE' });
  });

  it('a status that arrived stands when the body then stalls', async () => {
    // The partner has answered 200: a hanging body must not turn that into a retry (a duplicate).
    const stalling: Server = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        res.writeHead(200, { 'content-length': '100' });
        res.write('partial');
      });
    });
    await new Promise<void>((resolve) => stalling.listen(0, '127.0.0.1', resolve));
    const { port } = stalling.address() as AddressInfo;
    const quick = createPushClient({ allowInsecure: true, timeoutMs: 200 });
    const outcome = await quick.push(request({ url: `http://127.0.0.1:${port}/` }));
    quick.close();
    stalling.closeAllConnections();
    await new Promise<void>((resolve) => stalling.close(() => resolve()));
    expect(outcome).toEqual({ kind: 'delivered', status: 200 });
  });

  it('an aborted signal ends the attempt as retryable', async () => {
    receiver.respondWith(() => ({ status: 200, delayMs: 60_000 }));
    const controller = new AbortController();
    const pending = client.push(request({ signal: controller.signal }));
    setTimeout(() => controller.abort(), 50);
    expect(await pending).toMatchObject({ kind: 'retryable', reason: 'ABORTED' });
    expect(await client.push(request({ signal: AbortSignal.abort() }))).toMatchObject({
      kind: 'retryable',
      reason: 'ABORTED',
    });
  });

  it('a closed client answers CLIENT_CLOSED without sending', async () => {
    client.close();
    expect(await client.push(request())).toEqual({ kind: 'retryable', reason: 'CLIENT_CLOSED' });
    expect(receiver.requests).toHaveLength(0);
  });
});

describe('push: endpoint guard', () => {
  it('refuses loopback and http without allowInsecure, sending nothing', async () => {
    const strict = createPushClient({ allowInsecure: false, timeoutMs: 2000 });
    const port = new URL(receiver.url).port;
    for (const url of [
      receiver.url,
      `https://127.0.0.1:${port}/`,
      `https://localhost:${port}/`,
      `https://[::1]:${port}/`,
      `https://[::ffff:127.0.0.1]:${port}/`,
    ]) {
      expect(await strict.push(request({ url }))).toMatchObject({
        kind: 'permanent',
        reason: 'ENDPOINT_REFUSED',
      });
    }
    strict.close();
    expect(receiver.requests).toHaveLength(0);
  });

  it('refuses at connect time a name that resolves to loopback', async () => {
    const port = new URL(receiver.url).port;
    const strict = createPushClient({
      allowInsecure: false,
      timeoutMs: 2000,
      dnsLookup: toLoopback,
    });
    const outcome = await strict.push(request({ url: `https://partner.example:${port}/` }));
    strict.close();
    expect(outcome).toMatchObject({ kind: 'permanent', reason: 'ENDPOINT_REFUSED' });
    if (outcome.kind === 'permanent') expect(outcome.detail).toContain('127.0.0.1');
    expect(receiver.requests).toHaveLength(0);
  });

  it('connects to that address with allowInsecure (the lookup decides where we connect)', async () => {
    const port = new URL(receiver.url).port;
    const lax = createPushClient({ allowInsecure: true, timeoutMs: 2000, dnsLookup: toLoopback });
    const outcome = await lax.push(request({ url: `http://partner.example:${port}/in` }));
    lax.close();
    expect(outcome).toEqual({ kind: 'delivered', status: 200 });
    expect(receiver.requests[0]?.headers.host).toBe(`partner.example:${port}`);
  });

  it('the guarded lookup refuses loopback answers and passes public ones', async () => {
    const lookup = createGuardedLookup(dnsLookup);
    for (const name of ['localhost', 'api.localhost', '127.0.0.1', '::1']) {
      const refused = await new Promise<NodeJS.ErrnoException | null>((resolve) =>
        lookup(name, { all: true }, (error) => resolve(error)),
      );
      expect(refused?.code).toBe('ENDPOINT_REFUSED');
    }

    const publicOnly = createGuardedLookup((_h, _o, callback) =>
      callback(null, [
        { address: '93.184.215.14', family: 4 },
        { address: '2606:2800:21f:cb07:6820:80da:af6b:8b2c', family: 6 },
      ]),
    );
    const single = await new Promise<[unknown, number | undefined]>((resolve) =>
      publicOnly('partner.example', {}, (_error, address, family) => resolve([address, family])),
    );
    expect(single).toEqual(['93.184.215.14', 4]);

    const mixed = createGuardedLookup((_h, _o, callback) =>
      callback(null, [
        { address: '93.184.215.14', family: 4 },
        { address: '10.0.0.7', family: 4 },
      ]),
    );
    const mixedError = await new Promise<NodeJS.ErrnoException | null>((resolve) =>
      mixed('partner.example', { all: true }, (error) => resolve(error)),
    );
    expect(mixedError?.code).toBe('ENDPOINT_REFUSED');
  });
});

describe('push: requests we refuse to send', () => {
  it.each([
    ['a message id with a dot', { messageId: 'GW.1' }],
    ['an empty message id', { messageId: '' }],
    ['a message id with a newline', { messageId: 'GW\r\nx: y' }],
    ['an empty secret', { secret: 'whsec_' }],
    ['a secret that is not base64', { secret: 'whsec_not base64!' }],
    ['a body that is not UTF-8', { body: Uint8Array.of(0xff, 0xfe, 0x00) }],
    ['a content type with a newline', { contentType: 'text/plain\r\nx-evil: 1' }],
  ])('%s is permanent INVALID_REQUEST', async (_name, overrides) => {
    expect(await client.push(request(overrides))).toMatchObject({
      kind: 'permanent',
      reason: 'INVALID_REQUEST',
    });
    expect(receiver.requests).toHaveLength(0);
  });
});

describe('classifyStatus and parseRetryAfter', () => {
  const now = Date.parse('2025-03-01T12:00:00Z');

  it.each([
    [200, 'delivered'],
    [201, 'delivered'],
    [299, 'delivered'],
    [301, 'permanent'],
    [304, 'permanent'],
    [307, 'permanent'],
    [400, 'permanent'],
    [410, 'gone'],
    [425, 'retryable'],
    [499, 'permanent'],
    [500, 'retryable'],
    [599, 'retryable'],
    [199, 'retryable'],
    [600, 'retryable'],
  ])('%i → %s', (status, kind) => {
    expect(classifyStatus(status, undefined, now).kind).toBe(kind);
  });

  it.each([
    ['0', 0],
    ['1', 1000],
    [' 30 ', 30_000],
    ['86400', 86_400_000],
    ['999999', 86_400_000],
    ['9'.repeat(400), 86_400_000],
    ['Sat, 01 Mar 2025 12:00:45 GMT', 45_000],
    ['Saturday, 01-Mar-25 12:01:00 GMT', 60_000],
    ['Sat Mar  1 12:00:10 2025', 10_000],
    ['Sat, 01 Mar 2025 11:00:00 GMT', 0],
    ['Mon, 01 Mar 2100 00:00:00 GMT', 86_400_000],
  ])('Retry-After %j → %i ms', (value, expected) => {
    expect(parseRetryAfter(value, now)).toBe(expected);
  });

  it.each([undefined, '', '-1', '1.5', 'soon', 'Sat, 99 Foo 2025'])(
    'Retry-After %j is ignored',
    (value) => {
      expect(parseRetryAfter(value, now)).toBeUndefined();
    },
  );
});
