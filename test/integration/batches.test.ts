/**
 * POST /v1/batches end to end through the app: every format, one entry per document in order
 * (accepted, rejected with a receipt, unreadable, replayed), the exact bytes of each document in
 * the log, refusals of the request as a whole, its own body limit, signed requests, and what a
 * storage failure or a bug in the middle of a batch answers.
 */
import { sql } from 'kysely';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BatchFormat } from '../../adapters/codec/batch-split.ts';
import { GatewayError } from '../../gateway/core/errors.ts';
import { createApp } from '../../gateway/http/app.ts';
import { createLogger } from '../../gateway/logger.ts';
import { buildServices } from '../../gateway/main.ts';
import {
  expectEntries,
  itemNotice,
  itemNoticeXml,
  mixedJsonBatch,
  readReceipts,
  sha256,
} from '../support/batches.ts';
import { post } from '../support/documents.ts';
import {
  registerPartner,
  startTestGateway,
  testConfig,
  type RegisteredPartner,
  type TestGateway,
} from '../support/gateway.ts';

let gateway: TestGateway;
let seller: RegisteredPartner;

beforeAll(async () => {
  // A document limit below one ItemNotice batch: batches have their own limit.
  gateway = await startTestGateway({ BODY_LIMIT_BYTES: '1024', BATCH_BODY_LIMIT_BYTES: '65536' });
  seller = await registerPartner(gateway, { id: 'BATCHER', roles: ['seller'] });
});
afterAll(async () => {
  await gateway.close();
});

const CONTENT_TYPES: Record<Exclude<BatchFormat, 'csv'>, string> = {
  json: 'application/json',
  ndjson: 'application/x-ndjson',
  xml: 'application/xml',
};

function postBatch(
  body: string | Uint8Array | ReadableStream<Uint8Array>,
  contentType: string,
  apiKey = seller.apiKey,
  headers: Record<string, string> = {},
  app = gateway.app,
): Promise<Response> {
  return Promise.resolve(
    app.request('/v1/batches', {
      method: 'POST',
      headers: { authorization: `Bearer ${apiKey}`, 'content-type': contentType, ...headers },
      body,
      duplex: 'half', // a stream body is sent as it comes (no Content-Length)
    }),
  );
}

async function loggedBody(messageId: string): Promise<string> {
  const row = await gateway.database.db
    .selectFrom('message_log')
    .select('body')
    .where('message_id', '=', messageId)
    .where('direction', '=', 'inbound')
    .orderBy('id')
    .executeTakeFirstOrThrow();
  return Buffer.from(row.body!).toString('utf8');
}

describe('a batch mixing valid, invalid and duplicate documents', () => {
  it.each(['ndjson', 'json'] as const)('gets the right entry for each (%s)', async (format) => {
    const batch = mixedJsonBatch(seller.id);
    expect((await post(gateway.app, seller.apiKey, batch.earlier)).status).toBe(200);
    const body =
      format === 'ndjson'
        ? `${batch.documents.join('\n')}\n`
        : `[\n  ${batch.documents.join(',\n  ')}\n]`;
    const response = await postBatch(body, CONTENT_TYPES[format]);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain(CONTENT_TYPES[format]);
    const entries = readReceipts(await response.text(), format);
    expectEntries(entries, batch.documents, batch.expected);
    // Each document is logged with its own exact bytes.
    expect(await loggedBody(entries[0]!.messageId!)).toBe(batch.documents[0]);
    expect(entries[0]!.assigned.itemId).toMatch(/^ITM-/);
  });

  it('is the same documents, sent again, answered from the first receipts', async () => {
    const documents = [
      JSON.stringify(itemNotice(seller.id)),
      JSON.stringify(itemNotice(seller.id)),
    ];
    const body = `${documents.join('\n')}\n`;
    const first = readReceipts(
      await (await postBatch(body, 'application/x-ndjson')).text(),
      'ndjson',
    );
    const again = readReceipts(
      await (await postBatch(body, 'application/x-ndjson')).text(),
      'ndjson',
    );
    expect(again.map((e) => e.receiptId)).toEqual(first.map((e) => e.receiptId));
    const items = await gateway.database.db
      .selectFrom('offers')
      .select(sql<string>`count(*)`.as('n'))
      .where('seller_id', '=', seller.id)
      .where(
        'seller_item_id',
        'in',
        documents.map((d) => JSON.parse(d).body.sellerItemId),
      )
      .executeTakeFirstOrThrow();
    expect(Number(items.n)).toBe(2);
  });
});

