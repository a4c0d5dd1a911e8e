/**
 * Mailbox pull: a partner reads its documents in order with a cursor and acknowledges them;
 * unacknowledged documents stay; no partner ever reaches another's documents. The deliverer runs
 * throughout and must leave mailbox documents alone.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  logOf,
  outboxStatus,
  startDeliveryHarness,
  type DeliveryHarness,
} from '../support/delivery.ts';
import { registerPartner, type RegisteredPartner } from '../support/gateway.ts';

let harness: DeliveryHarness;
let alpha: RegisteredPartner;
let beta: RegisteredPartner;
let xmlPartner: RegisteredPartner;

interface Page {
  documents: {
    cursor: string;
    messageId: string;
    type: string;
    contentType: string;
    document: any;
  }[];
  nextCursor: string;
}

async function get(partner: RegisteredPartner, query = ''): Promise<Response> {
  return harness.app.request(`/v1/mailbox${query}`, {
    headers: { authorization: `Bearer ${partner.apiKey}` },
  });
}

async function page(partner: RegisteredPartner, query = ''): Promise<Page> {
  const response = await get(partner, query);
  expect(response.status).toBe(200);
  return (await response.json()) as Page;
}

async function ack(partner: RegisteredPartner, body: unknown): Promise<Response> {
  return harness.app.request('/v1/mailbox/ack', {
    method: 'POST',
    headers: { authorization: `Bearer ${partner.apiKey}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
}

beforeAll(async () => {
  harness = await startDeliveryHarness();
  alpha = await registerPartner(harness, { id: 'ALPHA', roles: ['buyer'] });
  beta = await registerPartner(harness, { id: 'BETA', roles: ['seller'] });
  xmlPartner = await registerPartner(harness, { id: 'GAMMA', roles: ['buyer'], format: 'xml' });
});
afterAll(async () => {
  await harness.close();
});

describe('GET /v1/mailbox', () => {
  it('returns the partner’s documents in order, page by page, and only its own', async () => {
    const ids = await harness.enqueue('ALPHA', 5);
    const betaIds = await harness.enqueue('BETA', 2);

    const first = await page(alpha, '?limit=2');
    expect(first.documents.map((d) => d.messageId)).toEqual(ids.slice(0, 2));
    expect(first.documents[0]).toMatchObject({
      type: 'NoAward',
      contentType: 'application/json; charset=utf-8',
    });
    expect(first.documents[0]!.document.header).toMatchObject({
      messageId: ids[0],
      recipient: 'ALPHA',
    });
    const second = await page(alpha, `?after=${first.nextCursor}&limit=2`);
    expect(second.documents.map((d) => d.messageId)).toEqual(ids.slice(2, 4));
    const third = await page(alpha, `?after=${second.nextCursor}`);
    expect(third.documents.map((d) => d.messageId)).toEqual(ids.slice(4));
    const empty = await page(alpha, `?after=${third.nextCursor}`);
    expect(empty).toEqual({ documents: [], nextCursor: third.nextCursor });

    const cursors = [...first.documents, ...second.documents, ...third.documents].map((d) =>
      BigInt(d.cursor),
    );
    expect([...cursors].sort((a, b) => (a < b ? -1 : 1))).toEqual(cursors);
    expect((await page(beta)).documents.map((d) => d.messageId)).toEqual(betaIds);
    // The worker ran all along and left them for the pull.
    for (const id of [...ids, ...betaIds]) {
      expect(await outboxStatus(harness.database.db, id)).toBe('pending');
    }
    await ack(alpha, { messageIds: ids });
    await ack(beta, { messageIds: betaIds });
  });

  it('gives an XML partner the XML text', async () => {
    const [id] = await harness.enqueue('GAMMA');
    const { documents } = await page(xmlPartner);
    expect(documents).toHaveLength(1);
    expect(documents[0]!.contentType).toBe('application/xml; charset=utf-8');
    expect(documents[0]!.document).toContain(`<MessageId>${id}</MessageId>`);
    await ack(xmlPartner, { upTo: documents[0]!.cursor });
  });

  it('refuses bad parameters, other delivery modes, and callers without a key', async () => {
    expect((await get(alpha, '?limit=0')).status).toBe(400);
    expect((await get(alpha, '?limit=5000')).status).toBe(400);
    expect((await get(alpha, '?after=-1')).status).toBe(400);
    expect((await harness.app.request('/v1/mailbox')).status).toBe(401);
    const pusher = await registerPartner(harness, {
      id: 'FILE-ONLY',
      roles: ['buyer'],
      deliveryMode: 'file',
    });
    const refused = await get(pusher);
    expect(refused.status).toBe(403);
  });
});

describe('POST /v1/mailbox/ack', () => {
  it('acknowledges by id; the rest stay; another partner’s ids are simply not found', async () => {
    const ids = await harness.enqueue('ALPHA', 3);
    const [betaId] = await harness.enqueue('BETA');
    const response = await ack(alpha, { messageIds: [ids[0], betaId, 'NAKADACHI-NOPE'] });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({
      acknowledged: [ids[0]],
      notFound: [betaId, 'NAKADACHI-NOPE'],
    });
    // Beta's document is untouched and still Beta's.
    expect(await outboxStatus(harness.database.db, betaId!)).toBe('pending');
    expect((await page(beta)).documents.map((d) => d.messageId)).toEqual([betaId]);
    // Acknowledging again is harmless; unacknowledged documents are read again.
    expect(await (await ack(alpha, { messageIds: [ids[0]] })).json()).toEqual({
      acknowledged: [ids[0]],
      notFound: [],
    });
    expect((await page(alpha)).documents.map((d) => d.messageId)).toEqual(ids.slice(1));

    const log = await logOf(harness.database.db, ids[0]!);
    expect(log.map((e) => e.event)).toEqual(['queued', 'acknowledged']);
    expect(await outboxStatus(harness.database.db, ids[0]!)).toBe('delivered');
  });

  it('acknowledges everything up to a cursor', async () => {
    const pending = await page(alpha);
    const upTo = pending.documents[0]!.cursor;
    const response = await ack(alpha, { upTo });
    expect(await response.json()).toEqual({
      acknowledged: [pending.documents[0]!.messageId],
      notFound: [],
    });
    expect((await page(alpha)).documents.map((d) => d.messageId)).toEqual(
      pending.documents.slice(1).map((d) => d.messageId),
    );
  });

  it('refuses a body that is neither ids nor a cursor', async () => {
    for (const body of [
      {},
      { messageIds: [] },
      { messageIds: 'x' },
      { upTo: 'abc' },
      { messageIds: ['a'], upTo: '1' },
    ]) {
      expect((await ack(alpha, body)).status, JSON.stringify(body)).toBe(400);
    }
  });
});
