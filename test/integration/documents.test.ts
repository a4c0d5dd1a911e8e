/**
 * POST /v1/documents end to end through the app: receipts, signatures, idempotency, refusals,
 * and what each refusal leaves behind (a log entry and nothing else).
 */
import { createHash } from 'node:crypto';
import { compactVerify, createLocalJWKSet } from 'jose';
import { sql } from 'kysely';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  exampleDocument,
  exampleText,
  post,
  postDocument,
  receiptOf,
  type TestDocument,
} from '../support/documents.ts';
import {
  registerPartner,
  startTestGateway,
  type RegisteredPartner,
  type TestGateway,
} from '../support/gateway.ts';

let gateway: TestGateway;
let sellerA: RegisteredPartner;
let sellerB: RegisteredPartner;
let buyer: RegisteredPartner;

beforeAll(async () => {
  gateway = await startTestGateway();
  sellerA = await registerPartner(gateway, { id: 'SELLER-A', roles: ['seller'], format: 'xml' });
  sellerB = await registerPartner(gateway, { id: 'SELLER-B', roles: ['seller'] });
  buyer = await registerPartner(gateway, { id: 'BUYER-A', roles: ['buyer'] });
});
afterAll(async () => {
  await gateway.close();
});

function itemNotice(sender: string, body: Record<string, unknown> = {}): TestDocument {
  return exampleDocument('ItemNotice', sender, {
    sellerItemId: `SKU-${Math.random().toString(36).slice(2, 10)}`,
    gtin: undefined,
    ...body,
  });
}

async function counts() {
  const db = gateway.database.db;
  const one = async (table: 'items' | 'offers' | 'inbound_messages' | 'message_log') =>
    Number(
      (
        await db
          .selectFrom(table)
          .select(sql<string>`count(*)`.as('n'))
          .executeTakeFirstOrThrow()
      ).n,
    );
  return {
    items: await one('items'),
    offers: await one('offers'),
    inbound: await one('inbound_messages'),
    log: await one('message_log'),
  };
}

async function verifyReceipt(receipt: Record<string, any>): Promise<void> {
  const jwks = (await (await gateway.app.request('/.well-known/jwks.json')).json()) as {
    keys: never[];
  };
  const { payload, protectedHeader } = await compactVerify(
    receipt.signature as string,
    createLocalJWKSet({ keys: jwks.keys }),
  );
  expect(protectedHeader).toMatchObject({ alg: 'EdDSA', kid: receipt.keyId });
  const { signature: _signature, ...unsigned } = receipt;
  expect(JSON.parse(new TextDecoder().decode(payload))).toEqual(unsigned);
}

