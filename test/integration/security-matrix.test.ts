/**
 * The authorisation matrix: partner A (every role) against partner B's objects of every kind, on
 * every partner route the app registers — enumerated from `app.routes`, so a route added later
 * fails here until it is classified. A reading, listing, acknowledging or referencing B's object
 * gets 404 (or the answer an unknown id gets: nothing tells the two apart), and B's objects stay
 * as they were; B itself can use the same references (the ids are right, only the owner differs).
 * Admin and console routes refuse every partner key; a key in the query string is refused.
 */
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readReceipts } from '../support/batches.ts';
import { enqueueNoAwards, testOutboxDeps } from '../support/delivery.ts';
import { exampleDocument, postDocument, receiptOf } from '../support/documents.ts';
import { ADDRESS, orderBody } from '../support/echeck.ts';
import { queuedFor } from '../support/outbox.ts';
import { startTestGateway, type RegisteredPartner, type TestGateway } from '../support/gateway.ts';
import {
  buildSecurityWorld,
  neighbourId,
  orderLines,
  ROLES,
  sendAs,
  sequentialId,
  stateSnapshot,
  type Role,
  type SecurityWorld,
} from '../support/security-world.ts';

const AUDITOR_TOKEN = 'test-auditor-token-0123456789abcdef';

let gateway: TestGateway;
let w: SecurityWorld;

beforeAll(async () => {
  gateway = await startTestGateway({ AUDITOR_TOKEN });
  w = await buildSecurityWorld(gateway);
}, 60_000);
afterAll(async () => {
  await gateway.close();
});

const db = () => gateway.database.db;

function get(path: string, key: string | undefined, headers: Record<string, string> = {}) {
  return Promise.resolve(
    gateway.app.request(path, {
      headers: { ...(key === undefined ? {} : { authorization: `Bearer ${key}` }), ...headers },
    }),
  );
}

function postJson(path: string, key: string, body: unknown) {
  return Promise.resolve(
    gateway.app.request(path, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    }),
  );
}

/** Every id of an object B owns that is not public (items and offers are the catalogue). */
function privateIdsOfB(): string[] {
  return [
    w.reservationB,
    w.reservationShared,
    w.reservationSharedUnbid,
    w.bidB,
    w.dealAwarded,
    w.dealConfirmed,
    w.settlementTender,
    w.transportTender,
    w.checkIssued.checkNumber as string,
    w.checkOrdered.checkNumber as string,
    w.orderId,
    ...w.sentByB,
  ];
}

function expectNoIdOfB(text: string, where: string): void {
  for (const id of privateIdsOfB()) expect(text, `${where} names ${id}`).not.toContain(id);
}

// --- the routes ------------------------------------------------------------------------------

/** Partner routes and the part of this file that covers each. */
const PARTNER_ROUTES: Readonly<Record<string, string>> = {
  'POST /v1/documents': 'documents referencing B’s objects',
  'POST /v1/batches': 'documents referencing B’s objects, in a batch',
  'GET /v1/documents/:messageId/receipt': 'receipts',
  'GET /v1/mailbox': 'mailbox',
  'POST /v1/mailbox/ack': 'mailbox',
  'GET /v1/items': 'lists',
  'GET /v1/reservations': 'lists',
  'GET /v1/me': 'lists',
};

/** Routes without a key: the contract, the public keys, health and metrics. */
const PUBLIC_ROUTES = [
  'GET /healthz',
  'GET /readyz',
  'GET /metrics',
  'GET /v1/schemas',
  'GET /v1/schemas/:type',
  'GET /v1/schemas/:type/example.json',
  'GET /v1/schemas/:type/example.xml',
  'GET /.well-known/jwks.json',
] as const;

/** Console pages anyone may fetch: the login form and its stylesheet. */
const CONSOLE_PUBLIC = [
  'GET /console/login',
  'POST /console/login',
  'GET /console/assets/console.css',
];

