/**
 * Secrets never reach the logs. A gateway logging at debug into a buffer (and then a real gateway
 * process, its stdout and stderr) is driven over HTTP through every route family with real
 * secrets — partner API keys (valid, rotated, revoked, wrong, in the query string), signing
 * secrets (signed documents and batches, replays, signed pushes to a partner endpoint that fails
 * once), the admin and auditor tokens (right, wrong, read-only refusals), console logins and
 * their session cookies — and through failures: 400, 401, 403, 413 and a 500 provoked in the
 * database. Then every secret, raw and in its base64, hex and URL-encoded forms, is looked for in
 * everything logged: none may appear.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DatabaseHandle } from '../../gateway/db/database.ts';
import { createLogger } from '../../gateway/logger.ts';
import { startGateway, type Gateway } from '../../gateway/main.ts';
import { itemNotice } from '../support/batches.ts';
import { exampleDocument } from '../support/documents.ts';
import { orderBody } from '../support/echeck.ts';
import { spawnGateway, openSharedStore, type SharedStore } from '../support/child-gateway.ts';
import { openTestDatabase } from '../support/database.ts';
import { eventually, FAST_DELIVERY } from '../support/delivery.ts';
import { ADMIN_TOKEN, testConfig } from '../support/gateway.ts';
import { startReceiver, type Receiver } from '../support/receiver.ts';

const AUDITOR_TOKEN = 'test-auditor-token-0123456789abcdef';

/** Every secret the drive handled, and where it came from. */
class Secrets {
  readonly all = new Map<string, string>();

  add(name: string, secret: string): void {
    this.all.set(secret, name);
  }

  /** The secret and the forms it could be logged in: base64, hex, URL-encoded, its parts. */
  forms(): [form: string, name: string][] {
    const out: [string, string][] = [];
    for (const [secret, name] of this.all) {
      const bytes = Buffer.from(secret);
      out.push(
        [secret, name],
        [bytes.toString('base64'), `${name} (base64)`],
        [bytes.toString('base64url'), `${name} (base64url)`],
        [bytes.toString('hex'), `${name} (hex)`],
        [encodeURIComponent(secret), `${name} (URL-encoded)`],
      );
      // An API key is nk_<keyId>_<secret>: the key id may be logged, the rest never.
      const keySecret = /^nk_[0-9a-f]+_(.+)$/.exec(secret)?.[1];
      if (keySecret !== undefined) out.push([keySecret, `${name} (secret part)`]);
      // A signing secret is whsec_<base64 key>: the key in any encoding.
      const signingKey = /^whsec_(.+)$/.exec(secret)?.[1];
      if (signingKey !== undefined) {
        const key = Buffer.from(signingKey, 'base64');
        out.push(
          [signingKey, `${name} (key)`],
          [key.toString('hex'), `${name} (key, hex)`],
          [key.toString('base64url'), `${name} (key, base64url)`],
        );
      }
    }
    return out.filter(([form]) => form.length >= 16);
  }
}

/**
 * The log as text, plus every byte array found in it decoded as UTF-8: a Uint8Array serialises to
 * JSON as {"0":123,"1":34,…}, where no text search would see what it holds.
 */
function readableLog(log: string): string {
  const decoded: string[] = [];
  const visit = (value: unknown): void => {
    if (typeof value !== 'object' || value === null) return;
    const buffer = value as { type?: unknown; data?: unknown };
    if (buffer.type === 'Buffer' && Array.isArray(buffer.data)) {
      decoded.push(Buffer.from(buffer.data as number[]).toString('utf8'));
      return;
    }
    const entries = Object.entries(value);
    if (
      entries.length > 0 &&
      entries.every(([key, v], i) => key === String(i) && typeof v === 'number')
    ) {
      decoded.push(Buffer.from(entries.map(([, v]) => v as number)).toString('utf8'));
      return;
    }
    for (const [, v] of entries) visit(v);
  };
  for (const line of log.split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      visit(JSON.parse(line));
    } catch {
      // not a JSON line: searched as text only
    }
  }
  return [log, ...decoded].join('\n');
}

function expectNoSecret(log: string, secrets: Secrets): void {
  const readable = readableLog(log);
  const found = secrets.forms().filter(([form]) => readable.includes(form));
  expect(
    found.map(([, name]) => name),
    'secrets found in the log',
  ).toEqual([]);
}