describe('a batch committed in shared transactions', () => {
  it('logs every document in batch order, with its exact bytes, the claims made together', async () => {
    const documents = Array.from({ length: 40 }, (_, i) =>
      JSON.stringify(itemNotice(seller.id, { name: `Shared ${i} — 新商品 «${'ü'.repeat(i)}»` })),
    );
    const response = await postBatch(`${documents.join('\n')}\n`, 'application/x-ndjson');
    const entries = readReceipts(await response.text(), 'ndjson');
    expect(entries.map((e) => e.status)).toEqual(documents.map(() => 'accepted'));
    const messageIds = entries.map((e) => e.messageId!);
    const logged = await gateway.database.db
      .selectFrom('message_log as l')
      .innerJoin('inbound_messages as i', 'i.log_id', 'l.id')
      .select(['l.message_id', 'i.message_id as claimed', 'l.body', 'l.digest'])
      .select(sql<string>`l.txid::text`.as('txid'))
      .where('l.message_id', 'in', messageIds)
      .orderBy('l.id')
      .execute();
    // One entry per document, each the one its claim points to, in the order of the batch.
    expect(logged.map((row) => row.message_id)).toEqual(messageIds);
    expect(logged.map((row) => row.claimed)).toEqual(messageIds);
    expect(logged.map((row) => Buffer.from(row.body!).toString('utf8'))).toEqual(documents);
    expect(logged.map((row) => row.digest)).toEqual(documents.map((d) => sha256(d)));
    expect(new Set(logged.map((row) => row.txid)).size).toBeLessThan(documents.length);
  });

  it('takes at most BATCH_COMMIT_MAX documents into one transaction', async () => {
    const services = await buildServices(
      testConfig({ BATCH_COMMIT_MAX: '4' }),
      gateway.database,
      createLogger('silent'),
      undefined,
    );
    try {
      const documents = Array.from({ length: 14 }, () => JSON.stringify(itemNotice(seller.id)));
      const response = await postBatch(
        `${documents.join('\n')}\n`,
        'application/x-ndjson',
        seller.apiKey,
        {},
        createApp(services),
      );
      const entries = readReceipts(await response.text(), 'ndjson');
      expect(entries.map((e) => e.status)).toEqual(documents.map(() => 'accepted'));
      const { rows } = await sql<{ documents: number }>`
        select count(*)::int as documents from message_log
         where message_id in (${sql.join(entries.map((e) => e.messageId!))})
         group by txid order by min(id)`.execute(gateway.database.db);
      expect(rows.every((row) => row.documents <= 4)).toBe(true);
      expect(rows.some((row) => row.documents > 1)).toBe(true);
      expect(rows.reduce((sum, row) => sum + row.documents, 0)).toBe(14);
    } finally {
      await services.pipeline.signer.close();
    }
  });
});

describe('XML', () => {
  it('answers a <Batch> with <Receipts>, children inheriting the namespace', async () => {
    const documents = [
      itemNoticeXml(seller.id, { inherit: true }),
      itemNoticeXml(seller.id),
      '<ItemNotice><Header><Type>ItemNotice</Type></Header></ItemNotice>',
    ];
    const body = `<?xml version="1.0" encoding="UTF-8"?>\n<Batch xmlns="urn:nakadachi:1">\n${documents.join('\n')}\n</Batch>\n`;
    const response = await postBatch(body, 'application/xml; charset=utf-8');
    expect(response.status).toBe(200);
    const entries = readReceipts(await response.text(), 'xml');
    expectEntries(entries, documents, [
      { status: 'accepted', receipt: true },
      { status: 'accepted', receipt: true },
      { status: 'rejected', code: 'SCHEMA_VIOLATION', receipt: false },
    ]);
    // The log keeps the bytes as sent: the inherited namespace is not written into them.
    expect(await loggedBody(entries[0]!.messageId!)).toBe(documents[0]);
  });

  it('takes a single document as a batch of one, its bytes whole', async () => {
    const xml = `<?xml version="1.0" encoding="UTF-8"?>\n${itemNoticeXml(seller.id)}\n`;
    const entries = readReceipts(await (await postBatch(xml, 'application/xml')).text(), 'xml');
    expectEntries(entries, [xml], [{ status: 'accepted', receipt: true }]);
    const json = JSON.stringify(itemNotice(seller.id), null, 2);
    const jsonEntries = readReceipts(
      await (await postBatch(json, 'application/json')).text(),
      'json',
    );
    expectEntries(jsonEntries, [json], [{ status: 'accepted', receipt: true }]);
  });
});