function registeredRoutes(): { method: string; path: string }[] {
  const seen = new Set<string>();
  return gateway.app.routes
    .filter((r) => r.method !== 'ALL')
    .filter((r) => {
      const key = `${r.method} ${r.path}`;
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    })
    .map((r) => ({ method: r.method, path: r.path }));
}

/** A registered path with its parameters filled in (a choice list takes its first choice). */
function concrete(path: string): string {
  return path.replace(/:(\w+)(\{([^}]*)\})?/g, (_m, _name, _re, choices?: string) =>
    choices === undefined ? 'X-1' : (choices.split('|')[0] ?? 'X-1'),
  );
}

describe('the routes', () => {
  it('are all classified: partner routes are covered below, the rest are public, admin or console', () => {
    const classified = new Set([...Object.keys(PARTNER_ROUTES), ...PUBLIC_ROUTES]);
    const unclassified = registeredRoutes()
      .map((r) => `${r.method} ${r.path}`)
      .filter(
        (r) => !classified.has(r) && !/^\w+ \/admin\/v1\//.test(r) && !/^\w+ \/console/.test(r),
      );
    expect(unclassified, 'a route nobody classified: add it to this matrix').toEqual([]);
    const registered = new Set(registeredRoutes().map((r) => `${r.method} ${r.path}`));
    expect(
      [...classified].filter((r) => !registered.has(r)),
      'classified but gone',
    ).toEqual([]);
  });

  it('public routes need no key and show nothing of B', async () => {
    for (const route of PUBLIC_ROUTES) {
      const path = concrete(route.slice(route.indexOf(' ') + 1)).replace('X-1', 'ItemNotice');
      const response = await get(path, undefined);
      expect(response.status, path).toBe(200);
      expectNoIdOfB(await response.text(), path);
    }
  });
});

// --- documents that reference B's objects ----------------------------------------------------

interface Reference {
  name: string;
  /** The role that may send the type: A's partner of the role tries, B's is the owner. */
  role: Role;
  type: string;
  /** The referenced id of B's object. */
  target: (w: SecurityWorld) => string;
  /** The document's body referring to `ref`, as `sender` would write it. */
  body: (w: SecurityWorld, sender: RegisteredPartner, ref: string) => Record<string, unknown>;
  pointer: string;
  /**
   * Ids for which A must get exactly the answer it gets for B's: unknown ones (a neighbour and a
   * counted-up guess), or for a bid, a reservation nobody bid on.
   */
  twins: (w: SecurityWorld) => string[];
}

const unknownIds = (target: (w: SecurityWorld) => string) => (world: SecurityWorld) => [
  neighbourId(target(world)),
  sequentialId(target(world)),
];

