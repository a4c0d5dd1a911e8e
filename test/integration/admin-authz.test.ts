/**
 * Who may use the admin API: the admin token everything; the auditor token every GET (search,
 * timelines, audit verify and export) and nothing that changes state — checked against every
 * route the app registers, so a route added later is covered too; partners nothing at all.
 */
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enqueueNoAwards, testOutboxDeps } from '../support/delivery.ts';
import { sealEverything } from '../support/audit.ts';
import {
  ADMIN_TOKEN,
  registerPartner,
  startTestGateway,
  type RegisteredPartner,
  type TestGateway,
} from '../support/gateway.ts';

const AUDITOR_TOKEN = 'test-auditor-token-0123456789abcdef';

let gateway: TestGateway;
let partner: RegisteredPartner;
let deadLetter: string;

function request(method: string, path: string, token: string | undefined, body?: unknown) {
  return gateway.app.request(path, {
    method,
    headers: {
      'content-type': 'application/json',
      ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

/** Every admin route the app registers, parameters filled in, with its method. */
function adminRoutes(): { method: string; path: string }[] {
  const seen = new Set<string>();
  return gateway.app.routes
    .filter((r) => r.path.startsWith('/admin/v1/') && r.method !== 'ALL')
    .map((r) => ({
      method: r.method,
      path: r.path.replace(/:(\w+)(\{([^}]*)\})?/g, (_m, _name, _re, choices?: string) =>
        choices === undefined ? 'X-1' : (choices.split('|')[0] ?? 'X-1'),
      ),
    }))
    .filter((r) => {
      const key = `${r.method} ${r.path}`;
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    });
}

/** What a change would show: row counts, and the dead letter's status. */
async function state() {
  const result = await sql<Record<string, string>>`
    select (select count(*) from partners)::text as partners,
           (select count(*) from partner_api_keys)::text as keys,
           (select count(*) from audit_seals)::text as seals,
           (select count(*) from message_log)::text as log,
           (select status from outbox where message_id = ${deadLetter}) as dead`.execute(
    gateway.database.db,
  );
  return result.rows[0]!;
}

beforeAll(async () => {
  gateway = await startTestGateway({ AUDITOR_TOKEN });
  partner = await registerPartner(gateway, { id: 'AUTHZ-B', roles: ['buyer'] });
  deadLetter = (await enqueueNoAwards(gateway.database.db, testOutboxDeps(), partner.id, 1))[0]!;
  await gateway.database.db
    .updateTable('outbox')
    .set({ status: 'dead', dead_at: new Date(), last_error: 'test' })
    .execute();
  await sealEverything(gateway);
  await enqueueNoAwards(gateway.database.db, testOutboxDeps(), partner.id, 1); // left unsealed
}, 60_000);
afterAll(async () => {
  await gateway.close();
});

describe('the auditor token', () => {
  it('reads: search, one message, timeline, audit status, verify and export, partners, dead letters', async () => {
    const entry = (await (await request('GET', '/admin/v1/messages', AUDITOR_TOKEN)).json()) as {
      messages: { id: string }[];
    };
    expect(entry.messages.length).toBeGreaterThan(0);
    for (const path of [
      `/admin/v1/messages/${entry.messages[0]!.id}`,
      `/admin/v1/messages/${entry.messages[0]!.id}/raw`,
      '/admin/v1/audit/status',
      '/admin/v1/audit/verify',
      '/admin/v1/audit/export',
      '/admin/v1/audit/export/pages',
      '/admin/v1/partners',
      `/admin/v1/partners/${partner.id}`,
      '/admin/v1/dead-letters',
    ]) {
      expect((await request('GET', path, AUDITOR_TOKEN)).status, path).toBe(200);
    }
  });

  it('changes nothing: every other method of every admin route is refused with 403', async () => {
    const before = await state();
    const mutating = adminRoutes().filter((r) => r.method !== 'GET');
    expect(mutating.length).toBeGreaterThan(10);
    expect(mutating).toContainEqual({ method: 'POST', path: '/admin/v1/dead-letters/replay' });
    expect(mutating).toContainEqual({ method: 'POST', path: '/admin/v1/audit/seal' });
    for (const route of mutating) {
      const response = await request(route.method, route.path, AUDITOR_TOKEN, {
        all: true,
        id: 'AUTHZ-X',
        name: 'x',
        roles: ['buyer'],
        amount: '1.00',
        currency: 'JPY',
      });
      expect(response.status, `${route.method} ${route.path}`).toBe(403);
      expect(((await response.json()) as any).error.code).toBe('FORBIDDEN');
    }
    // …including the ones aimed at real objects
    for (const [method, path] of [
      ['POST', `/admin/v1/dead-letters/${deadLetter}/replay`],
      ['POST', `/admin/v1/partners/${partner.id}/disable`],
      ['POST', `/admin/v1/partners/${partner.id}/keys`],
    ] as const) {
      expect((await request(method, path, AUDITOR_TOKEN)).status, path).toBe(403);
    }
    expect(await state()).toEqual(before);
    expect(before.dead).toBe('dead');
  });

  it('is not a partner key, and cannot reach the partner API', async () => {
    expect((await request('GET', '/v1/me', AUDITOR_TOKEN)).status).toBe(401);
  });
});

describe('partners and strangers', () => {
  it('a partner API key reaches no admin route', async () => {
    for (const route of adminRoutes()) {
      const body = route.method === 'GET' ? undefined : {};
      const response = await request(route.method, route.path, partner.apiKey, body);
      expect(response.status, `${route.method} ${route.path}`).toBe(401);
    }
  });

  it('no token or a wrong one: 401; the admin token still works', async () => {
    expect((await request('GET', '/admin/v1/messages', undefined)).status).toBe(401);
    expect((await request('GET', '/admin/v1/messages', `${AUDITOR_TOKEN}x`)).status).toBe(401);
    expect((await request('POST', '/admin/v1/audit/seal', ADMIN_TOKEN)).status).toBe(200);
  });
});
