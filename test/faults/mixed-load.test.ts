/**
 * A minute of mixed traffic at 64 connections against a real gateway process on PostgreSQL (a
 * schema of its own): valid documents from five partners (JSON and XML), invalid ones (schema
 * errors, malformed XML, too many decimals, another sender), exact duplicates and conflicting
 * duplicates of documents already accepted. Every answer is kept, then:
 *
 * - every accepted receipt verifies with the gateway's JWKS (jose) and carries the SHA-256 of the
 *   bytes sent; every accepted messageId is in the message log exactly once, its effect (offer or
 *   reservation) exactly once, under the id the receipt assigned;
 * - every exact duplicate got the original receipt (the same document) with Idempotent-Replayed;
 *   every conflicting one 409 MESSAGE_ID_REUSED;
 * - every rejection got its status and stable code, and is in the log as a rejection of exactly
 *   those bytes with that code — and the log holds no other rejection;
 * - the gateway's memory, sampled four times a second: its RSS (/proc) stays under 512 MB, and
 *   what it holds after a full GC (heap and Buffers, from its own /metrics) does not grow over
 *   the last 30 s: GCs asked for 30 s and 15 s before the end and after the load leave no more
 *   than 32 MB above the first;
 * - an audit seal then covers everything and the audit log verifies.
 *
 * The throughput and RSS figures are printed for the record; nothing here asserts speed.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { compactVerify, createLocalJWKSet, type JSONWebKeySet } from 'jose';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeDocument } from '../../adapters/codec/index.ts';
import { createPartner } from '../../gateway/core/partners/partners.service.ts';
import { newId } from '../../gateway/core/ids.ts';
import { createSchemaRegistry } from '../../schemas/registry.ts';
import { itemNoticeXml } from '../support/batches.ts';
import {
  openSharedStore,
  spawnGateway,
  type ChildGateway,
  type SharedStore,
} from '../support/child-gateway.ts';
import { onPostgres } from '../support/database.ts';
import { eventually } from '../support/delivery.ts';
import { exampleDocument } from '../support/documents.ts';
import { ADMIN_TOKEN } from '../support/gateway.ts';
import {
  createLoadClient,
  percentile,
  gcOnSignalNodeOptions,
  rssSlopeMbPerS,
  runUntil,
  sampleMemory,
  type LoadAnswer,
  type MemorySample,
} from '../support/load-client.ts';

const CONNECTIONS = 64;
const LOAD_SECONDS = 60;
/**
 * DESIGN §9 targets ≤ 250 MB under sustained load; twice that leaves room for V8 raising its
 * heap limit under 64 concurrent requests, and still catches memory held per request (a minute
 * here is thousands of documents).
 */
const RSS_BOUND_MB = 512;
/**
 * "Does not grow steadily" is judged on what survives a full GC, not on RSS: V8 raises its heap
 * limit step by step while the allocation rate is high and keeps the pages, so RSS climbs for
 * minutes with nothing retained (measured here: RSS 209 → 362 MB in a minute while the heap
 * after each major GC stayed at 49–59 MB), and V8's own major GCs come when they come. So the
 * test asks for full GCs 30 s and 15 s before the end and after the load: memory held per
 * request would show between them; 32 MB is a few KB per request at the rates seen here.
 */
const RETAINED_GROWTH_BOUND_MB = 32;

const JSON_SELLERS = ['MIX-SELLER-1', 'MIX-SELLER-2'];
const XML_SELLER = 'MIX-SELLER-X';
const BUYERS = ['MIX-BUYER-1', 'MIX-BUYER-2'];
const PARTNERS = [...JSON_SELLERS, XML_SELLER, ...BUYERS];

type Kind = 'valid' | 'duplicate' | 'conflict' | 'schema' | 'malformed' | 'precision' | 'sender';
type Refused = Exclude<Kind, 'valid' | 'duplicate'>;

const EXPECTED: Readonly<Record<Refused, { status: number; code: string }>> = {
  conflict: { status: 409, code: 'MESSAGE_ID_REUSED' },
  schema: { status: 422, code: 'SCHEMA_VIOLATION' },
  malformed: { status: 400, code: 'MALFORMED_DOCUMENT' },
  precision: { status: 422, code: 'AMOUNT_PRECISION' },
  sender: { status: 403, code: 'SENDER_MISMATCH' },
};

/** Twenty requests: 60 % new valid documents, 10 % each kind of duplicate, 20 % invalid. */
const MIX: readonly Kind[] = [
  ...Array<Kind>(12).fill('valid'),
  'duplicate',
  'duplicate',
  'conflict',
  'conflict',
  'schema',
  'malformed',
  'precision',
  'sender',
];