/** In the order of a deal's life, so that B can use each reference afterwards. */
const REFERENCES: Reference[] = [
  {
    name: 'withdrawing B’s bid on a reservation both sellers see',
    role: 'seller',
    type: 'OrderBid',
    target: (world) => world.reservationShared,
    body: (_world, _sender, ref) => ({
      reservationId: ref,
      action: 'withdraw',
      unitPrice: undefined,
      quantity: undefined,
      promisedDeliveryDate: undefined,
      note: undefined,
    }),
    pointer: '/body/reservationId',
    twins: (world) => [world.reservationSharedUnbid],
  },
  {
    name: 'confirming B’s deal as its buyer',
    role: 'buyer',
    type: 'PurchaseConfirmation',
    target: (world) => world.dealAwarded,
    body: (_world, _sender, ref) => ({ dealId: ref, decision: 'accept' }),
    pointer: '/body/dealId',
    twins: unknownIds((world) => world.dealAwarded),
  },
  {
    name: 'confirming B’s deal as its seller',
    role: 'seller',
    type: 'OrderConfirmation',
    target: (world) => world.dealAwarded,
    body: (_world, _sender, ref) => ({ dealId: ref, decision: 'accept' }),
    pointer: '/body/dealId',
    twins: unknownIds((world) => world.dealAwarded),
  },
  {
    name: 'answering a settlement tender sent to B only',
    role: 'settlement',
    type: 'SettlementTerms',
    target: (world) => world.settlementTender,
    body: (_world, _sender, ref) => ({
      tenderId: ref,
      fixedFee: { amount: '500', currency: 'JPY' },
      ratePercent: '0.8',
      settlementDays: 2,
      note: undefined,
    }),
    pointer: '/body/tenderId',
    twins: unknownIds((world) => world.settlementTender),
  },
  {
    name: 'answering a transport tender sent to B only',
    role: 'carrier',
    type: 'TransportTerms',
    target: (world) => world.transportTender,
    body: (_world, _sender, ref) => ({
      tenderId: ref,
      fee: { amount: '8000', currency: 'JPY' },
      pickupDate: '2036-05-20',
      deliveryDate: '2036-05-22',
      note: undefined,
    }),
    pointer: '/body/tenderId',
    twins: unknownIds((world) => world.transportTender),
  },
  {
    name: 'ordering with B’s check (its genuine token)',
    role: 'buyer',
    type: 'CommodityOrder',
    target: (world) => world.checkIssued.checkNumber as string,
    body: (world) => orderBody(world.checkIssued, orderLines(world.itemB)),
    pointer: '/body/checkNumber',
    // The token names its check: no other id can be presented with it.
    twins: () => [],
  },
  ...(
    [
      ['DistributionNotice', 'seller', 'telling B’s buyer its order ships'],
      ['DistributionInstruction', 'seller', 'instructing B’s carrier'],
      ['DeliverySchedule', 'carrier', 'scheduling B’s delivery'],
      ['DeliveryStatus', 'carrier', 'reporting on B’s delivery'],
      ['PaymentNotice', 'buyer', 'announcing payment of B’s order'],
    ] as const
  ).map(([type, role, name]): Reference => ({
    name,
    role,
    type,
    target: (world) => world.orderId,
    body: (world, _sender, ref) => orderDocumentBody(type, world, ref),
    pointer: '/body/orderId',
    twins: unknownIds((world) => world.orderId),
  })),
  {
    name: 'completing B’s delivery',
    role: 'carrier',
    type: 'DeliveryComplete',
    target: (world) => world.orderId,
    body: (world, _sender, ref) => orderDocumentBody('DeliveryComplete', world, ref),
    pointer: '/body/orderId',
    twins: unknownIds((world) => world.orderId),
  },
];

function orderDocumentBody(type: string, world: SecurityWorld, orderId: string) {
  switch (type) {
    case 'DistributionNotice':
      return {
        orderId,
        carrier: world.b.carrier.id,
        expectedShipDate: '2036-05-20',
        note: undefined,
      };
    case 'DistributionInstruction':
      return {
        orderId,
        commodities: [{ itemId: world.itemB, name: 'HX-9', quantity: 1 }],
        distributionAddress: ADDRESS,
        pickupAddress: undefined,
        neededBy: undefined,
      };
    case 'DeliverySchedule':
      return {
        orderId,
        deliveryDate: '2036-05-22',
        windowStart: '2036-05-22T10:00:00Z',
        windowEnd: '2036-05-22T14:00:00Z',
        note: undefined,
      };
    case 'DeliveryStatus':
      return { orderId, status: 'in-transit', at: '2036-05-21T08:00:00Z', location: undefined };
    case 'PaymentNotice':
      return {
        orderId,
        checkNumber: world.checkOrdered.checkNumber,
        amount: world.checkOrdered.amount,
      };
    default:
      return {
        orderId,
        deliveredAt: '2036-05-22T11:00:00Z',
        receivedBy: undefined,
        note: undefined,
      };
  }
}

/** What A learns from a refusal, with the id it named taken out. */
function answer(status: number, receipt: Record<string, any>, id: string) {
  return {
    status,
    errors: (receipt.errors as { path: string; code: string; message: string }[]).map((e) => ({
      ...e,
      message: e.message.replaceAll(id, '<id>'),
    })),
  };
}