describe('the request as a whole', () => {
  it('reads past a document too large, and answers the unreadable rest once', async () => {
    // `{"a":1}}` breaks the array: what follows cannot be cut into documents.
    const documents = [JSON.stringify(itemNotice(seller.id)), `{"x":"${'y'.repeat(1_100_000)}"}`];
    const big = await startTestGateway({ BATCH_BODY_LIMIT_BYTES: '4194304' });
    try {
      const partner = await registerPartner(big, { id: 'BIG', roles: ['seller'] });
      documents[0] = JSON.stringify(itemNotice('BIG'));
      const body = `[${documents.join(',')}, {"a":1}}, {"b":2}]`;
      const response = await postBatch(body, 'application/json', partner.apiKey, {}, big.app);
      expect(response.status).toBe(200);
      const entries = readReceipts(await response.text(), 'json');
      expect(entries.map((e) => [e.kind, e.status, e.codes[0]])).toEqual([
        ['receipt', 'accepted', undefined],
        ['rejection', 'rejected', 'PAYLOAD_TOO_LARGE'],
        ['rejection', 'rejected', 'MALFORMED_DOCUMENT'],
      ]);
      expect(entries.map((e) => e.position)).toEqual([undefined, 2, 3]);
    } finally {
      await big.close();
    }
  });

  it.each([
    ['', 'application/x-ndjson', 400, 'MALFORMED_DOCUMENT'],
    ['<!DOCTYPE x><Batch/>', 'application/xml', 400, 'MALFORMED_DOCUMENT'],
    ['{}', 'text/plain', 415, 'UNSUPPORTED_MEDIA_TYPE'],
    ['{}', 'application/x-ndjson; charset=latin1', 415, 'UNSUPPORTED_MEDIA_TYPE'],
  ])('refuses %j as %s with %i', async (body, contentType, status, code) => {
    const response = await postBatch(body, contentType);
    expect(response.status).toBe(status);
    expect(await response.text()).toContain(code);
  });

  it('has its own body limit, refused before a document takes effect', async () => {
    const doc = itemNotice(seller.id);
    const lines = `${JSON.stringify(doc)}\n`.repeat(100); // ~80 KB > 64 KiB
    const response = await postBatch(lines, 'application/x-ndjson');
    expect(response.status).toBe(413);
    const logged = await gateway.database.db
      .selectFrom('message_log')
      .select('id')
      .where('message_id', '=', doc.header.messageId!)
      .execute();
    expect(logged).toHaveLength(0);
    // A chunked body without Content-Length is counted as it streams.
    const streamed = await postBatch(new Blob([lines]).stream(), 'application/x-ndjson');
    expect(streamed.status).toBe(413);
  });

  it('needs an API key', async () => {
    expect((await postBatch('[]', 'application/json', 'nk_nope')).status).toBe(401);
  });
});

describe('signed requests', () => {
  it('verifies the signature over the streamed body and refuses a replay', async () => {
    const signer = await registerPartner(gateway, {
      id: 'SIGNED-BATCHER',
      roles: ['seller'],
      requireSignedRequests: true,
    });
    const body = `${JSON.stringify(itemNotice(signer.id))}\n${JSON.stringify(itemNotice(signer.id))}\n`;
    const id = `msg_${Date.now()}`;
    const timestamp = new Date();
    const headers = {
      'webhook-id': id,
      'webhook-timestamp': String(Math.floor(timestamp.getTime() / 1000)),
      'webhook-signature': new Webhook(signer.signingSecret).sign(id, timestamp, body),
    };
    const unsigned = await postBatch(body, 'application/x-ndjson', signer.apiKey);
    expect(unsigned.status).toBe(401);
    const tampered = await postBatch(`${body} `, 'application/x-ndjson', signer.apiKey, headers);
    expect(tampered.status).toBe(401);
    expect(await tampered.text()).toContain('No matching signature');
    const good = await postBatch(body, 'application/x-ndjson', signer.apiKey, headers);
    expect(good.status).toBe(200);
    const entries = readReceipts(await good.text(), 'ndjson');
    expect(entries.map((e) => e.status)).toEqual(['accepted', 'accepted']);
    const replay = await postBatch(body, 'application/x-ndjson', signer.apiKey, headers);
    expect(replay.status).toBe(401);
    expect(await replay.text()).toContain('replay');
  });
});

describe('failures in the middle of a batch', () => {
  function appFailingAt(position: number, error: () => Error) {
    const services = gateway.services;
    let seen = 0;
    return createApp({
      ...services,
      pipeline: {
        ...services.pipeline,
        decode: (bytes, format, sender) => {
          seen += 1;
          if (seen === position) throw error();
          return services.pipeline.decode(bytes, format, sender);
        },
      },
    });
  }

  it('answers every document from a storage failure on as not processed', async () => {
    const app = appFailingAt(2, () => new GatewayError('STORAGE_UNAVAILABLE', 'down'));
    const documents = [1, 2, 3].map(() => JSON.stringify(itemNotice(seller.id)));
    const response = await postBatch(
      `${documents.join('\n')}\n`,
      'application/x-ndjson',
      seller.apiKey,
      {},
      app,
    );
    expect(response.status).toBe(200);
    const entries = readReceipts(await response.text(), 'ndjson');
    expect(entries.map((e) => [e.status, e.codes[0], e.position])).toEqual([
      ['accepted', undefined, undefined],
      ['rejected', 'STORAGE_UNAVAILABLE', 2],
      ['rejected', 'STORAGE_UNAVAILABLE', 3],
    ]);
    expect(entries[0]!.digest).toBe(sha256(documents[0]!));
  });

  it('refuses a document that trips a bug and goes on with the rest', async () => {
    const app = appFailingAt(1, () => new TypeError('boom'));
    const documents = [1, 2].map(() => JSON.stringify(itemNotice(seller.id)));
    const response = await postBatch(
      `[${documents.join(',')}]`,
      'application/json',
      seller.apiKey,
      {},
      app,
    );
    const entries = readReceipts(await response.text(), 'json');
    expect(entries.map((e) => [e.status, e.codes[0]])).toEqual([
      ['rejected', 'INTERNAL'],
      ['accepted', undefined],
    ]);
  });
});