describe('accepted documents', () => {
  it('accepts a JSON ItemNotice and answers with a signed receipt over the exact bytes', async () => {
    const before = await counts();
    const bytes = JSON.stringify(itemNotice('SELLER-B'));
    const response = await post(gateway.app, sellerB.apiKey, bytes);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('application/json');
    const doc = (await response.json()) as {
      header: Record<string, string>;
      body: Record<string, any>;
    };
    expect(doc.header).toMatchObject({
      type: 'Receipt',
      sender: 'NAKADACHI',
      recipient: 'SELLER-B',
    });
    const receipt = doc.body;
    expect(receipt.status).toBe('accepted');
    expect(receipt.digest).toBe(createHash('sha256').update(bytes).digest('hex'));
    expect(receipt.assigned[0]).toMatchObject({ name: 'itemId' });
    expect(receipt.assigned[0].value).toMatch(/^ITM-/);
    await verifyReceipt(receipt);
    const after = await counts();
    expect(after).toEqual({
      items: before.items + 1,
      offers: before.offers + 1,
      inbound: before.inbound + 1,
      log: before.log + 1,
    });
  });

  it('accepts the XML example as is and answers in XML', async () => {
    const xml = exampleText('ItemNotice', 'xml')
      .replace('SELLER-A-M-000417', 'SELLER-A-XML-1')
      .replace('KA-HX9-BLK', 'KA-XML-1')
      .replace('<Gtin>4901234567894</Gtin>', '');
    const response = await post(gateway.app, sellerA.apiKey, xml, 'application/xml');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('application/xml');
    const text = await response.text();
    expect(text).toContain('<Receipt xmlns="urn:nakadachi:1">');
    expect(text).toContain('<Status>accepted</Status>');
    expect(text).toContain(`<Digest>${createHash('sha256').update(xml).digest('hex')}</Digest>`);
  });

  it('replays the original receipt for the same bytes, with no second effect', async () => {
    const bytes = JSON.stringify(itemNotice('SELLER-B'));
    const first = await post(gateway.app, sellerB.apiKey, bytes);
    const firstReceipt = await receiptOf(first);
    const before = await counts();
    const again = await post(gateway.app, sellerB.apiKey, bytes);
    expect(again.status).toBe(200);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(await receiptOf(again)).toEqual(firstReceipt);
    expect(await counts()).toEqual(before);
  });

  it('refuses other bytes under an accepted messageId with 409', async () => {
    const doc = itemNotice('SELLER-B');
    expect((await postDocument(gateway.app, sellerB.apiKey, doc)).status).toBe(200);
    const changed = { ...doc, body: { ...doc.body, quantityAvailable: 1 } };
    const response = await postDocument(gateway.app, sellerB.apiKey, changed);
    expect(response.status).toBe(409);
    const receipt = await receiptOf(response);
    expect(receipt.status).toBe('rejected');
    expect(receipt.errors[0]).toMatchObject({
      path: '/header/messageId',
      code: 'MESSAGE_ID_REUSED',
    });
  });

  it('processes exactly one of many concurrent duplicates', async () => {
    const bytes = JSON.stringify(itemNotice('SELLER-B'));
    const before = await counts();
    const responses = await Promise.all(
      Array.from({ length: 12 }, () => post(gateway.app, sellerB.apiKey, bytes)),
    );
    expect(responses.map((r) => r.status)).toEqual(Array(12).fill(200));
    const replayed = responses.filter((r) => r.headers.get('idempotent-replayed') === 'true');
    expect(replayed).toHaveLength(11);
    const receipts = await Promise.all(responses.map(receiptOf));
    expect(new Set(receipts.map((r) => r.receiptId)).size).toBe(1);
    const after = await counts();
    expect(after.offers - before.offers).toBe(1);
    expect(after.inbound - before.inbound).toBe(1);
    expect(after.log - before.log).toBe(1);
  });

  it('serves a receipt to its sender only', async () => {
    const doc = itemNotice('SELLER-B');
    const receipt = await receiptOf(await postDocument(gateway.app, sellerB.apiKey, doc));
    const path = `/v1/documents/${doc.header.messageId}/receipt`;
    const own = await gateway.app.request(path, {
      headers: { authorization: `Bearer ${sellerB.apiKey}` },
    });
    expect(own.status).toBe(200);
    expect(await receiptOf(own)).toEqual(receipt);
    const other = await gateway.app.request(path, {
      headers: { authorization: `Bearer ${sellerA.apiKey}` },
    });
    expect(other.status).toBe(404);
    const xml = await gateway.app.request(path, {
      headers: { authorization: `Bearer ${sellerB.apiKey}`, accept: 'application/xml' },
    });
    expect(await xml.text()).toContain('<Receipt xmlns="urn:nakadachi:1">');
  });
});