interface DriveOptions {
  base: string;
  receiver: Receiver;
  secrets: Secrets;
  /** Installs and removes a database fault that makes LOG-SIGNER's next document fail. */
  provokeFailure?: { arm(): Promise<void>; disarm(): Promise<void> };
}

async function call(
  base: string,
  method: string,
  path: string,
  init: { headers?: Record<string, string>; body?: string } = {},
): Promise<Response> {
  return fetch(`${base}${path}`, {
    method,
    headers: init.headers,
    body: init.body,
    redirect: 'manual',
  });
}

async function admin(
  base: string,
  method: string,
  path: string,
  body?: unknown,
  token = ADMIN_TOKEN,
) {
  return call(base, method, path, {
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

async function register(base: string, partner: Record<string, unknown>) {
  const response = await admin(base, 'POST', '/admin/v1/partners', {
    name: partner.id,
    ...partner,
  });
  expect(response.status).toBe(201);
  return (await response.json()) as { apiKey: string; signingSecret: string; keyId: string };
}

/**
 * A document declared larger than the limit (2 MiB), of which only the start is sent: the gateway
 * answers 413 from the Content-Length without reading on (a client sending it all would see the
 * connection closed under it).
 */
function declaredTooLarge(base: string, key: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const request = http.request(`${base}/v1/documents`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${key}`,
        'content-type': 'application/json',
        'content-length': String(2 * 1024 * 1024),
      },
    });
    request.on('response', (response) => {
      response.resume();
      resolve(response.statusCode ?? 0);
      request.destroy();
    });
    request.on('error', reject);
    request.write('{"header":');
  });
}

function signedHeaders(secret: string, body: string, id = `msg_${randomBytes(6).toString('hex')}`) {
  const at = new Date();
  return {
    'webhook-id': id,
    'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
    'webhook-signature': new Webhook(secret).sign(id, at, body),
  };
}

/**
 * One pass over every route family with real secrets; returns the statuses seen, so the test can
 * check that each kind of answer (200, 400, 401, 403, 413, 500) was really produced.
 */
async function drive(options: DriveOptions): Promise<Set<number>> {
  const { base, receiver, secrets } = options;
  const seen = new Set<number>();
  const expectStatus = async (response: Response | Promise<Response>, status: number) => {
    const settled = await response;
    await settled.arrayBuffer();
    expect(settled.status, settled.url).toBe(status);
    seen.add(status);
  };
  secrets.add('admin token', ADMIN_TOKEN);
  secrets.add('auditor token', AUDITOR_TOKEN);

  // Partners: one plain, one that signs its requests, one that receives pushes.
  const seller = await register(base, { id: 'LOG-SELLER', roles: ['seller'] });
  const signer = await register(base, {
    id: 'LOG-SIGNER',
    roles: ['seller'],
    requireSignedRequests: true,
  });
  const buyer = await register(base, { id: 'LOG-BUYER', roles: ['buyer'] });
  await register(base, { id: 'LOG-CARRIER', roles: ['carrier'] });
  secrets.add('buyer key', buyer.apiKey);
  secrets.add('buyer signing secret', buyer.signingSecret);
  const pushed = await register(base, {
    id: 'LOG-PUSH',
    roles: ['buyer'],
    deliveryMode: 'push',
    endpointUrl: receiver.url,
  });
  secrets.add('seller key', seller.apiKey);
  secrets.add('seller signing secret', seller.signingSecret);
  secrets.add('signer key', signer.apiKey);
  secrets.add('signer signing secret', signer.signingSecret);
  secrets.add('push partner key', pushed.apiKey);
  secrets.add('push partner signing secret', pushed.signingSecret);
  const rotated = (await (
    await admin(base, 'POST', '/admin/v1/partners/LOG-SELLER/keys')
  ).json()) as {
    apiKey: string;
  };
  secrets.add('rotated seller key', rotated.apiKey);
  await expectStatus(
    admin(base, 'DELETE', `/admin/v1/partners/LOG-SELLER/keys/${seller.keyId}`),
    200,
  );
  const wrongKey = `nk_${randomBytes(6).toString('hex')}_${randomBytes(32).toString('base64url')}`;
  secrets.add('wrong key', wrongKey);

  const post = (path: string, key: string, body: string, headers: Record<string, string> = {}) =>
    call(base, 'POST', path, {
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', ...headers },
      body,
    });
  const getAs = (path: string, key: string) =>
    call(base, 'GET', path, { headers: { authorization: `Bearer ${key}` } });

  // Documents: accepted, replayed, refused for every reason a key or a body can give.
  const accepted = JSON.stringify(itemNotice('LOG-SELLER'));
  await expectStatus(post('/v1/documents', rotated.apiKey, accepted), 200);
  await expectStatus(post('/v1/documents', rotated.apiKey, accepted), 200);
  const messageId = (JSON.parse(accepted) as { header: { messageId: string } }).header.messageId;
  await expectStatus(getAs(`/v1/documents/${messageId}/receipt`, rotated.apiKey), 200);
  await expectStatus(getAs(`/v1/documents/${messageId}/receipt`, signer.apiKey), 404);
  await expectStatus(post('/v1/documents', seller.apiKey, accepted), 401); // revoked
  await expectStatus(post('/v1/documents', wrongKey, accepted), 401);
  await expectStatus(call(base, 'GET', `/v1/me?apiKey=${encodeURIComponent(rotated.apiKey)}`), 401);
  await expectStatus(
    call(base, 'GET', '/v1/me', {
      headers: { authorization: `Basic ${Buffer.from(`x:${rotated.apiKey}`).toString('base64')}` },
    }),
    401,
  );
  await expectStatus(
    post('/v1/documents', rotated.apiKey, '<ItemNotice xmlns="urn:nakadachi:1"><Header>', {
      'content-type': 'application/xml',
    }),
    400,
  );
  await expectStatus(
    post('/v1/documents', rotated.apiKey, JSON.stringify(itemNotice('LOG-SIGNER'))),
    403,
  );
  const tooLarge = await declaredTooLarge(base, rotated.apiKey);
  expect(tooLarge).toBe(413);
  seen.add(tooLarge);
  for (const path of ['/v1/me', '/v1/items', '/v1/reservations', '/v1/mailbox']) {
    await expectStatus(getAs(path, rotated.apiKey), 200);
  }
  await expectStatus(
    post('/v1/mailbox/ack', rotated.apiKey, '{"messageIds":["NAKADACHI-X"]}'),
    200,
  );

  // An e-check: a bearer instrument (whoever holds the token can order with it), read from the
  // buyer's mailbox; the order that presents it is the document the database will refuse below.
  const itemId = (
    (await (await getAs(`/v1/documents/${messageId}/receipt`, rotated.apiKey)).json()) as {
      body: { assigned: { value: string }[] };
    }
  ).body.assigned[0]!.value;
  await expectStatus(
    admin(base, 'POST', '/admin/v1/accounts/LOG-BUYER/fundings', {
      amount: '100000',
      currency: 'JPY',
    }),
    201,
  );
  const checkRequest = exampleDocument('ECheckRequest', 'LOG-BUYER', {
    seller: 'LOG-SELLER',
    carrier: 'LOG-CARRIER',
    amount: { amount: '32800', currency: 'JPY' },
    lines: [{ itemId, quantity: 1 }],
    requestReference: undefined,
  });
  await expectStatus(post('/v1/documents', buyer.apiKey, JSON.stringify(checkRequest)), 200);
  const mailbox = (await (await getAs('/v1/mailbox', buyer.apiKey)).json()) as {
    documents: { type: string; document: { body: Record<string, any> } }[];
  };
  const echeck = mailbox.documents.find((d) => d.type === 'ECheck')!.document.body;
  secrets.add('e-check token', echeck.echeck as string);
  const order = JSON.stringify(
    exampleDocument(
      'CommodityOrder',
      'LOG-BUYER',
      orderBody(echeck, [{ itemId, quantity: 1, unitPrice: { amount: '32800', currency: 'JPY' } }]),
    ),
  );

  // Signed requests: accepted, replayed, forged, on both signed routes.
  const signedDoc = JSON.stringify(itemNotice('LOG-SIGNER'));
  const headers = signedHeaders(signer.signingSecret, signedDoc);
  await expectStatus(post('/v1/documents', signer.apiKey, signedDoc, headers), 200);
  await expectStatus(post('/v1/documents', signer.apiKey, signedDoc, headers), 401);
  await expectStatus(
    post('/v1/documents', signer.apiKey, signedDoc, signedHeaders(seller.signingSecret, signedDoc)),
    401,
  );
  const batch = `${JSON.stringify(itemNotice('LOG-SIGNER'))}\n`;
  await expectStatus(
    post('/v1/batches', signer.apiKey, batch, {
      'content-type': 'application/x-ndjson',
      ...signedHeaders(signer.signingSecret, batch),
    }),
    200,
  );

  // A push, signed with the partner's secret, to an endpoint that fails once.
  let answered = 0;
  receiver.respondWith(() => ({ status: answered++ === 0 ? 500 : 200, body: 'nope' }));
  const refusedCheck = JSON.stringify({
    header: {
      messageId: `LOG-PUSH-${randomBytes(4).toString('hex')}`,
      type: 'ECheckRequest',
      sender: 'LOG-PUSH',
      sentAt: new Date().toISOString(),
    },
    body: {
      seller: 'LOG-SELLER',
      carrier: 'NO-SUCH-CARRIER',
      amount: { amount: '100', currency: 'JPY' },
      lines: [{ itemId: 'ITM-NONE', quantity: 1 }],
    },
  });
  await expectStatus(post('/v1/documents', pushed.apiKey, refusedCheck), 200);
  await eventually(() => receiver.acknowledgedIds().size > 0, 'the ECheckRefusal pushed', 15_000);
  expect(receiver.requests.length).toBeGreaterThanOrEqual(2);
  expect(receiver.requests[0]!.headers['webhook-signature']).toMatch(/^v1,/);

  // The admin API: the admin token, a wrong one, the auditor's reads and its refused writes.
  await expectStatus(admin(base, 'GET', '/admin/v1/partners'), 200);
  await expectStatus(admin(base, 'GET', '/admin/v1/partners/LOG-SIGNER'), 200);
  await expectStatus(admin(base, 'GET', '/admin/v1/messages?limit=5'), 200);
  await expectStatus(admin(base, 'GET', '/admin/v1/partners', undefined, `${ADMIN_TOKEN}x`), 401);
  await expectStatus(admin(base, 'GET', '/admin/v1/partners', undefined, rotated.apiKey), 401);
  await expectStatus(
    admin(base, 'GET', `/admin/v1/partners?token=${ADMIN_TOKEN}`, undefined, ''),
    401,
  );
  await expectStatus(admin(base, 'GET', '/admin/v1/audit/status', undefined, AUDITOR_TOKEN), 200);
  await expectStatus(admin(base, 'POST', '/admin/v1/audit/seal', undefined, AUDITOR_TOKEN), 403);
  await expectStatus(admin(base, 'POST', '/admin/v1/audit/seal'), 200);
  await expectStatus(admin(base, 'POST', '/admin/v1/partners', { id: 'bad id!' }), 400);

  // The console: logins with each token (and a wrong one), pages behind the session cookie.
  const login = async (token: string) =>
    call(base, 'POST', '/console/login', {
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token, next: '/console' }).toString(),
    });
  for (const token of [ADMIN_TOKEN, AUDITOR_TOKEN]) {
    const response = await login(token);
    await expectStatus(response, 303);
    const cookie = response.headers.get('set-cookie')!.split(';')[0]!;
    secrets.add('console session cookie', cookie.slice(cookie.indexOf('=') + 1));
    secrets.add(
      'console session cookie (decoded)',
      decodeURIComponent(cookie.slice(cookie.indexOf('=') + 1)),
    );
    for (const page of ['/console', '/console/messages', '/console/partners', '/console/audit']) {
      await expectStatus(call(base, 'GET', page, { headers: { cookie } }), 200);
    }
  }
  await expectStatus(login(`${ADMIN_TOKEN}-wrong`), 401);
  await expectStatus(login(rotated.apiKey), 401);

  // A failure inside the database while a signed request, and the order carrying the e-check,
  // are processed: a 500 each. Without the fault the order goes through.
  if (options.provokeFailure !== undefined) {
    await options.provokeFailure.arm();
    try {
      const doc = JSON.stringify(itemNotice('LOG-SIGNER'));
      await expectStatus(
        post('/v1/documents', signer.apiKey, doc, signedHeaders(signer.signingSecret, doc)),
        500,
      );
      await expectStatus(post('/v1/documents', buyer.apiKey, order), 500);
    } finally {
      await options.provokeFailure.disarm();
    }
  }
  await expectStatus(post('/v1/documents', buyer.apiKey, order), 200);
  return seen;
}

/** A pino destination that keeps every line. */
function memoryDestination() {
  const chunks: string[] = [];
  return {
    write: (chunk: string) => void chunks.push(chunk),
    text: () => chunks.join(''),
  };
}

describe('the scan', () => {
  it('finds a secret in any of its forms, byte dumps included, and nothing where there is none', () => {
    const secrets = new Secrets();
    const key = `nk_0123456789ab_${randomBytes(32).toString('base64url')}`;
    const signing = `whsec_${randomBytes(32).toString('base64')}`;
    secrets.add('key', key);
    secrets.add('signing secret', signing);
    const signingKey = Buffer.from(signing.slice('whsec_'.length), 'base64');
    for (const text of [
      `{"msg":"x","auth":"Bearer ${key}"}`,
      Buffer.from(key).toString('base64'),
      encodeURIComponent(signing),
      key.slice('nk_0123456789ab_'.length),
      signingKey.toString('hex'),
      JSON.stringify({ err: { params: [{ ...new TextEncoder().encode(`a ${key} b`) }] } }),
      JSON.stringify({ err: { body: Buffer.from(`a ${signing} b`) } }),
    ]) {
      expect(() => expectNoSecret(text, secrets), text.slice(0, 40)).toThrow();
    }
    expect(() => expectNoSecret('{"msg":"request","route":"/v1/me"}\n', secrets)).not.toThrow();
  });
});

describe('an in-process gateway logging at debug', () => {
  let gateway: Gateway;
  let database: DatabaseHandle;
  let receiver: Receiver;
  const log = memoryDestination();

  beforeAll(async () => {
    receiver = await startReceiver();
    database = await openTestDatabase();
    const config = testConfig({
      ...FAST_DELIVERY,
      LOG_LEVEL: 'debug',
      HOST: '127.0.0.1',
      PORT: '0',
      AUDITOR_TOKEN,
    });
    gateway = await startGateway(config, { logger: createLogger('debug', log), database });
  }, 60_000);
  afterAll(async () => {
    await gateway?.stop();
    await database?.close();
    await receiver?.close();
  });

  it('logs none of the secrets it handled, through every route family and failure', async () => {
    const secrets = new Secrets();
    const failing = [
      sql`create or replace function security_test_refuse() returns trigger language plpgsql
          as $$ begin raise exception 'provoked by the test'; end $$`,
      sql`create trigger security_test_refuse before insert on inbound_messages for each row
          when (new.sender_id in ('LOG-SIGNER', 'LOG-BUYER'))
          execute function security_test_refuse()`,
    ];
    const seen = await drive({
      base: gateway.url!,
      receiver,
      secrets,
      provokeFailure: {
        arm: async () => {
          for (const statement of failing) await statement.execute(database.db);
        },
        disarm: async () =>
          void (await sql
            .raw('drop trigger security_test_refuse on inbound_messages')
            .execute(database.db)),
      },
    });
    expect([...seen].sort()).toEqual([200, 201, 303, 400, 401, 403, 404, 413, 500]);
    const text = log.text();
    // The log saw all of it: requests of every family, the 500 with its error, the pushes.
    for (const expected of [
      '"route":"/v1/documents"',
      '"route":"/v1/batches"',
      '"route":"/v1/mailbox/ack"',
      '"route":"/admin/v1/partners"',
      '"route":"/admin/v1/audit/seal"',
      '"route":"/console/login"',
      '"msg":"unhandled error"',
      'provoked by the test',
      '"job":"deliver-outbox"',
    ]) {
      expect(text, expected).toContain(expected);
    }
    expect(secrets.all.size).toBeGreaterThanOrEqual(12);
    expectNoSecret(text, secrets);
  });
});

describe('a real gateway process logging at debug', () => {
  let store: SharedStore;
  let receiver: Receiver;
  let dataDir: string;

  beforeAll(async () => {
    store = await openSharedStore();
    receiver = await startReceiver();
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'nakadachi-secrets-'));
  }, 60_000);
  afterAll(async () => {
    await receiver?.close();
    await store?.close();
    if (dataDir !== undefined) fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('writes none of them to its stdout or stderr', async () => {
    const child = await spawnGateway(
      {
        // Its signing key and spool in a folder of its own (on PostgreSQL the store has none).
        DATA_DIR: dataDir,
        ...store.env,
        ...FAST_DELIVERY,
        LOG_LEVEL: 'debug',
        ADMIN_TOKEN,
        AUDITOR_TOKEN,
      },
      60_000,
    );
    const secrets = new Secrets();
    try {
      const url = /"url":"(http:\/\/[^"]+)"/.exec(child.output())![1]!;
      const seen = await drive({ base: url, receiver, secrets });
      expect(seen).toContain(401);
    } finally {
      child.kill('SIGTERM');
      await child.exited;
    }
    const output = child.output();
    expect(output).toContain('"msg":"request refused"');
    expect(output).toContain('"msg":"gateway stopped"');
    expectNoSecret(output, secrets);
  }, 150_000);
});