describe('documents referencing B’s objects', () => {
  let before: Record<string, unknown>;
  beforeAll(async () => {
    before = await stateSnapshot(db());
  });

  it.each(REFERENCES.map((r) => [r.name, r] as const))(
    '%s: 404, as for an unknown id',
    async (_name, reference) => {
      const sender = w.a[reference.role];
      const target = reference.target(w);
      const sent = await sendAs(gateway, sender, reference.type, reference.body(w, sender, target));
      expect(sent.status).toBe(404);
      expect(sent.receipt.status).toBe('rejected');
      expect(sent.receipt.errors).toEqual([
        expect.objectContaining({ path: reference.pointer, code: 'NOT_FOUND' }),
      ]);
      const told = answer(sent.status, sent.receipt, target);
      for (const twin of reference.twins(w)) {
        const other = await sendAs(
          gateway,
          sender,
          reference.type,
          reference.body(w, sender, twin),
        );
        expect(answer(other.status, other.receipt, twin), `as for ${twin}`).toEqual(told);
      }
    },
  );

  it('a payment demand on B’s check is answered from its token alone', async () => {
    // The signed token says whom the check pays; the refusal tells A nothing the token does not.
    const check = w.checkOrdered;
    const sent = await sendAs(gateway, w.a.seller, 'PaymentDemand', {
      checkNumber: check.checkNumber,
      echeck: check.echeck,
      sellingOffice: w.a.seller.id,
      orderId: w.orderId,
      amount: check.amount,
    });
    expect(sent.status).toBe(422);
    expect(sent.receipt.errors).toEqual([
      {
        path: '/body/checkNumber',
        code: 'CHECK_PAYEE_MISMATCH',
        message: `check ${check.checkNumber as string} is made out to another selling office`,
      },
    ]);
  });

  it('the same documents in a batch: each one refused as not found', async () => {
    const sellerRefs = REFERENCES.filter((r) => r.role === 'seller');
    const documents = sellerRefs.map((r) =>
      JSON.stringify(exampleDocument(r.type, w.a.seller.id, r.body(w, w.a.seller, r.target(w)))),
    );
    const response = await gateway.app.request('/v1/batches', {
      method: 'POST',
      headers: {
        authorization: `Bearer ${w.a.seller.apiKey}`,
        'content-type': 'application/x-ndjson',
      },
      body: `${documents.join('\n')}\n`,
    });
    expect(response.status).toBe(200);
    const entries = readReceipts(await response.text(), 'ndjson');
    expect(entries.map((e) => [e.status, e.codes])).toEqual(
      sellerRefs.map(() => ['rejected', ['NOT_FOUND']]),
    );
  });

  it('left every object of B as it was (only the refusals were logged)', async () => {
    expect(await stateSnapshot(db())).toEqual(before);
  });

  it('B itself can use every one of those references', async () => {
    for (const reference of REFERENCES) {
      const owner = w.b[reference.role];
      const sent = await sendAs(
        gateway,
        owner,
        reference.type,
        reference.body(w, owner, reference.target(w)),
      );
      expect([sent.status, sent.receipt.errors], reference.name).toEqual([200, []]);
      if (reference.type === 'PaymentNotice') {
        const demand = await sendAs(gateway, w.b.seller, 'PaymentDemand', {
          checkNumber: w.checkOrdered.checkNumber,
          echeck: w.checkOrdered.echeck,
          sellingOffice: w.b.seller.id,
          orderId: w.orderId,
          amount: w.checkOrdered.amount,
        });
        expect([demand.status, demand.receipt.errors], 'PaymentDemand').toEqual([200, []]);
      }
    }
    const check = await db()
      .selectFrom('checks')
      .select('status')
      .where('check_number', '=', w.checkOrdered.checkNumber as string)
      .executeTakeFirstOrThrow();
    expect(check.status).toBe('paid');
  });

  it('an e-check against B’s deal is refused as for a deal that does not exist', async () => {
    const request = (dealId: string) => ({
      seller: w.b.seller.id,
      carrier: w.b.carrier.id,
      amount: { amount: '1800', currency: 'JPY' },
      lines: undefined,
      dealId,
      requestReference: undefined,
    });
    const refusalFor = async (dealId: string) => {
      const sent = await sendAs(gateway, w.a.buyer, 'ECheckRequest', request(dealId));
      expect(sent.status).toBe(200);
      const refusals = (await queuedFor(db(), w.a.buyer.id, 'ECheckRefusal')).filter(
        (d) => d.body.requestMessageId === sent.messageId,
      );
      expect(refusals).toHaveLength(1);
      const { requestMessageId: _id, ...body } = refusals[0]!.body;
      return { ...body, message: (body.message as string).replaceAll(dealId, '<id>') };
    };
    const checksBefore = await db().selectFrom('checks').select('check_number').execute();
    const told = await refusalFor(w.dealConfirmed);
    expect(told).toMatchObject({ reason: 'UNKNOWN_DEAL' });
    expect(await refusalFor(neighbourId(w.dealConfirmed))).toEqual(told);
    expect(await refusalFor(sequentialId(w.dealConfirmed))).toEqual(told);
    expect(await db().selectFrom('checks').select('check_number').execute()).toEqual(checksBefore);
    // B's buyer gets its check for the same deal.
    const own = await sendAs(gateway, w.b.buyer, 'ECheckRequest', request(w.dealConfirmed));
    expect(own.ids.checkNumber).toMatch(/^CHK-/);
  });
});

