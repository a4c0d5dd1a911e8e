import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerPartner, startTestGateway, type TestGateway } from '../support/gateway.ts';

let gateway: TestGateway;
beforeAll(async () => {
  gateway = await startTestGateway();
});
afterAll(async () => {
  await gateway.close();
});

async function me(apiKey: string): Promise<Response> {
  return gateway.app.request('/v1/me', { headers: { authorization: `Bearer ${apiKey}` } });
}

describe('partner registry over the admin API', () => {
  it('creates a partner, shows its key once, stores only the hash', async () => {
    const response = await gateway.admin('POST', '/admin/v1/partners', {
      id: 'ACME',
      name: 'Acme',
      roles: ['buyer', 'seller'],
      format: 'xml',
    });
    expect(response.status).toBe(201);
    const body = (await response.json()) as Record<string, any>;
    expect(body.partner).toMatchObject({
      id: 'ACME',
      roles: ['seller', 'buyer'],
      status: 'active',
      format: 'xml',
      deliveryMode: 'mailbox',
    });
    expect(body.apiKey).toMatch(/^nk_[0-9a-f]{12}_[A-Za-z0-9_-]{43}$/);
    expect(body.signingSecret).toMatch(/^whsec_/);

    const rows = await gateway.database.db.selectFrom('partner_api_keys').selectAll().execute();
    expect(rows.map((r) => r.key_hash)).not.toContain(body.apiKey);
    expect(JSON.stringify(rows)).not.toContain(String(body.apiKey).slice(16));

    const shown = (await (await gateway.admin('GET', '/admin/v1/partners/ACME')).json()) as Record<
      string,
      any
    >;
    expect(JSON.stringify(shown)).not.toContain(body.apiKey);
    expect(shown.keys).toHaveLength(1);

    expect((await me(body.apiKey)).status).toBe(200);
  });

  it('lists partners in id order', async () => {
    await registerPartner(gateway, { id: 'ZETA', roles: ['carrier'] });
    const body = (await (await gateway.admin('GET', '/admin/v1/partners')).json()) as {
      partners: { id: string }[];
    };
    const ids = body.partners.map((p) => p.id);
    expect(ids).toEqual([...ids].sort());
    expect(ids).toContain('ZETA');
  });

  it.each([
    [{ id: 'ACME', name: 'again', roles: ['buyer'] }, 409, 'already exists'],
    [{ id: 'P1', name: 'P', roles: ['buyer', 'pirate'] }, 400, 'unknown role "pirate"'],
    [{ id: 'P1', name: 'P', roles: [] }, 400, 'at least one role'],
    [{ id: 'bad id!', name: 'P', roles: ['buyer'] }, 400, 'not valid'],
    [{ id: 'P1', name: 'P', roles: ['buyer'], format: 'edifact' }, 400, 'format must be one of'],
    [{ id: 'P1', name: 'P', roles: ['buyer'], deliveryMode: 'push' }, 400, 'needs an endpoint'],
    [
      {
        id: 'P1',
        name: 'P',
        roles: ['buyer'],
        deliveryMode: 'push',
        endpointUrl: 'http://127.0.0.1:9/x',
      },
      400,
      'endpoint refused',
    ],
    [{ id: 'P1', roles: ['buyer'] }, 400, 'name is required'],
    [{ id: 'P1', name: 'P', roles: 'buyer' }, 400, 'roles must be a list'],
  ])('refuses %j with %i', async (input, status, message) => {
    const response = await gateway.admin('POST', '/admin/v1/partners', input);
    expect(response.status).toBe(status);
    const body = (await response.json()) as { error: { message: string; code: string } };
    expect(body.error.message).toContain(message);
  });

  it('accepts a public https push endpoint', async () => {
    const response = await gateway.admin('POST', '/admin/v1/partners', {
      id: 'PUSHER',
      name: 'Pusher',
      roles: ['seller'],
      deliveryMode: 'push',
      endpointUrl: 'https://partner.example.com/inbound',
    });
    expect(response.status).toBe(201);
  });

  it('refuses a suspended partner, and accepts it again when enabled', async () => {
    const partner = await registerPartner(gateway, { id: 'SUSP', roles: ['buyer'] });
    expect((await me(partner.apiKey)).status).toBe(200);
    expect((await gateway.admin('POST', '/admin/v1/partners/SUSP/disable')).status).toBe(200);
    const refused = await me(partner.apiKey);
    expect(refused.status).toBe(401);
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe(
      'UNAUTHENTICATED',
    );
    expect((await gateway.admin('POST', '/admin/v1/partners/SUSP/enable')).status).toBe(200);
    expect((await me(partner.apiKey)).status).toBe(200);
  });

  it('rotates keys without downtime and revokes the old one', async () => {
    const partner = await registerPartner(gateway, { id: 'ROT', roles: ['seller'] });
    const rotated = (await (await gateway.admin('POST', '/admin/v1/partners/ROT/keys')).json()) as {
      apiKey: string;
    };
    expect((await me(partner.apiKey)).status).toBe(200);
    expect((await me(rotated.apiKey)).status).toBe(200);
    const oldKeyId = partner.apiKey.split('_')[1];
    expect((await gateway.admin('DELETE', `/admin/v1/partners/ROT/keys/${oldKeyId}`)).status).toBe(
      200,
    );
    expect((await me(partner.apiKey)).status).toBe(401);
    expect((await me(rotated.apiKey)).status).toBe(200);
    expect((await gateway.admin('DELETE', `/admin/v1/partners/ROT/keys/${oldKeyId}`)).status).toBe(
      404,
    );
  });

  it('updates delivery settings with the same checks as creation', async () => {
    await registerPartner(gateway, { id: 'UPD', roles: ['buyer'] });
    const bad = await gateway.admin('PATCH', '/admin/v1/partners/UPD', { deliveryMode: 'push' });
    expect(bad.status).toBe(400);
    const good = await gateway.admin('PATCH', '/admin/v1/partners/UPD', {
      deliveryMode: 'push',
      endpointUrl: 'https://buyer.example.org/hook',
      format: 'xml',
    });
    expect(good.status).toBe(200);
    expect(((await good.json()) as Record<string, any>).partner).toMatchObject({
      deliveryMode: 'push',
      format: 'xml',
    });
  });

  it('answers 404 for an unknown partner', async () => {
    expect((await gateway.admin('GET', '/admin/v1/partners/NOPE')).status).toBe(404);
    expect((await gateway.admin('POST', '/admin/v1/partners/NOPE/disable')).status).toBe(404);
  });
});

describe('admin API access', () => {
  it('refuses a wrong token, a partner key and no token', async () => {
    const partner = await registerPartner(gateway, { id: 'NOTADMIN', roles: ['buyer'] });
    for (const authorization of [
      'Bearer wrong-token-wrong-token-wrong',
      `Bearer ${partner.apiKey}`,
      '',
    ]) {
      const response = await gateway.app.request('/admin/v1/partners', {
        headers: { authorization },
      });
      expect(response.status).toBe(401);
    }
  });

  it('does not exist without ADMIN_TOKEN', async () => {
    const { createApp } = await import('../../gateway/http/app.ts');
    const { createLogger } = await import('../../gateway/logger.ts');
    const { buildServices } = await import('../../gateway/main.ts');
    const { testConfig } = await import('../support/gateway.ts');
    const config = { ...testConfig(), adminToken: undefined };
    const app = createApp(
      await buildServices(config, gateway.database, createLogger('silent'), undefined),
    );
    const response = await app.request('/admin/v1/partners', {
      headers: { authorization: 'Bearer anything-at-all-anything-at-all' },
    });
    expect(response.status).toBe(404);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe(
      'ADMIN_API_DISABLED',
    );
  });
});