interface Request {
  kind: Kind;
  sender: string;
  format: 'json' | 'xml';
  type: 'ItemNotice' | 'PurchaseReservation';
  messageId: string;
  /** sellerItemId or buyerReference: where the effect is found. */
  reference: string;
  bytes: string;
}

/** An accepted document: what it was, and the answer it got. */
interface Original extends Omit<Request, 'bytes' | 'kind'> {
  digest: string;
  answer: string;
}

let store: SharedStore;
let dataDir: string;
let gateway: ChildGateway | undefined;

beforeAll(async () => {
  if (!onPostgres) return;
  store = await openSharedStore();
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'nakadachi-mixed-load-'));
});
afterAll(async () => {
  if (gateway !== undefined) {
    gateway.kill('SIGKILL');
    await gateway.exited;
  }
  await store?.close();
  if (dataDir !== undefined) fs.rmSync(dataDir, { recursive: true, force: true });
});

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** The error code an answer carries: a receipt's first error, or the error envelope's. */
function codeOf(answer: LoadAnswer): string | undefined {
  if (answer.body.startsWith('<')) return /<Code>([^<]*)<\/Code>/.exec(answer.body)?.[1];
  const json = JSON.parse(answer.body) as {
    body?: { errors?: { code: string }[] };
    error?: { code: string };
  };
  return json.body?.errors?.[0]?.code ?? json.error?.code;
}

function sameReceipt(answer: string, original: Original): boolean {
  return original.format === 'xml'
    ? answer === original.answer
    : isDeepStrictEqual(JSON.parse(answer), JSON.parse(original.answer));
}