// --- receipts --------------------------------------------------------------------------------

describe('receipts', () => {
  it('A cannot read B’s receipts: 404, as for a messageId nobody sent', async () => {
    for (const role of ROLES) {
      const reader = w.a[role];
      for (const messageId of w.sentByB) {
        const response = await get(`/v1/documents/${messageId}/receipt`, reader.apiKey);
        expect(response.status, `${reader.id} reads ${messageId}`).toBe(404);
        const { error } = (await response.json()) as { error: { code: string; message: string } };
        const unknown = neighbourId(messageId);
        const other = await get(`/v1/documents/${unknown}/receipt`, reader.apiKey);
        const { error: otherError } = (await other.json()) as {
          error: { code: string; message: string };
        };
        expect(other.status).toBe(404);
        expect(error.message.replace(messageId, '<id>')).toBe(
          otherError.message.replace(unknown, '<id>'),
        );
        expect(error.code).toBe(otherError.code);
      }
    }
  });

  it('A sending under B’s messageId gets its own receipt; B’s stays B’s', async () => {
    const owner = w.b.seller;
    const taken = w.sentByB[0]!;
    const ownBefore = await receiptOf(
      await get(`/v1/documents/${taken}/receipt`, owner.apiKey, { accept: 'application/json' }),
    );
    const doc = exampleDocument('ItemNotice', w.a.seller.id, {
      sellerItemId: `SKU-A-${Date.now()}`,
      gtin: undefined,
      releaseDate: '2036-12-01',
    });
    doc.header.messageId = taken;
    const response = await postDocument(gateway.app, w.a.seller.apiKey, doc);
    expect(response.status).toBe(200);
    expect(response.headers.get('idempotent-replayed')).toBeNull();
    const receipt = await receiptOf(response);
    expect(receipt.messageId).toBe(taken);
    expect(receipt.receiptId).not.toBe(ownBefore.receiptId);
    const ownAfter = await receiptOf(
      await get(`/v1/documents/${taken}/receipt`, owner.apiKey, { accept: 'application/json' }),
    );
    expect(ownAfter).toEqual(ownBefore);
  });
});

// --- mailbox ---------------------------------------------------------------------------------

