/**
 * Two gateway processes (ROLE=all: both serve and both run the jobs) on one PostgreSQL schema,
 * under concurrent load split across both: reservations with five bids each closing together
 * and judged by the replicas' jobs, the same payment demands sent to both at once, scheduled item
 * and reservation feeds firing on cron in both, every outbound document pushed to the partners.
 * Afterwards: one award per reservation, the one the selection rule picks; each check paid once
 * and the ledger balanced; each outbound messageId delivered once; each reservation fed to each
 * seller once, and no version of an item fed twice to a buyer (its latest version always).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sql, type Kysely } from 'kysely';
import { afterAll, expect, it } from 'vitest';
import type { Database } from '../../gateway/db/tables.ts';
import {
  openSharedStore,
  spawnGateway,
  type ChildGateway,
  type SharedStore,
} from '../support/child-gateway.ts';
import { onPostgres } from '../support/database.ts';
import { eventually } from '../support/delivery.ts';
import { exampleDocument, type TestDocument } from '../support/documents.ts';
import { expectLedgerInvariants, orderBody } from '../support/echeck.ts';
import {
  call,
  childUrl,
  FAULTS_ADMIN_TOKEN,
  postBytes,
  registerOver,
  sendAccepted,
  type HttpAnswer,
} from '../support/faults-db-http.ts';
import type { RegisteredPartner } from '../support/gateway.ts';
import { queuedFor } from '../support/outbox.ts';
import { startReceiver, type Receiver } from '../support/receiver.ts';

const SELLERS = ['SELLER-1', 'SELLER-2', 'SELLER-3', 'SELLER-4', 'SELLER-5'];
const BUYERS = ['BUYER-1', 'BUYER-2'];
const CARRIER = 'CARRIER-1';
const ITEMS = 4;
const RESERVATIONS = 20;
const CHECKS = 10;
const CHECK_AMOUNT = 100n;
/** 2.5 % of 100, rounded down to the yen. */
const COMMISSION = 2n;
const FUNDING = 10_000n;
/** Requests in flight at once, across both replicas. */
const IN_FLIGHT = 12;
const NEEDED_BY = '2036-06-30';

if (!onPostgres) console.warn('two-replica test skipped: it needs TEST_DATABASE_URL (PostgreSQL)');

let store: SharedStore | undefined;
let dataDir: string | undefined;
const gateways: ChildGateway[] = [];
const receivers = new Map<string, Receiver>();

afterAll(async () => {
  for (const gateway of gateways) gateway.kill('SIGKILL');
  await Promise.all(gateways.map((g) => g.exited));
  await Promise.all([...receivers.values()].map((r) => r.close()));
  await store?.close();
  if (dataDir !== undefined) fs.rmSync(dataDir, { recursive: true, force: true });
});

/** Runs the tasks with at most `limit` in flight; their results in order. */
async function inParallel<T>(tasks: readonly (() => Promise<T>)[], limit = IN_FLIGHT) {
  const results: T[] = new Array<T>(tasks.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, tasks.length) }, async () => {
      while (next < tasks.length) {
        const i = next++;
        results[i] = await tasks[i]!();
      }
    }),
  );
  return results;
}

/**
 * Bid prices of reservation r, seller by seller: distinct, rotated per reservation. On every
 * other reservation the cheapest seller promises delivery after the needed-by date: ineligible,
 * so the award must go to the second cheapest.
 */
function bidsOf(r: number) {
  const bids = SELLERS.map((seller, k) => ({
    seller,
    price: 800 + ((k + r) % SELLERS.length) * 10,
    late: false,
  }));
  const cheapest = bids.reduce((a, b) => (b.price < a.price ? b : a));
  if (r % 2 === 1) cheapest.late = true;
  const winner = bids.filter((b) => !b.late).reduce((a, b) => (b.price < a.price ? b : a));
  return { bids, winner };
}

function decode(body: string): TestDocument {
  return JSON.parse(body) as TestDocument;
}