describe('refused documents leave a log entry and nothing else', () => {
  const xmlNotice = () =>
    exampleText('ItemNotice', 'xml').replace(
      'SELLER-A-M-000417',
      `SELLER-A-${Math.random().toString(36).slice(2)}`,
    );
  const jsonNotice = (body: Record<string, unknown> = {}) =>
    JSON.stringify(itemNotice('SELLER-A', body));
  const jsonWith = (mutate: (doc: any) => void) => {
    const doc = itemNotice('SELLER-A') as any;
    mutate(doc);
    return JSON.stringify(doc);
  };

  const cases: [string, () => string, string, number, string, string | undefined][] = [
    [
      'malformed XML',
      () => '<ItemNotice xmlns="urn:nakadachi:1"><Header>',
      'application/xml',
      400,
      'MALFORMED_DOCUMENT',
      undefined,
    ],
    [
      'mismatched tags',
      () => xmlNotice().replace('</Name>', '</Nom>'),
      'application/xml',
      400,
      'MALFORMED_DOCUMENT',
      undefined,
    ],
    [
      'text after the root',
      () => `${xmlNotice()}trailing`,
      'application/xml',
      400,
      'MALFORMED_DOCUMENT',
      undefined,
    ],
    [
      'a DOCTYPE',
      () => xmlNotice().replace('<ItemNotice', '<!DOCTYPE ItemNotice>\n<ItemNotice'),
      'application/xml',
      400,
      'MALFORMED_DOCUMENT',
      undefined,
    ],
    [
      'entity expansion (billion laughs)',
      () =>
        `<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]><ItemNotice xmlns="urn:nakadachi:1">&lol2;</ItemNotice>`,
      'application/xml',
      400,
      'MALFORMED_DOCUMENT',
      undefined,
    ],
    [
      'an external entity',
      () =>
        `<?xml version="1.0"?><!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><ItemNotice xmlns="urn:nakadachi:1"><Header>&xxe;</Header></ItemNotice>`,
      'application/xml',
      400,
      'MALFORMED_DOCUMENT',
      undefined,
    ],
    [
      'a __proto__ key',
      () => jsonNotice().replace('"body":{', '"body":{"__proto__":{"admin":true},'),
      'application/json',
      400,
      'MALFORMED_DOCUMENT',
      undefined,
    ],
    [
      'a depth bomb',
      () => `${'{"a":'.repeat(5000)}1${'}'.repeat(5000)}`,
      'application/json',
      400,
      'MALFORMED_DOCUMENT',
      undefined,
    ],
    [
      'a wrong content type',
      () => jsonNotice(),
      'text/plain',
      415,
      'UNSUPPORTED_MEDIA_TYPE',
      undefined,
    ],
    [
      'a wrong type',
      () => jsonNotice({ quantityAvailable: 'many' }),
      'application/json',
      422,
      'SCHEMA_VIOLATION',
      '/body/quantityAvailable',
    ],
    [
      'an extra field',
      () => jsonNotice({ discount: '5%' }),
      'application/json',
      422,
      'SCHEMA_VIOLATION',
      '/body/discount',
    ],
    [
      'a missing field',
      () => jsonWith((d) => delete d.body.name),
      'application/json',
      422,
      'SCHEMA_VIOLATION',
      '/body/name',
    ],
    [
      'an amount as a number',
      () => jsonNotice({ listPrice: { amount: 32800, currency: 'JPY' } }),
      'application/json',
      422,
      'SCHEMA_VIOLATION',
      '/body/listPrice/amount',
    ],
    [
      'too many decimals for the currency',
      () => jsonNotice({ listPrice: { amount: '32800.5', currency: 'JPY' } }),
      'application/json',
      422,
      'AMOUNT_PRECISION',
      '/body/listPrice/amount',
    ],
    [
      'an unknown currency',
      () => jsonNotice({ listPrice: { amount: '10.00', currency: 'XXX' } }),
      'application/json',
      422,
      'UNKNOWN_CURRENCY',
      '/body/listPrice/currency',
    ],
    [
      'a sender other than the key',
      () => jsonWith((d) => (d.header.sender = 'SELLER-B')),
      'application/json',
      403,
      'SENDER_MISMATCH',
      '/header/sender',
    ],
    [
      'a document the gateway sends, not receives',
      () => JSON.stringify(exampleDocument('Award', 'SELLER-A')),
      'application/json',
      403,
      'ROLE_NOT_ALLOWED',
      '/header/type',
    ],
    [
      'a release date in the past',
      () => jsonNotice({ releaseDate: '2001-01-01' }),
      'application/json',
      422,
      'BUSINESS_RULE',
      '/body/releaseDate',
    ],
    [
      'an unknown item to join',
      () => jsonNotice({ itemId: 'ITM-NOPE' }),
      'application/json',
      404,
      'NOT_FOUND',
      '/body/itemId',
    ],
  ];

  it.each(cases)('%s', async (_name, payload, contentType, status, code, pointer) => {
    const before = await counts();
    const response = await post(gateway.app, sellerA.apiKey, payload(), contentType);
    expect(response.status).toBe(status);
    const text = await response.text();
    expect(text).toContain(code);
    if (pointer !== undefined) expect(text).toContain(pointer);
    expect(text).not.toMatch(/\bat .+\.ts:\d+/);
    const after = await counts();
    expect(after).toEqual({ ...before, log: before.log + 1 });
    const logged = await gateway.database.db
      .selectFrom('message_log')
      .select(['status', 'digest'])
      .orderBy('id', 'desc')
      .limit(1)
      .executeTakeFirstOrThrow();
    expect(logged.status).toBe('rejected');
  });

  it('refuses a role that may not send the type', async () => {
    const before = await counts();
    const response = await postDocument(gateway.app, buyer.apiKey, itemNotice('BUYER-A'));
    expect(response.status).toBe(403);
    expect((await receiptOf(response)).errors[0]).toMatchObject({
      path: '/header/type',
      code: 'ROLE_NOT_ALLOWED',
    });
    expect((await counts()).log).toBe(before.log + 1);
  });

  it('refuses an unknown API key with 401 and no receipt', async () => {
    const response = await post(gateway.app, 'nk_000000000000_nope', jsonNotice());
    expect(response.status).toBe(401);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe(
      'UNAUTHENTICATED',
    );
  });

  it('refuses an oversized body with 413', async () => {
    const response = await post(gateway.app, sellerA.apiKey, 'x'.repeat(2 * 1024 * 1024));
    expect(response.status).toBe(413);
  });

  it('stays healthy after all of it', async () => {
    expect((await gateway.app.request('/readyz')).status).toBe(200);
    expect((await postDocument(gateway.app, sellerA.apiKey, itemNotice('SELLER-A'))).status).toBe(
      200,
    );
  });
});

