/**
 * The operator console through app.request(): the login and its cookie, refusals without it,
 * every page with real data (escaped), the CSRF-protected replay, the auditor's read-only
 * session, logout.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exampleText, post } from '../support/documents.ts';
import { makeDeal, registerDealParties, type Deal, type DealParties } from '../support/deal.ts';
import { enqueueNoAwards, testOutboxDeps } from '../support/delivery.ts';
import { ADMIN_TOKEN, startTestGateway, type TestGateway } from '../support/gateway.ts';

const AUDITOR_TOKEN = 'test-auditor-token-0123456789abcdef';

let gateway: TestGateway;
let parties: DealParties;
let deal: Deal;
let deadLetters: string[];

function form(fields: Record<string, string>): string {
  return new URLSearchParams(fields).toString();
}

async function page(path: string, cookie?: string, init: RequestInit = {}) {
  return gateway.app.request(path, {
    ...init,
    headers: { ...(cookie === undefined ? {} : { cookie }), ...(init.headers ?? {}) },
  });
}

async function submit(
  path: string,
  fields: Record<string, string>,
  cookie?: string,
  headers: Record<string, string> = {},
) {
  return page(path, cookie, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: form(fields),
  });
}

async function login(token: string): Promise<string> {
  const response = await submit('/console/login', { token, next: '/console' });
  expect(response.status).toBe(303);
  const cookie = response.headers.get('set-cookie')!;
  return cookie.split(';')[0]!;
}

/** The CSRF token of the forms on a page. */
async function csrfOf(cookie: string): Promise<string> {
  const html = await (await page('/console/dead-letters', cookie)).text();
  return /name="_csrf" value="([^"]+)"/.exec(html)![1]!;
}

async function deadStatus(messageId: string): Promise<string> {
  const row = await gateway.database.db
    .selectFrom('outbox')
    .select('status')
    .where('message_id', '=', messageId)
    .executeTakeFirstOrThrow();
  return row.status;
}

beforeAll(async () => {
  gateway = await startTestGateway({ AUDITOR_TOKEN });
  parties = await registerDealParties(gateway);
  deal = await makeDeal(gateway, parties);
  // An XML document whose text must come out escaped.
  const xml = exampleText('ItemNotice', 'xml')
    .replace(/SELLER-A/g, 'SELLER-1')
    .replace(/<SellerItemId>[^<]*</, '<SellerItemId>CONSOLE-XML<')
    .replace(/<MessageId>[^<]*</, '<MessageId>SELLER-1-XML-1<')
    .replace(/<Gtin>[^<]*<\/Gtin>/, '');
  expect((await post(gateway.app, parties['SELLER-1'].apiKey, xml, 'application/xml')).status).toBe(
    200,
  );
  deadLetters = await enqueueNoAwards(gateway.database.db, testOutboxDeps(), 'BUYER-1', 2);
  await gateway.database.db
    .updateTable('outbox')
    .set({ status: 'dead', dead_at: new Date(), attempts: 12, last_error: 'HTTP 503' })
    .where('message_id', 'in', deadLetters)
    .execute();
}, 60_000);
afterAll(async () => {
  await gateway.close();
});

describe('without a session', () => {
  it('sends every page to the login, keeping where it was going', async () => {
    for (const path of ['/console', '/console/messages?partner=SELLER-1', '/console/audit']) {
      const response = await page(path);
      expect(response.status, path).toBe(303);
      expect(response.headers.get('location')).toBe(
        `/console/login?next=${encodeURIComponent(path)}`,
      );
    }
  });

  it('changes nothing', async () => {
    const response = await submit(`/console/dead-letters/${deadLetters[0]}/replay`, {});
    expect(response.status).toBe(303);
    expect(response.headers.get('location')).toMatch(/^\/console\/login/);
    expect(await deadStatus(deadLetters[0]!)).toBe('dead');
  });

  it('refuses a forged or expired cookie', async () => {
    const cookie = await login(ADMIN_TOKEN);
    const [name, value] = cookie.split('=') as [string, string];
    const forged = `${name}=${decodeURIComponent(value).replace(/^admin\.\d+/, 'admin.9999999999999')}`;
    expect((await page('/console', forged)).status).toBe(303);
  });
});

describe('login', () => {
  it('shows a plain form, with no script and a strict CSP', async () => {
    const response = await page('/console/login');
    const html = await response.text();
    expect(response.status).toBe(200);
    expect(html).toMatch(/^<!doctype html><html lang="en">/);
    expect(html).toContain('<label for="token">');
    expect(html).not.toContain('<script');
    expect(response.headers.get('content-security-policy')).toContain("default-src 'none'");
    expect(response.headers.get('cache-control')).toBe('no-store');
  });

  it('refuses a wrong token with 401 and no cookie', async () => {
    const response = await submit('/console/login', { token: 'wrong-token-0123456789abcdef' });
    expect(response.status).toBe(401);
    expect(response.headers.get('set-cookie')).toBeNull();
    expect(await response.text()).toContain('That token is not valid.');
  });

  it('sets an HttpOnly, SameSite=Strict cookie for /console, Secure behind https', async () => {
    const plain = await submit('/console/login', { token: ADMIN_TOKEN, next: '/console/audit' });
    expect(plain.headers.get('location')).toBe('/console/audit');
    const cookie = plain.headers.get('set-cookie')!;
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/SameSite=Strict/);
    expect(cookie).toMatch(/Path=\/console/);
    expect(cookie).not.toMatch(/Secure/);
    const https = await submit('/console/login', { token: ADMIN_TOKEN }, undefined, {
      'x-forwarded-proto': 'https',
    });
    expect(https.headers.get('set-cookie')).toMatch(/Secure/);
  });

  it('goes nowhere outside the console after login, and refuses a cross-site login', async () => {
    for (const next of ['https://evil.example/', '//evil.example', '/consolex', '/admin/v1']) {
      const response = await submit('/console/login', { token: ADMIN_TOKEN, next });
      expect(response.headers.get('location'), next).toBe('/console');
    }
    const crossSite = await submit('/console/login', { token: ADMIN_TOKEN }, undefined, {
      origin: 'https://evil.example',
      host: 'localhost',
    });
    expect(crossSite.status).toBe(403);
    expect(crossSite.headers.get('set-cookie')).toBeNull();
    const fetchMetadata = await submit('/console/login', { token: ADMIN_TOKEN }, undefined, {
      'sec-fetch-site': 'cross-site',
    });
    expect(fetchMetadata.status).toBe(403);
  });
});