describe('mailbox', () => {
  interface Page {
    documents: { cursor: string; messageId: string }[];
    nextCursor: string;
  }

  async function pendingOf(partnerId: string) {
    return db()
      .selectFrom('outbox')
      .select(['id', 'message_id', 'status'])
      .where('recipient_id', '=', partnerId)
      .orderBy('id')
      .execute();
  }

  it('A reads only its own documents, from any cursor, guessed or B’s', async () => {
    const reader = w.a.buyer;
    const own = await enqueueNoAwards(db(), testOutboxDeps(), reader.id, 2);
    const ofB = await pendingOf(w.b.buyer.id);
    expect(ofB.length).toBeGreaterThan(2);
    const ownIds = (await pendingOf(reader.id)).map((r) => r.message_id);
    expect(ownIds).toEqual(expect.arrayContaining(own));
    const cursors = ['0', ...ofB.flatMap((r) => [String(BigInt(r.id) - 1n), String(r.id)])];
    for (const after of cursors) {
      const response = await get(`/v1/mailbox?after=${after}&limit=500`, reader.apiKey);
      expect(response.status).toBe(200);
      const page = (await response.json()) as Page;
      for (const doc of page.documents) expect(ownIds, `after=${after}`).toContain(doc.messageId);
    }
  });

  it('A acknowledging B’s documents, by id or by a cursor past them, touches none of them', async () => {
    const reader = w.a.buyer;
    const ofBBefore = await pendingOf(w.b.buyer.id);
    const idsOfB = ofBBefore.map((r) => r.message_id);
    const byId = await postJson('/v1/mailbox/ack', reader.apiKey, { messageIds: idsOfB });
    expect(byId.status).toBe(200);
    expect(await byId.json()).toEqual({ acknowledged: [], notFound: idsOfB });
    const unknown = idsOfB.map(neighbourId);
    expect(
      await (await postJson('/v1/mailbox/ack', reader.apiKey, { messageIds: unknown })).json(),
    ).toEqual({ acknowledged: [], notFound: unknown });

    const ownPending = (await pendingOf(reader.id)).filter((r) => r.status === 'pending');
    const highest = await sql<{ max: string }>`select max(id)::text as max from outbox`.execute(
      db(),
    );
    const upTo = await postJson('/v1/mailbox/ack', reader.apiKey, { upTo: highest.rows[0]!.max });
    expect(upTo.status).toBe(200);
    const acknowledged = ((await upTo.json()) as { acknowledged: string[] }).acknowledged;
    expect([...acknowledged].sort()).toEqual(ownPending.map((r) => r.message_id).sort());
    expect(await pendingOf(w.b.buyer.id)).toEqual(ofBBefore);
  });
});

// --- lists -----------------------------------------------------------------------------------

describe('lists', () => {
  interface ReservationsPage {
    reservations: { reservationId: string; myBid: { bidId: string } | null }[];
  }

  async function reservations(partner: RegisteredPartner, query = '') {
    const response = await get(`/v1/reservations?limit=500${query}`, partner.apiKey);
    expect(response.status).toBe(200);
    const text = await response.text();
    return { text, page: JSON.parse(text) as ReservationsPage };
  }

  it('open reservations: A sees those of items it carries, never B’s bid', async () => {
    const { text, page } = await reservations(w.a.seller);
    const seen = new Map(page.reservations.map((r) => [r.reservationId, r.myBid]));
    expect(seen.get(w.reservationShared)).toBeNull();
    expect(seen.get(w.reservationSharedUnbid)).toBeNull();
    expect(seen.has(w.reservationB)).toBe(false);
    expect(text).not.toContain(w.bidB);
    expect((await reservations(w.a.seller, `&itemId=${w.itemB}`)).page.reservations).toEqual([]);
    const paged = await reservations(w.a.seller, `&after=${sequentialId(w.reservationB)}`);
    expect(paged.text).not.toContain(w.reservationB);
    // B's seller sees its bid there (the list is per seller, not empty by accident).
    const ofB = await reservations(w.b.seller);
    const mine = ofB.page.reservations.find((r) => r.reservationId === w.reservationShared);
    expect(mine?.myBid?.bidId).toBe(w.bidB);
    expect(ofB.page.reservations.map((r) => r.reservationId)).toContain(w.reservationB);
  });

  it('the catalogue and /v1/me show A nothing of B’s private objects', async () => {
    for (const partner of [w.a.seller, w.a.buyer]) {
      const items = await get('/v1/items?limit=500', partner.apiKey);
      expect(items.status).toBe(200);
      const text = await items.text();
      expect(text).toContain(w.itemB); // the catalogue is public to buyers and sellers
      expectNoIdOfB(text, `${partner.id} /v1/items`);
    }
    for (const role of ROLES) {
      const me = await get('/v1/me', w.a[role].apiKey);
      expect(((await me.json()) as { id: string }).id).toBe(w.a[role].id);
    }
    // Organs have no catalogue and no reservations; buyers no reservations.
    expect((await get('/v1/items', w.a.carrier.apiKey)).status).toBe(403);
    expect((await get('/v1/reservations', w.a.buyer.apiKey)).status).toBe(403);
  });
});