/** The documents of one type a partner's endpoint acknowledged, in arrival order. */
function received(partnerId: string, type: string): TestDocument[] {
  return receivers
    .get(partnerId)!
    .requests.filter((r) => r.status !== undefined && r.status < 300)
    .map((r) => decode(r.body))
    .filter((d) => d.header.type === type);
}

it.skipIf(!onPostgres)(
  'two replicas under concurrent load: one award each, each check paid once, each document and feed entry delivered once',
  { timeout: 170_000 },
  async () => {
    store = await openSharedStore();
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'nakadachi-replicas-'));
    // Every seller and buyer takes pushes (the carrier is sent nothing in these flows).
    for (const id of [...SELLERS, ...BUYERS]) receivers.set(id, await startReceiver());
    const env = {
      ...store.env,
      ROLE: 'all',
      ADMIN_TOKEN: FAULTS_ADMIN_TOKEN,
      ALLOW_INSECURE_ENDPOINTS: 'true',
      DB_POOL_SIZE: '8',
      COMMISSION_RATE_PERCENT: '2.5',
      DELIVERY_RETRY_BASE_MS: '200',
      // Generous: a push that timed out on a busy machine would be sent again (at least once).
      DELIVERY_TIMEOUT_MS: '20000',
      DELIVERY_LEASE_MS: '60000',
      SHUTDOWN_TIMEOUT_MS: '3000',
    };
    gateways.push(
      ...(await Promise.all(
        ['a', 'b'].map((name) =>
          spawnGateway({ ...env, DATA_DIR: path.join(dataDir!, name) }, 60_000),
        ),
      )),
    );
    const urls = gateways.map(childUrl);
    /** Replica i % 2: the load alternates between the two. */
    const at = (i: number) => urls[i % 2]!;
    const db = <T>(fn: (db: Kysely<Database>) => Promise<T>) => store!.use(fn);

    // --- partners, feeds, money -----------------------------------------------------------
    const p: Record<string, RegisteredPartner> = {};
    const parties = [
      ...SELLERS.map((id) => [id, 'seller'] as const),
      ...BUYERS.map((id) => [id, 'buyer'] as const),
      [CARRIER, 'carrier'] as const,
    ];
    for (const [i, [id, role]] of parties.entries()) {
      const rx = receivers.get(id);
      p[id] = await registerOver(at(i), {
        id,
        roles: [role],
        format: 'json',
        ...(rx === undefined ? {} : { deliveryMode: 'push', endpointUrl: rx.url }),
      });
    }
    const admin = async (i: number, method: string, route: string, body: unknown) => {
      const answer = await call(at(i), method, route, {
        token: FAULTS_ADMIN_TOKEN,
        body: JSON.stringify(body),
      });
      expect(answer.status, `${method} ${route}: ${answer.text}`).toBeLessThan(300);
    };
    const everyMinute = { mode: 'scheduled', schedule: '* * * * *' };
    for (const [i, id] of BUYERS.entries()) {
      await admin(i, 'PUT', `/admin/v1/partners/${id}/feeds/items`, everyMinute);
      await admin(i, 'POST', `/admin/v1/accounts/${id}/fundings`, {
        amount: String(FUNDING),
        currency: 'JPY',
      });
    }
    for (const [i, id] of SELLERS.entries()) {
      await admin(i, 'PUT', `/admin/v1/partners/${id}/feeds/reservations`, everyMinute);
    }

    // --- the catalogue: every seller carries every item; one more item for the checks --------
    const send = (i: number, from: string, type: string, body: Record<string, unknown>) =>
      sendAccepted(at(i), p[from]!, exampleDocument(type, from, body));
    const itemIds = await inParallel(
      Array.from({ length: ITEMS }, (_, k) => async () => {
        const notice = { gtin: undefined, releaseDate: '2036-12-01' };
        const { itemId } = await send(k, SELLERS[0]!, 'ItemNotice', {
          ...notice,
          sellerItemId: `TRADE-${k}`,
        });
        await Promise.all(
          SELLERS.slice(1).map((seller, s) =>
            send(k + s + 1, seller, 'ItemNotice', {
              ...notice,
              itemId,
              sellerItemId: `TRADE-${k}-${seller}`,
            }),
          ),
        );
        return itemId!;
      }),
    );
    const { itemId: checkItem } = await send(0, SELLERS[0]!, 'ItemNotice', {
      sellerItemId: 'CHECKED',
      gtin: undefined,
      releaseDate: '2036-12-01',
      listPrice: { amount: String(CHECK_AMOUNT), currency: 'JPY' },
    });

    // --- reservations, five bids each, on both replicas at once -----------------------------
    const reservationIds = await inParallel(
      Array.from({ length: RESERVATIONS }, (_, r) => async () => {
        const { reservationId } = await send(r, BUYERS[r % BUYERS.length]!, 'PurchaseReservation', {
          itemId: itemIds[r % ITEMS],
          quantity: 10,
          maxUnitPrice: { amount: '1000', currency: 'JPY' },
          neededBy: NEEDED_BY,
          biddingDeadline: new Date(Date.now() + 3_600_000).toISOString(),
        });
        return reservationId!;
      }),
    );
    await inParallel(
      reservationIds.flatMap((reservationId, r) =>
        bidsOf(r).bids.map(
          (bid, k) => () =>
            send(r + k, bid.seller, 'OrderBid', {
              reservationId,
              action: 'submit',
              unitPrice: { amount: String(bid.price), currency: 'JPY' },
              quantity: 10,
              promisedDeliveryDate: bid.late ? '2036-07-15' : '2036-06-01',
              note: undefined,
            }),
        ),
      ),
    );

    // --- e-checks: issued, presented with an order, shipped; then demanded ------------------
    const seller = SELLERS[0]!;
    const demands = await inParallel(
      Array.from({ length: CHECKS }, (_, c) => async () => {
        const buyer = BUYERS[c % BUYERS.length]!;
        const { checkNumber } = await send(c, buyer, 'ECheckRequest', {
          seller,
          carrier: CARRIER,
          amount: { amount: String(CHECK_AMOUNT), currency: 'JPY' },
          lines: [{ itemId: checkItem, quantity: 1 }],
        });
        expect(checkNumber, `check ${c} refused`).toBeDefined();
        const echeck = await db(async (d) =>
          (await queuedFor(d, buyer, 'ECheck')).find((e) => e.body.checkNumber === checkNumber),
        );
        const lines = [
          {
            itemId: checkItem!,
            quantity: 1,
            unitPrice: { amount: String(CHECK_AMOUNT), currency: 'JPY' },
          },
        ];
        const { orderId } = await send(
          c + 1,
          buyer,
          'CommodityOrder',
          orderBody(echeck!.body, lines),
        );
        await send(c, seller, 'DistributionNotice', {
          orderId,
          carrier: CARRIER,
          expectedShipDate: '2036-04-16',
        });
        return {
          buyer,
          checkNumber: checkNumber!,
          body: {
            checkNumber,
            echeck: echeck!.body.echeck,
            sellingOffice: seller,
            orderId,
            amount: echeck!.body.amount,
          },
        };
      }),
    );
    // Per check two demands (two messageIds), each sent to both replicas at the same moment.
    const outcomes = await Promise.all(
      demands.map(async (demand) => {
        const copies = [1, 2].map(() =>
          JSON.stringify(exampleDocument('PaymentDemand', seller, demand.body)),
        );
        const answers = await Promise.all(
          copies.flatMap((bytes) => urls.map((url) => postBytes(url, p[seller]!, bytes))),
        );
        return { demand, answers };
      }),
    );
    const describeAnswer = (a: HttpAnswer) =>
      a.status === 200
        ? a.headers.get('idempotent-replayed') === 'true'
          ? 'replayed'
          : 'accepted'
        : `${a.status} ${a.json?.body?.errors?.[0]?.code ?? a.text}`;
    for (const { answers } of outcomes) {
      // One demand pays; its twin on the other replica replays that receipt; the other
      // messageId is refused on both replicas: the check is already demanded.
      expect(answers.map(describeAnswer).sort()).toEqual([
        '422 PAYMENT_ALREADY_DEMANDED',
        '422 PAYMENT_ALREADY_DEMANDED',
        'accepted',
        'replayed',
      ]);
    }

    // --- the reservation feed fires on cron (in one replica per tick) -----------------------
    await eventually(
      () =>
        SELLERS.every(
          (s) =>
            new Set(
              received(s, 'ReservationFeed').flatMap((d) =>
                (d.body.reservations as { reservationId: string }[]).map((e) => e.reservationId),
              ),
            ).size === RESERVATIONS,
        ),
      'every reservation fed to every seller (next minute)',
      80_000,
      250,
    );

    // --- bidding closes for all at once; the replicas' judges award -------------------------
    await db((d) =>
      sql`update reservations set bidding_deadline = now() where id in (${sql.join(
        reservationIds,
      )})`.execute(d),
    );
    const deals = await eventually(
      async () => {
        const rows = await db((d) =>
          d
            .selectFrom('deals')
            .select(['reservation_id', 'seller_id', 'unit_price_minor', 'buyer_id'])
            .where('reservation_id', 'in', reservationIds)
            .execute(),
        );
        const open = await db((d) =>
          d
            .selectFrom('reservations')
            .select('id')
            .where('id', 'in', reservationIds)
            .where('status', '=', 'open')
            .execute(),
        );
        return open.length === 0 ? rows : undefined;
      },
      'every reservation judged',
      45_000,
      250,
    );

    // --- everything queued is delivered ---------------------------------------------------
    const expectedOffers = new Map<string, string[]>([
      ...itemIds.map((id) => [id, [...SELLERS].sort()] as [string, string[]]),
      [checkItem!, [seller]],
    ]);
    await eventually(
      () =>
        BUYERS.every((buyer) => {
          // Offers only grow here: the final version of an item lists every seller that carries it.
          const versions = new Set<string>();
          for (const doc of received(buyer, 'ItemFeed')) {
            for (const item of doc.body.items as { itemId: string; offers: { seller: string }[] }[])
              versions.add(JSON.stringify([item.itemId, item.offers.map((o) => o.seller).sort()]));
          }
          return [...expectedOffers].every(([id, sellers]) =>
            versions.has(JSON.stringify([id, sellers])),
          );
        }),
      'the final version of every item fed to every buyer',
      80_000,
      250,
    );
    const outbox = await eventually(
      async () => {
        const rows = await db((d) =>
          d.selectFrom('outbox').select(['message_id', 'recipient_id', 'status']).execute(),
        );
        if (rows.some((r) => r.status !== 'delivered')) return undefined;
        const settled = [...receivers].every(
          ([id, rx]) =>
            rx.acknowledgedIds().size === rows.filter((r) => r.recipient_id === id).length,
        );
        return settled ? rows : undefined;
      },
      'every outbound document delivered',
      60_000,
      250,
    );

    // --- awards: one per reservation, the most suitable eligible bid ------------------------
    expect(deals).toHaveLength(RESERVATIONS);
    for (const [r, reservationId] of reservationIds.entries()) {
      const { winner } = bidsOf(r);
      expect(deals.filter((d) => d.reservation_id === reservationId)).toEqual([
        {
          reservation_id: reservationId,
          seller_id: winner.seller,
          unit_price_minor: BigInt(winner.price),
          buyer_id: BUYERS[r % BUYERS.length],
        },
      ]);
      const buyer = BUYERS[r % BUYERS.length]!;
      const awards = received(buyer, 'Award').filter((d) => d.body.reservationId === reservationId);
      expect(awards.map((d) => d.body.seller)).toEqual([winner.seller]);
      for (const s of SELLERS) {
        const about = (type: string) =>
          received(s, type).filter((d) => d.body.reservationId === reservationId);
        expect(about('IntermediaryTerms')).toHaveLength(s === winner.seller ? 1 : 0);
        expect(about('BidResult')).toHaveLength(s === winner.seller ? 0 : 1);
      }
    }

    // --- payments: each check paid once, the ledger balanced --------------------------------
    const paid = await db((d) =>
      d
        .selectFrom('checks')
        .select(['check_number', 'status'])
        .where(
          'check_number',
          'in',
          demands.map((x) => x.checkNumber),
        )
        .execute(),
    );
    expect(paid.map((c) => c.status)).toEqual(Array(CHECKS).fill('paid'));
    await db((d) => expectLedgerInvariants(d));
    const balances = await db((d) =>
      d
        .selectFrom('accounts')
        .select(['partner_id', 'kind', 'balance_minor', 'held_minor'])
        .where('currency', '=', 'JPY')
        .execute(),
    );
    const balanceOf = (partnerId: string) =>
      balances.find((b) => b.partner_id === partnerId && b.kind === 'partner');
    for (const buyer of BUYERS) {
      const checks = BigInt(demands.filter((x) => x.buyer === buyer).length);
      expect(balanceOf(buyer)).toMatchObject({
        balance_minor: FUNDING - checks * CHECK_AMOUNT,
        held_minor: 0n,
      });
    }
    expect(balanceOf(seller)?.balance_minor).toBe(BigInt(CHECKS) * (CHECK_AMOUNT - COMMISSION));
    for (const buyer of BUYERS) {
      const advices = received(seller, 'PaymentAdvice');
      for (const demand of demands.filter((x) => x.buyer === buyer)) {
        expect(advices.filter((d) => d.body.checkNumber === demand.checkNumber)).toHaveLength(1);
      }
    }

    // --- deliveries: every queued messageId acknowledged once, none unknown ----------------
    for (const [id, rx] of receivers) {
      const queued = new Set(outbox.filter((r) => r.recipient_id === id).map((r) => r.message_id));
      expect(queued.size, id).toBeGreaterThan(0);
      expect(rx.acknowledgedIds()).toEqual(queued);
      expect(
        [...rx.acknowledgedCounts().values()].every((n) => n === 1),
        id,
      ).toBe(true);
      expect(rx.requests, id).toHaveLength(queued.size);
    }

    // --- feeds: each reservation to each seller once; no item version twice to a buyer ------
    for (const s of SELLERS) {
      const fed = received(s, 'ReservationFeed').flatMap((d) =>
        (d.body.reservations as { reservationId: string }[]).map((e) => e.reservationId),
      );
      expect(fed.sort()).toEqual([...reservationIds].sort());
    }
    for (const buyer of BUYERS) {
      const versions = received(buyer, 'ItemFeed').flatMap((d) =>
        (d.body.items as object[]).map((item) => JSON.stringify(item)),
      );
      expect(versions.length).toBeGreaterThanOrEqual(expectedOffers.size);
      expect(new Set(versions).size).toBe(versions.length);
    }

    // Both processes took part in the work of the jobs.
    const deliveredBy = await db((d) =>
      d
        .selectFrom('message_log')
        .select((eb) =>
          eb.fn<string>('jsonb_extract_path_text', ['detail', eb.val('instance')]).as('instance'),
        )
        .where('event', '=', 'delivery-attempt')
        .distinct()
        .execute(),
    );
    console.log(
      `two replicas: ${outbox.length} documents delivered by ${deliveredBy.length} processes`,
    );

    for (const gateway of gateways) gateway.kill('SIGTERM');
    expect(await Promise.all(gateways.map((g) => g.exited))).toEqual([0, 0]);
    gateways.length = 0;
  },
);