describe.skipIf(!onPostgres)('a minute of mixed load (PostgreSQL: TEST_DATABASE_URL)', () => {
  it(
    'keeps every accepted document once, refuses the rest with their reason, stays bounded',
    { timeout: 280_000 },
    async () => {
      const keys = new Map<string, string>();
      await store.use(async (db) => {
        for (const id of PARTNERS) {
          const created = await createPartner(
            { db, checkEndpoint: () => ({ ok: true }) },
            {
              id,
              name: id,
              roles: [BUYERS.includes(id) ? 'buyer' : 'seller'],
              format: id === XML_SELLER ? 'xml' : 'json',
            },
          );
          keys.set(id, created.apiKey.apiKey);
        }
      });
      gateway = await spawnGateway(
        {
          ...store.env,
          DATA_DIR: dataDir,
          ADMIN_TOKEN,
          // info: the start line spawnGateway waits for; refusals log a line each (a few MB).
          LOG_LEVEL: 'info',
          // Five partners at 64 connections go far beyond the default per-partner rate.
          RATE_LIMIT_PER_SECOND: '0',
          // SIGUSR2: a full GC, for the memory check.
          NODE_OPTIONS: gcOnSignalNodeOptions(),
        },
        60_000,
      );
      const url = /"url":"(http:\/\/[^"]+)"/.exec(gateway.output())![1]!;
      const client = createLoadClient(url, CONNECTIONS);

      // The item every reservation asks for.
      const item = exampleDocument('ItemNotice', JSON_SELLERS[0]!, {
        sellerItemId: 'MIX-ITEM',
        gtin: undefined,
      });
      const published = await client.post(
        '/v1/documents',
        {
          authorization: `Bearer ${keys.get(JSON_SELLERS[0]!)}`,
          'content-type': 'application/json',
        },
        JSON.stringify(item),
      );
      expect(published.status, published.body).toBe(200);
      const itemId = (JSON.parse(published.body) as { body: { assigned: { value: string }[] } })
        .body.assigned[0]!.value;

      const originals: Original[] = [];
      /** The latest accepted documents with their bytes: what duplicates are made of. */
      const recent: { original: Original; bytes: string }[] = [];
      const refusals: { sender: string; digest: string; code: string }[] = [];
      const counts: Record<Kind, number> = {
        valid: 0,
        duplicate: 0,
        conflict: 0,
        schema: 0,
        malformed: 0,
        precision: 0,
        sender: 0,
      };
      const wrong: string[] = [];
      const latencies: number[] = [];

      function fresh(i: number): Request {
        const slot = i % 5;
        if (slot === 4) {
          const xml = itemNoticeXml(XML_SELLER);
          return {
            kind: 'valid',
            sender: XML_SELLER,
            format: 'xml',
            type: 'ItemNotice',
            messageId: /<MessageId>([^<]*)</.exec(xml)![1]!,
            reference: /<SellerItemId>([^<]*)</.exec(xml)![1]!,
            bytes: xml,
          };
        }
        const sender = [...JSON_SELLERS, ...BUYERS][slot]!;
        const reference = `MIX-${i}`;
        const type = BUYERS.includes(sender) ? 'PurchaseReservation' : 'ItemNotice';
        const doc =
          type === 'ItemNotice'
            ? exampleDocument(type, sender, { sellerItemId: reference, gtin: undefined })
            : exampleDocument(type, sender, { itemId, buyerReference: reference });
        return {
          kind: 'valid',
          sender,
          format: 'json',
          type,
          messageId: doc.header.messageId!,
          reference,
          bytes: JSON.stringify(doc),
        };
      }

      function invalid(kind: Refused, i: number): Request {
        const sender = JSON_SELLERS[i % 2]!;
        const base = { kind, sender, format: 'json', type: 'ItemNotice', reference: '' } as const;
        if (kind === 'malformed') {
          const messageId = newId(XML_SELLER);
          return {
            ...base,
            sender: XML_SELLER,
            format: 'xml',
            messageId,
            bytes: `<ItemNotice xmlns="urn:nakadachi:1"><Header><MessageId>${messageId}</MessageId>`,
          };
        }
        const doc = exampleDocument('ItemNotice', sender, {
          sellerItemId: `MIX-BAD-${i}`,
          gtin: undefined,
        });
        if (kind === 'schema') delete doc.body.name;
        if (kind === 'precision') doc.body.listPrice = { amount: '32800.5', currency: 'JPY' };
        if (kind === 'sender') doc.header.sender = JSON_SELLERS[(i + 1) % 2]!;
        return { ...base, messageId: doc.header.messageId!, bytes: JSON.stringify(doc) };
      }

      /** Same messageId, other content: one more of the quantity. */
      function conflicting(bytes: string, format: 'json' | 'xml'): string {
        if (format === 'xml') {
          return bytes.replace(
            /<QuantityAvailable>(\d+)</,
            (_m, n: string) => `<QuantityAvailable>${Number(n) + 1}<`,
          );
        }
        const doc = JSON.parse(bytes) as { body: Record<string, number> };
        if (doc.body.quantityAvailable !== undefined) doc.body.quantityAvailable += 1;
        else doc.body.quantity! += 1;
        return JSON.stringify(doc);
      }

      async function one(i: number): Promise<void> {
        let kind = MIX[i % MIX.length]!;
        const earlier = recent.length === 0 ? undefined : recent[i % recent.length]!;
        if ((kind === 'duplicate' || kind === 'conflict') && earlier === undefined) kind = 'valid';
        const request: Request =
          kind === 'valid'
            ? fresh(i)
            : kind === 'duplicate' || kind === 'conflict'
              ? {
                  ...earlier!.original,
                  kind,
                  bytes:
                    kind === 'duplicate'
                      ? earlier!.bytes
                      : conflicting(earlier!.bytes, earlier!.original.format),
                }
              : invalid(kind, i);
        counts[kind] += 1;
        const answer = await client.post(
          '/v1/documents',
          {
            authorization: `Bearer ${keys.get(request.sender)}`,
            'content-type': request.format === 'xml' ? 'application/xml' : 'application/json',
          },
          request.bytes,
        );
        latencies.push(answer.ms);
        const replayed = answer.headers['idempotent-replayed'] === 'true';
        const where = `${kind} ${request.messageId}: ${answer.status} ${answer.body.slice(0, 200)}`;
        if (kind === 'valid') {
          if (answer.status !== 200 || replayed) return void wrong.push(where);
          const { bytes, kind: _kind, ...rest } = request;
          const original = { ...rest, digest: sha256(bytes), answer: answer.body };
          originals.push(original);
          if (recent.length < 2_000) recent.push({ original, bytes });
          else recent[i % 2_000] = { original, bytes };
        } else if (kind === 'duplicate') {
          // The original receipt: same id, time, digest and signature (JSON key order may differ).
          if (answer.status !== 200 || !replayed || !sameReceipt(answer.body, earlier!.original)) {
            wrong.push(where);
          }
        } else {
          const expected = EXPECTED[kind];
          const code = codeOf(answer);
          if (answer.status !== expected.status || code !== expected.code) wrong.push(where);
          refusals.push({
            sender: request.sender,
            digest: sha256(request.bytes),
            code: code ?? '',
          });
        }
      }

      // --- the load ---
      // Four times a second: RSS from /proc, heap and GC count from the gateway's /metrics.
      const memory = sampleMemory(gateway.pid, `${url}/metrics`, 'nakadachi_', 250);
      const started = performance.now();
      /** A full GC in the gateway (SIGUSR2, load-gc-signal.ts): the first sample after it. */
      const collect = async (): Promise<MemorySample> => {
        const signalled = (performance.now() - started) / 1000;
        const before = memory.samples.at(-1)?.majorGcs ?? 0;
        gateway!.kill('SIGUSR2');
        return eventually(
          () => memory.samples.find((s) => s.atS > signalled && s.majorGcs > before),
          'the GC asked for',
          20_000,
          50,
        );
      };
      const collectAt = async (second: number) => {
        await new Promise((resolve) => setTimeout(resolve, second * 1000));
        return collect();
      };
      const midLoad = Promise.all([collectAt(LOAD_SECONDS - 30), collectAt(LOAD_SECONDS - 15)]);
      const sent = await runUntil(started + LOAD_SECONDS * 1000, CONNECTIONS, one);
      const during = await midLoad;
      const elapsedS = (performance.now() - started) / 1000;
      client.close();
      const afterLoad = await collect();
      await memory.stop();
      const samples = memory.samples.filter((s) => s.atS <= elapsedS);
      const collected = [...during, afterLoad];

      const peakRssMb = Math.max(...samples.map((s) => s.rssMb));
      const rssTrendMb = rssSlopeMbPerS(samples.filter((s) => s.atS >= LOAD_SECONDS - 30)) * 30;
      const held = (s: MemorySample) => Math.round(s.heapMb + s.externalMb);
      const round = (n: number) => Math.round(n);
      console.log(
        JSON.stringify({
          mixedLoad: {
            connections: CONNECTIONS,
            seconds: Number(elapsedS.toFixed(1)),
            requests: sent,
            requestsPerS: round(sent / elapsedS),
            acceptedPerS: round(originals.length / elapsedS),
            byKind: counts,
            p50Ms: round(percentile(latencies, 50)),
            p99Ms: round(percentile(latencies, 99)),
            rssMb: {
              first: round(samples[0]!.rssMb),
              peak: round(peakRssMb),
              last: round(samples.at(-1)!.rssMb),
              trendOverLast30s: round(rssTrendMb),
              perSecond: samples.filter((_s, i) => i % 4 === 0).map((s) => round(s.rssMb)),
            },
            heldAfterFullGcMb: collected.map((s) => ({ atS: round(s.atS), mb: held(s) })),
            majorGcs: afterLoad.majorGcs,
          },
        }),
      );

      expect(wrong.slice(0, 10), `${wrong.length} answers not as expected`).toEqual([]);
      for (const kind of Object.keys(counts) as Kind[])
        expect(counts[kind], kind).toBeGreaterThan(0);
      expect(samples.length).toBeGreaterThanOrEqual(LOAD_SECONDS);
      expect(peakRssMb).toBeLessThan(RSS_BOUND_MB);
      // Over the last 30 s (full GCs at 30 s, 45 s and after the load) what the gateway holds
      // does not grow.
      for (const sample of collected.slice(1)) {
        expect(
          held(sample) - held(collected[0]!),
          `held at ${round(sample.atS)} s vs ${round(collected[0]!.atS)} s`,
        ).toBeLessThan(RETAINED_GROWTH_BOUND_MB);
      }

      // --- every accepted receipt: signed by the gateway, over the bytes sent ---
      const jwks = createLocalJWKSet(
        (await (await fetch(`${url}/.well-known/jwks.json`)).json()) as JSONWebKeySet,
      );
      const registry = createSchemaRegistry();
      const assigned = new Map<string, string>();
      const badReceipts: string[] = [];
      for (const original of originals) {
        const receipt =
          original.format === 'json'
            ? (JSON.parse(original.answer) as { body: Record<string, any> }).body
            : (() => {
                const decoded = decodeDocument(original.answer, 'xml', registry);
                if (!decoded.ok) throw new Error(`unreadable XML receipt ${original.messageId}`);
                return decoded.document.body as Record<string, any>;
              })();
        const { payload } = await compactVerify(receipt.signature as string, jwks);
        const { signature: _signature, ...unsigned } = receipt;
        const signed = JSON.parse(new TextDecoder().decode(payload)) as Record<string, unknown>;
        if (
          !isDeepStrictEqual(signed, unsigned) ||
          receipt.digest !== original.digest ||
          receipt.status !== 'accepted' ||
          receipt.messageId !== original.messageId
        ) {
          badReceipts.push(original.messageId);
        }
        assigned.set(original.messageId, (receipt.assigned as { value: string }[])[0]!.value);
      }
      expect(badReceipts.slice(0, 10), `${badReceipts.length} bad receipts`).toEqual([]);

      // --- the database: each accepted document logged once with its effect once ---
      const state = await store.use(async (db) => {
        const accepted = await db
          .selectFrom('message_log')
          .select(['partner_id', 'message_id', (eb) => eb.fn.countAll<string>().as('n')])
          .where('direction', '=', 'inbound')
          .where('event', '=', 'received')
          .where('status', '=', 'accepted')
          .where('partner_id', 'in', PARTNERS)
          .groupBy(['partner_id', 'message_id'])
          .execute();
        const rejected = await sql<{ partner_id: string; digest: string; code: string }>`
          select partner_id, digest, detail->>'code' as code from message_log
          where direction = 'inbound' and event = 'received' and status = 'rejected'
            and partner_id in (${sql.join(PARTNERS)})`.execute(db);
        const offers = await db
          .selectFrom('offers')
          .select(['seller_id as owner', 'seller_item_id as reference', 'item_id as id'])
          .where('seller_id', 'in', [...JSON_SELLERS, XML_SELLER])
          .execute();
        const reservations = await db
          .selectFrom('reservations')
          .select(['buyer_id as owner', 'buyer_reference as reference', 'id'])
          .where('buyer_id', 'in', BUYERS)
          .execute();
        return { accepted, rejected: rejected.rows, effects: [...offers, ...reservations] };
      });

      const logged = new Map(
        state.accepted.map((r) => [`${r.partner_id}/${r.message_id}`, Number(r.n)]),
      );
      const expectedAccepted = new Map<string, number>(
        originals.map((o) => [`${o.sender}/${o.messageId}`, 1]),
      );
      expectedAccepted.set(`${JSON_SELLERS[0]}/${item.header.messageId}`, 1);
      expect(logged.size).toBe(expectedAccepted.size);
      expect([...logged].filter(([key, n]) => expectedAccepted.get(key) !== n)).toEqual([]);

      const effects = new Map<string, string[]>();
      for (const effect of state.effects) {
        const key = `${effect.owner}/${effect.reference ?? ''}`;
        effects.set(key, [...(effects.get(key) ?? []), effect.id]);
      }
      const misapplied = originals.filter((o) => {
        const found = effects.get(`${o.sender}/${o.reference}`) ?? [];
        return found.length !== 1 || found[0] !== assigned.get(o.messageId);
      });
      expect(misapplied.slice(0, 10).map((o) => o.messageId)).toEqual([]);
      expect(state.effects.length).toBe(originals.length + 1);

      // --- every rejection in the log with its reason, and no other rejection ---
      const tally = (rows: { sender: string; digest: string; code: string }[]) => {
        const map = new Map<string, number>();
        for (const row of rows) {
          const key = `${row.sender}|${row.digest}|${row.code}`;
          map.set(key, (map.get(key) ?? 0) + 1);
        }
        return map;
      };
      const loggedRefusals = tally(
        state.rejected.map((r) => ({ sender: r.partner_id, digest: r.digest, code: r.code })),
      );
      const answeredRefusals = tally(refusals);
      expect(loggedRefusals.size).toBe(answeredRefusals.size);
      expect(
        [...answeredRefusals].filter(([key, n]) => loggedRefusals.get(key) !== n).slice(0, 10),
      ).toEqual([]);

      // --- the audit log: sealed, and it verifies ---
      const adminCall = async (method: string, path: string) => {
        const response = await fetch(`${url}${path}`, {
          method,
          headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
        });
        expect(response.status, path).toBe(200);
        return (await response.json()) as Record<string, any>;
      };
      await eventually(
        async () => {
          await adminCall('POST', '/admin/v1/audit/seal');
          return (await adminCall('GET', '/admin/v1/audit/status')).unsealed === 0;
        },
        'every log entry sealed',
        60_000,
        200,
      );
      const report = await adminCall('GET', '/admin/v1/audit/verify');
      console.log(
        JSON.stringify({
          auditVerify: { ok: report.ok, seals: report.seals, entries: report.entries },
        }),
      );
      expect(report).toMatchObject({ ok: true, problem: null, unsealed: 0 });
      expect(report.entries).toBeGreaterThanOrEqual(originals.length + refusals.length);

      gateway.kill('SIGTERM');
      expect(await gateway.exited).toBe(0);
      gateway = undefined;
    },
  );
});
