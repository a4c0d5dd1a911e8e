/**
 * The admin API over the message log: search by every filter with cursor paging, one message
 * with its exact bytes, receipt and delivery history, and a deal's timeline — every document of
 * its reservation, bids, award, confirmations and tenders, and nothing of another deal.
 */
import { createHash } from 'node:crypto';
import { compactVerify, createLocalJWKSet } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exampleDocument, postDocument } from '../support/documents.ts';
import { makeDeal, registerDealParties, type Deal, type DealParties } from '../support/deal.ts';
import { startTestGateway, type TestGateway } from '../support/gateway.ts';

let gateway: TestGateway;
let parties: DealParties;
let deal: Deal;
let other: Deal;
let rejectedMessageId: string;

async function get(path: string): Promise<any> {
  const response = await gateway.admin('GET', path);
  expect(response.status, `${path}: ${await response.clone().text()}`).toBe(200);
  return response.json();
}

async function search(query: Record<string, string>): Promise<any[]> {
  return (await get(`/admin/v1/messages?${new URLSearchParams(query).toString()}`)).messages;
}

beforeAll(async () => {
  gateway = await startTestGateway();
  parties = await registerDealParties(gateway);
  deal = await makeDeal(gateway, parties);
  other = await makeDeal(gateway, parties);
  const refused = exampleDocument('OrderBid', 'BUYER-1', { reservationId: deal.reservationId });
  rejectedMessageId = refused.header.messageId!;
  expect((await postDocument(gateway.app, parties['BUYER-1'].apiKey, refused)).status).toBe(403);
}, 60_000);
afterAll(async () => {
  await gateway.close();
});

describe('message search', () => {
  it('filters by partner, type, direction, status, event, messageId and gateway id', async () => {
    const bids = await search({ type: 'OrderBid', direction: 'inbound', status: 'accepted' });
    expect(bids).toHaveLength(4);
    expect(bids.every((m) => m.documentType === 'OrderBid' && m.status === 'accepted')).toBe(true);

    const fromSeller2 = await search({ partner: 'SELLER-2', direction: 'inbound' });
    expect(new Set(fromSeller2.map((m) => m.documentType))).toEqual(
      new Set(['ItemNotice', 'OrderBid']),
    );
    expect(await search({ status: 'rejected' })).toMatchObject([
      { messageId: rejectedMessageId, partnerId: 'BUYER-1', direction: 'inbound' },
    ]);
    expect(await search({ messageId: deal.sent[0]! })).toMatchObject([
      { documentType: 'ItemNotice', partnerId: 'SELLER-1' },
    ]);
    const ofDeal = await search({ ref: deal.dealId, event: 'document' });
    expect(ofDeal.length).toBeGreaterThan(4);
    expect(ofDeal.every((m) => Object.values(m.refs).includes(deal.dealId))).toBe(true);
    expect(ofDeal.map((m) => m.event)).not.toContain('delivery-attempt');
    const outbound = await search({ direction: 'outbound', partner: 'SETTLE-1' });
    expect(outbound.map((m) => m.documentType)).toEqual(['SettlementRequest', 'SettlementRequest']);
  });

  it('filters by time and pages newest first without gaps or repeats', async () => {
    const all = await search({ limit: '500' });
    const ids = all.map((m) => BigInt(m.id));
    expect([...ids].sort((a, b) => (a > b ? -1 : 1))).toEqual(ids);

    const paged: string[] = [];
    let before: string | undefined;
    for (;;) {
      const page = await get(
        `/admin/v1/messages?limit=7${before === undefined ? '' : `&before=${before}`}`,
      );
      paged.push(...page.messages.map((m: any) => m.id));
      if (page.nextCursor === null) break;
      before = page.nextCursor;
    }
    expect(paged).toEqual(all.map((m) => m.id));

    const future = new Date(Date.now() + 60_000).toISOString();
    expect(await search({ from: future })).toEqual([]);
    expect(await search({ to: future, limit: '500' })).toHaveLength(all.length);
  });

  it('refuses malformed parameters with 400', async () => {
    for (const query of [
      'direction=sideways',
      'from=yesterday',
      'limit=0',
      'limit=501',
      'before=abc',
      'event=exploded',
    ]) {
      const response = await gateway.admin('GET', `/admin/v1/messages?${query}`);
      expect(response.status, query).toBe(400);
    }
  });
});