describe('catalogue rules of ItemNotice', () => {
  it('lets a seller revise its own offer until release, and another seller join the item', async () => {
    const notice = itemNotice('SELLER-A', { name: 'Original name' });
    const itemId = (await receiptOf(await postDocument(gateway.app, sellerA.apiKey, notice)))
      .assigned[0].value as string;

    const revision = exampleDocument('ItemNotice', 'SELLER-A', {
      ...notice.body,
      listPrice: { amount: '29800', currency: 'JPY' },
      name: 'Renamed',
    });
    expect(
      (await receiptOf(await postDocument(gateway.app, sellerA.apiKey, revision))).assigned[0]
        .value,
    ).toBe(itemId);

    const joining = itemNotice('SELLER-B', {
      itemId,
      name: 'B would call it something else',
      listPrice: { amount: '31000', currency: 'JPY' },
    });
    expect(
      (await receiptOf(await postDocument(gateway.app, sellerB.apiKey, joining))).assigned[0].value,
    ).toBe(itemId);

    const db = gateway.database.db;
    const item = await db
      .selectFrom('items')
      .selectAll()
      .where('id', '=', itemId)
      .executeTakeFirstOrThrow();
    expect(item.name).toBe('Renamed'); // only the creator describes the item
    const offers = await db
      .selectFrom('offers')
      .selectAll()
      .where('item_id', '=', itemId)
      .orderBy('seller_id')
      .execute();
    expect(offers.map((o) => [o.seller_id, o.list_price_minor, o.version])).toEqual([
      ['SELLER-A', 29800n, 2],
      ['SELLER-B', 31000n, 1],
    ]);
  });

  it('matches the same product by GTIN', async () => {
    const gtin = `49${Date.now()}`.slice(0, 13);
    const first = await receiptOf(
      await postDocument(gateway.app, sellerA.apiKey, itemNotice('SELLER-A', { gtin })),
    );
    const second = await receiptOf(
      await postDocument(gateway.app, sellerB.apiKey, itemNotice('SELLER-B', { gtin })),
    );
    expect(second.assigned[0].value).toBe(first.assigned[0].value);
  });

  it('refuses offers on, and revisions of, an item already on the market', async () => {
    const gtin = `48${Date.now()}`.slice(0, 13);
    const notice = itemNotice('SELLER-A', { gtin });
    const itemId = (await receiptOf(await postDocument(gateway.app, sellerA.apiKey, notice)))
      .assigned[0].value as string;
    await gateway.database.db
      .updateTable('items')
      .set({ release_date: '2020-01-01' })
      .where('id', '=', itemId)
      .execute();
    const joining = await postDocument(
      gateway.app,
      sellerB.apiKey,
      itemNotice('SELLER-B', { gtin }),
    );
    expect(joining.status).toBe(422);
    expect(JSON.stringify(await joining.json())).toContain('already on the market');
    const revision = await postDocument(
      gateway.app,
      sellerA.apiKey,
      exampleDocument('ItemNotice', 'SELLER-A', { ...notice.body, name: 'Too late' }),
    );
    expect(revision.status).toBe(422);
    expect(JSON.stringify(await revision.json())).toContain('offers can be revised until release');
    const offers = await gateway.database.db
      .selectFrom('offers')
      .select('seller_id')
      .where('item_id', '=', itemId)
      .execute();
    expect(offers).toEqual([{ seller_id: 'SELLER-A' }]);
  });
});