describe('the pages', () => {
  let cookie: string;
  beforeAll(async () => {
    cookie = await login(ADMIN_TOKEN);
  });

  it('overview: traffic per type, rejects, outbox, dead letters, jobs, audit', async () => {
    const html = await (await page('/console', cookie)).text();
    for (const text of [
      'Traffic by document type',
      'PurchaseReservation',
      'Outbox',
      'Dead letters',
      'Jobs: last run of each',
      'Audit log',
      'not sealed yet',
    ]) {
      expect(html).toContain(text);
    }
    expect(html).toContain('aria-current="page"');
  });

  it('partners', async () => {
    const html = await (await page('/console/partners', cookie)).text();
    for (const [id] of Object.entries(parties)) expect(html).toContain(id);
  });

  it('message search, paging link, and a message with its raw bytes escaped', async () => {
    const html = await (await page('/console/messages?type=ItemNotice', cookie)).text();
    expect(html).toContain('SELLER-1-XML-1');
    const id = /href="\/console\/messages\/(\d+)">SELLER-1-XML-1</.exec(html)![1]!;
    const detail = await (await page(`/console/messages/${id}`, cookie)).text();
    expect(detail).toContain('&lt;SellerItemId&gt;CONSOLE-XML&lt;/SellerItemId&gt;');
    expect(detail).not.toContain('<SellerItemId>');
    expect(detail).toContain('Receipt');
    const raw = await page(`/console/messages/${id}/raw`, cookie);
    expect(raw.headers.get('content-disposition')).toMatch(/attachment/);
    expect(await raw.text()).toContain('<SellerItemId>CONSOLE-XML</SellerItemId>');

    const bad = await page('/console/messages?from=soon', cookie);
    expect(bad.status).toBe(400);
    expect(await bad.text()).toContain('from must be a time');
  });

  it("a deal's timeline", async () => {
    const html = await (await page(`/console/timeline?id=${deal.dealId}`, cookie)).text();
    for (const type of ['PurchaseReservation', 'OrderBid', 'Award', 'OrderConfirmation']) {
      expect(html).toContain(type);
    }
    expect(html).toContain('BUYER-1 → gateway');
    const missing = await page('/console/timeline?id=DEAL-NOPE', cookie);
    expect(missing.status).toBe(404);
  });

  it('audit: status, and verification on request', async () => {
    const html = await (await page('/console/audit?verify=1', cookie)).text();
    expect(html).toContain('<strong>OK.</strong>');
  });

  it('replays a dead letter only with the form’s CSRF token', async () => {
    const list = await (await page('/console/dead-letters', cookie)).text();
    expect(list).toContain(deadLetters[0]);
    const path = `/console/dead-letters/${deadLetters[0]}/replay`;
    expect((await submit(path, {}, cookie)).status).toBe(403);
    expect((await submit(path, { _csrf: 'forged' }, cookie)).status).toBe(403);
    const otherSession = await login(ADMIN_TOKEN);
    expect((await submit(path, { _csrf: await csrfOf(otherSession) }, cookie)).status).toBe(403);
    expect(await deadStatus(deadLetters[0]!)).toBe('dead');

    const done = await submit(path, { _csrf: await csrfOf(cookie) }, cookie);
    expect(done.status).toBe(303);
    expect(await deadStatus(deadLetters[0]!)).toBe('pending');
    const after = await (await page(done.headers.get('location')!, cookie)).text();
    expect(after).toContain(`Replayed <span class="mono">${deadLetters[0]}</span>`);
  });

  it('logs out', async () => {
    const session = await login(ADMIN_TOKEN);
    const out = await submit('/console/logout', { _csrf: await csrfOf(session) }, session);
    expect(out.status).toBe(303);
    expect(out.headers.get('set-cookie')).toMatch(/Max-Age=0/);
  });
});

describe('an auditor session', () => {
  it('sees the pages but no replay, and cannot replay', async () => {
    const cookie = await login(AUDITOR_TOKEN);
    const html = await (await page('/console/dead-letters', cookie)).text();
    expect(html).toContain('Auditor (read-only)');
    expect(html).toContain(deadLetters[1]);
    expect(html).not.toContain('>Replay<');
    const refused = await submit(
      `/console/dead-letters/${deadLetters[1]}/replay`,
      { _csrf: await csrfOf(cookie) },
      cookie,
    );
    expect(refused.status).toBe(403);
    expect(await deadStatus(deadLetters[1]!)).toBe('dead');
  });
});