// --- keys where they do not belong -----------------------------------------------------------

describe('partner keys outside the partner API', () => {
  const allPartners = () => [...ROLES.map((r) => w.a[r]), ...ROLES.map((r) => w.b[r])];

  it('every admin route refuses the key of every partner, of every role', async () => {
    const routes = registeredRoutes().filter((r) => r.path.startsWith('/admin/v1/'));
    expect(routes.length).toBeGreaterThan(30);
    const before = await stateSnapshot(db());
    for (const partner of allPartners()) {
      for (const route of routes) {
        const response = await gateway.app.request(concrete(route.path), {
          method: route.method,
          headers: {
            authorization: `Bearer ${partner.apiKey}`,
            'content-type': 'application/json',
          },
          body: route.method === 'GET' ? undefined : JSON.stringify({ all: true }),
        });
        expect([401, 403], `${partner.id} ${route.method} ${route.path}`).toContain(
          response.status,
        );
      }
    }
    expect(await stateSnapshot(db())).toEqual(before);
  });

  it('no console page opens with a partner key, as a bearer or as the login token', async () => {
    const routes = registeredRoutes().filter(
      (r) => r.path.startsWith('/console') && !CONSOLE_PUBLIC.includes(`${r.method} ${r.path}`),
    );
    expect(routes.length).toBeGreaterThan(8);
    const key = w.a.seller.apiKey;
    for (const route of routes) {
      const response = await gateway.app.request(concrete(route.path), {
        method: route.method,
        headers: { authorization: `Bearer ${key}`, cookie: `nakadachi_console=${key}` },
      });
      expect(response.status, `${route.method} ${route.path}`).toBe(303);
      expect(response.headers.get('location')).toMatch(/^\/console\/login/);
    }
    const login = await gateway.app.request('/console/login', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token: key }).toString(),
    });
    expect(login.status).toBe(401);
    expect(login.headers.get('set-cookie')).toBeNull();
  });

  it('a key in the query string, or in another header, is refused', async () => {
    const key = w.a.seller.apiKey;
    for (const name of ['apiKey', 'api_key', 'key', 'token', 'access_token', 'authorization']) {
      for (const value of [key, `Bearer ${key}`]) {
        const query = `${name}=${encodeURIComponent(value)}`;
        expect((await get(`/v1/me?${query}`, undefined)).status, query).toBe(401);
        const posted = await gateway.app.request(`/v1/documents?${query}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(exampleDocument('ItemNotice', w.a.seller.id)),
        });
        expect(posted.status, query).toBe(401);
        const admin = await get(`/admin/v1/partners?${name}=${AUDITOR_TOKEN}`, undefined);
        expect(admin.status, `admin ${name}`).toBe(401);
      }
    }
    for (const header of ['x-api-key', 'api-key', 'x-auth-token']) {
      expect((await get('/v1/me', undefined, { [header]: key })).status, header).toBe(401);
    }
    expect((await get('/v1/me', undefined, { authorization: key })).status).toBe(401);
    expect((await get('/v1/me', undefined, { authorization: `Basic ${key}` })).status).toBe(401);
  });
});