describe('signed requests', () => {
  let signer: RegisteredPartner;
  beforeAll(async () => {
    signer = await registerPartner(gateway, {
      id: 'SIGNER',
      roles: ['seller'],
      requireSignedRequests: true,
    });
  });

  function signed(
    body: string,
    id = `msg_${Math.random().toString(36).slice(2)}`,
    at = new Date(),
  ) {
    const signature = new Webhook(signer.signingSecret).sign(id, at, body);
    return {
      'webhook-id': id,
      'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
      'webhook-signature': signature,
    };
  }

  it('accepts a signed request and refuses an unsigned one', async () => {
    const body = JSON.stringify(itemNotice('SIGNER'));
    expect((await post(gateway.app, signer.apiKey, body)).status).toBe(401);
    expect(
      (await post(gateway.app, signer.apiKey, body, 'application/json', signed(body))).status,
    ).toBe(200);
  });

  it('refuses a replayed signature, an expired timestamp and a signature over other bytes', async () => {
    const body = JSON.stringify(itemNotice('SIGNER'));
    const headers = signed(body);
    expect((await post(gateway.app, signer.apiKey, body, 'application/json', headers)).status).toBe(
      200,
    );
    const replay = await post(gateway.app, signer.apiKey, body, 'application/json', headers);
    expect(replay.status).toBe(401);
    expect(await replay.text()).toContain('replay');
    const old = new Date(Date.now() - 10 * 60 * 1000);
    expect(
      (
        await post(
          gateway.app,
          signer.apiKey,
          body,
          'application/json',
          signed(body, undefined, old),
        )
      ).status,
    ).toBe(401);
    const other = JSON.stringify(itemNotice('SIGNER'));
    expect(
      (await post(gateway.app, signer.apiKey, other, 'application/json', signed(body))).status,
    ).toBe(401);
  });
});

describe('rate limit', () => {
  it('answers 429 with Retry-After past the burst', async () => {
    const limited = await startTestGateway({ RATE_LIMIT_PER_SECOND: '1', RATE_LIMIT_BURST: '3' });
    try {
      const partner = await registerPartner(limited, { id: 'EAGER', roles: ['seller'] });
      const statuses: number[] = [];
      let retryAfter: string | null = null;
      for (let i = 0; i < 5; i++) {
        const response = await postDocument(limited.app, partner.apiKey, itemNotice('EAGER'));
        statuses.push(response.status);
        if (response.status === 429) retryAfter = response.headers.get('retry-after');
      }
      expect(statuses.slice(0, 3)).toEqual([200, 200, 200]);
      expect(statuses.slice(3)).toContain(429);
      expect(Number(retryAfter)).toBeGreaterThanOrEqual(1);
    } finally {
      await limited.close();
    }
  });
});

describe('published contract', () => {
  it('lists the schemas and serves each with its examples', async () => {
    const list = (await (await gateway.app.request('/v1/schemas')).json()) as {
      schemas: { type: string; direction: string }[];
    };
    expect(list.schemas).toHaveLength(32);
    expect(list.schemas.find((s) => s.type === 'ItemNotice')).toMatchObject({
      direction: 'inbound',
      senderRoles: ['seller'],
    });
    const schema = (await (
      await gateway.app.request('/v1/schemas/PurchaseReservation')
    ).json()) as { $id: string };
    expect(schema.$id).toBe('urn:nakadachi:schemas:PurchaseReservation');
    expect(await (await gateway.app.request('/v1/schemas/Award/example.xml')).text()).toContain(
      '<Award xmlns="urn:nakadachi:1">',
    );
    expect((await gateway.app.request('/v1/schemas/Nope')).status).toBe(404);
  });
});