describe('one message', () => {
  it('an accepted inbound document: its exact bytes, signed receipt and history', async () => {
    const [entry] = await search({ messageId: deal.sent[2]! });
    const found = await get(`/admin/v1/messages/${entry.id}`);
    expect(found.message).toMatchObject({
      documentType: 'PurchaseReservation',
      status: 'accepted',
    });
    expect(found.body.encoding).toBe('utf-8');
    const bytes = Buffer.from(found.body.text, 'utf8');
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(found.message.digest);
    expect(found.receipt.body).toMatchObject({ status: 'accepted', digest: found.message.digest });
    const jwks = createLocalJWKSet(
      (await (await gateway.app.request('/.well-known/jwks.json')).json()) as never,
    );
    await expect(compactVerify(found.receipt.body.signature, jwks)).resolves.toBeDefined();
    expect(found.history.map((h: any) => h.id)).toEqual([entry.id]);
    expect(found.delivery).toBeNull();

    const raw = await gateway.admin('GET', `/admin/v1/messages/${entry.id}/raw`);
    expect(Buffer.from(await raw.arrayBuffer())).toEqual(bytes);
    expect(raw.headers.get('content-disposition')).toMatch(/^attachment; filename=".+\.json"$/);
    expect(raw.headers.get('content-security-policy')).toContain('sandbox');
  });

  it('a rejected document carries the receipt that refused it', async () => {
    const [entry] = await search({ messageId: rejectedMessageId });
    const found = await get(`/admin/v1/messages/${entry.id}`);
    expect(found.receipt.body).toMatchObject({ status: 'rejected' });
    expect(found.message.detail.code).toBe('ROLE_NOT_ALLOWED');
  });

  it('an outbound document: where its delivery stands', async () => {
    const [award] = await search({ type: 'Award', ref: deal.dealId });
    const found = await get(`/admin/v1/messages/${award.id}`);
    expect(found.delivery).toMatchObject({ status: 'pending', attempts: 0 });
    expect(found.history.map((h: any) => h.event)).toEqual(['queued']);
    expect(found.receipt).toBeNull();
  });

  it('404 for an unknown entry, 400 for a malformed id', async () => {
    expect((await gateway.admin('GET', '/admin/v1/messages/999999999')).status).toBe(404);
    expect((await gateway.admin('GET', '/admin/v1/messages/x1')).status).toBe(400);
  });
});

describe('deal timeline', () => {
  it('holds every document of the deal in log order, whichever of its ids is asked', async () => {
    const timeline = await get(`/admin/v1/timeline/${deal.dealId}`);
    const types = timeline.documents.map((d: any) => d.documentType);
    expect([...types].sort()).toEqual(
      [
        'PurchaseReservation',
        'OrderBid',
        'OrderBid',
        'Award',
        'IntermediaryTerms',
        'BidResult',
        'PurchaseConfirmation',
        'OrderConfirmation',
        'SettlementRequest',
        'TransportRequest',
      ].sort(),
    );
    // Log order: what a handler queues precedes the entry of the document that caused it.
    expect(types[0]).toBe('PurchaseReservation');
    expect(types.indexOf('Award')).toBeGreaterThan(types.lastIndexOf('OrderBid'));
    expect(types.indexOf('PurchaseConfirmation')).toBeGreaterThan(types.indexOf('Award'));
    const ids = timeline.documents.map((d: any) => BigInt(d.id));
    expect([...ids].sort((a, b) => (a < b ? -1 : 1))).toEqual(ids);
    expect(timeline.linked.reservationId).toEqual([deal.reservationId]);
    expect(timeline.linked.tenderId).toHaveLength(2);
    const award = timeline.documents.find((d: any) => d.documentType === 'Award');
    expect(award.lastEvent).toMatchObject({ event: 'queued', status: 'queued' });

    for (const anchor of [
      deal.reservationId,
      timeline.linked.bidId[0],
      timeline.linked.tenderId[0],
    ]) {
      const same = await get(`/admin/v1/timeline/${anchor}`);
      expect(same.documents.map((d: any) => d.id)).toEqual(
        timeline.documents.map((d: any) => d.id),
      );
    }
    const theOther = await get(`/admin/v1/timeline/${other.dealId}`);
    const mine = new Set(timeline.documents.map((d: any) => d.id));
    expect(theOther.documents.some((d: any) => mine.has(d.id))).toBe(false);
  });

  it('404 when nothing in the log concerns the id', async () => {
    expect((await gateway.admin('GET', '/admin/v1/timeline/DEAL-NOPE')).status).toBe(404);
  });
});
