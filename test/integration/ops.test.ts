import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { TABLE_COLUMNS } from '../../gateway/db/tables.ts';
import { startTestGateway, type TestGateway } from '../support/gateway.ts';

let gateway: TestGateway;
beforeAll(async () => {
  gateway = await startTestGateway({ BODY_LIMIT_BYTES: '2048' });
});
afterAll(async () => {
  await gateway.close();
});

describe('operations endpoints', () => {
  it('is alive and ready', async () => {
    expect((await gateway.app.request('/healthz')).status).toBe(200);
    const ready = await gateway.app.request('/readyz');
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ status: 'ready' });
  });

  it('serves Prometheus metrics that count requests', async () => {
    await gateway.app.request('/healthz');
    const response = await gateway.app.request('/metrics');
    expect(response.headers.get('content-type')).toContain('text/plain');
    const text = await response.text();
    expect(text).toMatch(
      /nakadachi_http_requests_total\{method="GET",route="\/healthz",status="200"\} \d+/,
    );
    expect(text).toContain('nakadachi_process_resident_memory_bytes');
  });

  it('gives every response a request id, keeping a sane one from the caller', async () => {
    const fresh = await gateway.app.request('/healthz');
    expect(fresh.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    const kept = await gateway.app.request('/healthz', { headers: { 'x-request-id': 'abc-123' } });
    expect(kept.headers.get('x-request-id')).toBe('abc-123');
    const replaced = await gateway.app.request('/healthz', {
      headers: { 'x-request-id': 'a b<c>' },
    });
    expect(replaced.headers.get('x-request-id')).not.toBe('a b<c>');
  });

  it('sets secure headers', async () => {
    const response = await gateway.app.request('/healthz');
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    expect(response.headers.get('strict-transport-security')).toBeTruthy();
  });

  it('answers unknown routes with the JSON error envelope', async () => {
    const response = await gateway.app.request('/nowhere');
    expect(response.status).toBe(404);
    const body = (await response.json()) as { error: Record<string, string> };
    expect(body.error.code).toBe('NOT_FOUND');
    expect(body.error.requestId).toBe(response.headers.get('x-request-id'));
  });

  it('answers XML clients with an XML envelope', async () => {
    const response = await gateway.app.request('/v1/me', {
      headers: { 'content-type': 'application/xml' },
    });
    expect(response.status).toBe(401);
    expect(response.headers.get('content-type')).toContain('application/xml');
    const text = await response.text();
    expect(text).toContain('<Error xmlns="urn:nakadachi:1">');
    expect(text).toContain('<Code>UNAUTHENTICATED</Code>');
  });

  it('refuses an oversized body with 413 before reading it all', async () => {
    const response = await gateway.admin('POST', '/admin/v1/partners', {
      id: 'X',
      name: 'x'.repeat(5000),
      roles: ['buyer'],
    });
    expect(response.status).toBe(413);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe(
      'PAYLOAD_TOO_LARGE',
    );
  });

  it('refuses a declared length over the limit without waiting for the body', async () => {
    const stream = new ReadableStream<Uint8Array>({ start() {} }); // never sends a byte
    const response = await gateway.app.request('/admin/v1/partners', {
      method: 'POST',
      headers: { 'content-length': '999999', authorization: 'Bearer x' },
      body: stream,
      duplex: 'half', // Node's fetch needs it for a stream body
    });
    expect(response.status).toBe(413);
  });
});

describe('table types', () => {
  it('match the migrated database column for column', async () => {
    const rows = await sql<{ table_name: string; column_name: string }>`
      select table_name, column_name from information_schema.columns
      where table_schema = current_schema() and table_name not like 'kysely_%'
    `.execute(gateway.database.db);
    const actual: Record<string, string[]> = {};
    for (const r of rows.rows) (actual[r.table_name] ??= []).push(r.column_name);
    const expected = Object.fromEntries(
      Object.entries(TABLE_COLUMNS).map(([t, cols]) => [t, [...cols].sort()]),
    );
    for (const t of Object.keys(actual)) actual[t]?.sort();
    expect(actual).toEqual(expected);
  });
});
