/**
 * Group commit: documents arriving together share a transaction, yet each one is answered as if
 * alone — a refusal, a duplicate or a failure in the batch costs nobody else their document, and
 * nothing is acknowledged before its commit.
 */
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DatabaseHandle } from '../../gateway/db/database.ts';
import {
  ClaimLost,
  createGroupCommitter,
  type Committer,
  type GatheredWrite,
  type MakeClaims,
} from '../../gateway/core/pipeline/group-commit.ts';
import { openTestDatabase } from '../support/database.ts';
import { queuedFor } from '../support/outbox.ts';
import { registerPartner, startTestGateway, type TestGateway } from '../support/gateway.ts';

describe('the group committer', () => {
  let database: DatabaseHandle;
  let commit: Committer<string>;
  /** The claims made by each call of the claim step. */
  const claimCalls: string[][] = [];

  // A unit's claim is a name in gc_claims: taken once only, like a messageId.
  const claim: MakeClaims<string> = async (trx, names) => {
    claimCalls.push([...names]);
    const { rows } = await sql<{ name: string }>`
      insert into gc_claims (name) select unnest(${names}::text[])
      on conflict do nothing returning name`.execute(trx);
    const won = new Set(rows.map((row) => row.name));
    // A name twice in one call: only its first is won.
    return names.map((name, i) => won.has(name) && names.indexOf(name) === i);
  };

  beforeAll(async () => {
    database = await openTestDatabase();
    await sql`create table gc_rows (name text primary key, txid xid8 not null default pg_current_xact_id())`.execute(
      database.db,
    );
    await sql`create table gc_claims (name text primary key)`.execute(database.db);
    commit = createGroupCommitter(database.db, { lanes: 1, maxBatch: 16, claim });
  });
  afterAll(() => database.close());

  const insert = (name: string, claimed = name) =>
    commit(async (trx) => {
      await sql`insert into gc_rows (name) values (${name})`.execute(trx);
      return { claim: claimed, value: name };
    });

  async function names(like: string): Promise<string[]> {
    const { rows } = await sql<{ name: string }>`
      select name from gc_rows where name like ${like} order by name`.execute(database.db);
    return rows.map((row) => row.name);
  }

  async function transactionsOf(like: string): Promise<number> {
    const { rows } = await sql<{ txids: string }>`
      select count(distinct txid)::text as txids from gc_rows where name like ${like}`.execute(
      database.db,
    );
    return Number(rows[0]?.txids);
  }

  it('commits the units of one turn of the event loop in one transaction, claims made together, and answers each', async () => {
    const burst = Array.from({ length: 12 }, (_, i) => `together-${i}`);
    claimCalls.length = 0;
    expect(await Promise.all(burst.map((name) => insert(name)))).toEqual(burst);
    expect(await transactionsOf('together-%')).toBe(1);
    // One claim step for the transaction, holding its units' claims in order.
    expect(claimCalls).toEqual([burst]);
  });

  it('takes the units that arrive while a transaction runs together in the next, up to maxBatch', async () => {
    claimCalls.length = 0;
    let releaseFirst!: () => void;
    const firstHolds = new Promise<void>((resolve) => (releaseFirst = resolve));
    const first = commit(async (trx) => {
      await sql`insert into gc_rows (name) values ('waiting-first')`.execute(trx);
      await firstHolds;
      return { claim: 'waiting-first', value: 'waiting-first' };
    });
    // The first transaction is running (one lane): these 20 arrive over later turns, and wait.
    await new Promise((resolve) => setImmediate(resolve));
    const later: Promise<string>[] = [];
    for (let i = 0; i < 20; i++) {
      later.push(insert(`waiting-${String(i).padStart(2, '0')}`));
      await new Promise((resolve) => setImmediate(resolve));
    }
    releaseFirst();
    await Promise.all([first, ...later]);
    const waited = Array.from({ length: 20 }, (_, i) => `waiting-${String(i).padStart(2, '0')}`);
    expect(claimCalls).toEqual([['waiting-first'], waited.slice(0, 16), waited.slice(16)]);
    expect(await transactionsOf('waiting-%')).toBe(3);
  });

  it('a unit that throws takes only itself down: the others are committed', async () => {
    const outcomes = await Promise.allSettled([
      insert('survivor-1'),
      insert('survivor-2'),
      commit(async (trx) => {
        await sql`insert into gc_rows (name) values ('doomed')`.execute(trx);
        throw new Error('refused');
      }),
      insert('survivor-3'),
      insert('survivor-1'), // a duplicate key: fails alone, on its own
    ]);
    expect(outcomes.map((o) => o.status)).toEqual([
      'fulfilled',
      'fulfilled',
      'rejected',
      'fulfilled',
      'rejected',
    ]);
    expect((outcomes[2] as PromiseRejectedResult).reason).toHaveProperty('message', 'refused');
    expect(await names('survivor-%')).toEqual(['survivor-1', 'survivor-2', 'survivor-3']);
    expect(await names('doomed')).toEqual([]);
  });

  it('after one unit fails, runs it alone between the units before and after it, each again one batch', async () => {
    claimCalls.length = 0;
    const burst = Array.from({ length: 10 }, (_, i) => `split-${i}`);
    const outcomes = await Promise.allSettled(
      burst.map((name, i) =>
        i === 3
          ? commit(async (trx) => {
              await sql`insert into gc_rows (name) values (${name})`.execute(trx);
              throw new Error('refused');
            })
          : i === 7
            ? insert(name, 'split-1') // a claim that an earlier unit of the burst wins
            : insert(name),
      ),
    );
    expect(outcomes.map((o) => o.status)).toEqual(
      burst.map((_, i) => (i === 3 || i === 7 ? 'rejected' : 'fulfilled')),
    );
    expect((outcomes[3] as PromiseRejectedResult).reason).toHaveProperty('message', 'refused');
    expect((outcomes[7] as PromiseRejectedResult).reason).toBeInstanceOf(ClaimLost);
    // The burst fails at split-3, before any claim: split-0..2 go together, split-3 alone (it
    // fails again, before its claim), split-4..9 together — where split-7 loses its claim, so
    // split-4..6 go together, split-7 alone, split-8..9 together.
    const after = [...burst.slice(4, 7), 'split-1', ...burst.slice(8)];
    expect(claimCalls).toEqual([
      burst.slice(0, 3),
      after,
      burst.slice(4, 7),
      ['split-1'],
      burst.slice(8),
    ]);
    expect(await names('split-%')).toEqual([
      ...burst.slice(0, 3),
      ...burst.slice(4, 7),
      ...burst.slice(8),
    ]);
    expect(await transactionsOf('split-%')).toBe(3);
  });

  it('a unit whose claim is lost is rolled back alone, with ClaimLost; the others are committed', async () => {
    await insert('first-holder', 'held');
    const outcomes = await Promise.allSettled([
      insert('claims-1'),
      insert('second-holder', 'held'), // claimed by an earlier transaction
      insert('claims-2'),
      insert('twice-a', 'twice'),
      insert('twice-b', 'twice'), // claimed by an earlier unit of the same burst
    ]);
    expect(outcomes.map((o) => o.status)).toEqual([
      'fulfilled',
      'rejected',
      'fulfilled',
      'fulfilled',
      'rejected',
    ]);
    expect((outcomes[1] as PromiseRejectedResult).reason).toBeInstanceOf(ClaimLost);
    expect((outcomes[4] as PromiseRejectedResult).reason).toBeInstanceOf(ClaimLost);
    expect(await names('%-holder')).toEqual(['first-holder']);
    expect(await names('claims-%')).toEqual(['claims-1', 'claims-2']);
    expect(await names('twice-%')).toEqual(['twice-a']);
  });

  it('makes gathered writes once per batch, in the order gathered, after the units and before the claims', async () => {
    const steps: string[] = [];
    const claimStep: MakeClaims<string> = async (trx, names) => {
      steps.push(`claims ${names.join(',')}`);
      return claim(trx, names);
    };
    const writeRows: GatheredWrite<string> = async (trx, items) => {
      steps.push(`rows ${items.join(',')}`);
      await sql`insert into gc_rows (name) select unnest(${items}::text[])`.execute(trx);
      return true;
    };
    const note: GatheredWrite<string> = (_trx, items) => {
      steps.push(`notes ${items.join(',')}`);
      return Promise.resolve(true);
    };
    const gathering = createGroupCommitter(database.db, {
      lanes: 1,
      maxBatch: 16,
      claim: claimStep,
    });
    const units = ['g-1', 'g-2', 'g-3'];
    const gathered = await Promise.all(
      units.map((name) =>
        gathering((_trx, gather) => {
          steps.push(`unit ${name}`);
          gather?.(writeRows, name);
          gather?.(note, name.toUpperCase());
          return Promise.resolve({ claim: name, value: gather !== undefined });
        }),
      ),
    );
    expect(gathered).toEqual([true, true, true]);
    expect(steps).toEqual([
      'unit g-1',
      'unit g-2',
      'unit g-3',
      'rows g-1,g-2,g-3',
      'notes G-1,G-2,G-3',
      'claims g-1,g-2,g-3',
    ]);
    expect(await names('g-%')).toEqual(units);
    expect(await transactionsOf('g-%')).toBe(1);
  });

  it('runs the batch again in halves while a gathered write refuses, down to units alone, which do not gather', async () => {
    const seen: { name: string; gathering: boolean }[] = [];
    const refuse: GatheredWrite<string> = async (trx, items) => {
      // Writes, then refuses: what it wrote must go with the rolled-back batch.
      await sql`insert into gc_rows (name) select unnest(${items}::text[]) || '-gathered'`.execute(
        trx,
      );
      return false;
    };
    const units = ['refused-1', 'refused-2', 'refused-3'];
    await Promise.all(
      units.map((name) =>
        commit(async (trx, gather) => {
          seen.push({ name, gathering: gather !== undefined });
          if (gather !== undefined) gather(refuse, name);
          else await sql`insert into gc_rows (name) values (${name})`.execute(trx);
          return { claim: name, value: name };
        }),
      ),
    );
    // refused-1..3 together, refused; refused-1..2 together, refused; each alone.
    expect(seen).toEqual([
      ...units.map((name) => ({ name, gathering: true })),
      ...units.slice(0, 2).map((name) => ({ name, gathering: true })),
      ...units.map((name) => ({ name, gathering: false })),
    ]);
    expect(await names('refused-%')).toEqual(units);
    expect(await transactionsOf('refused-%')).toBe(3);
  });

  it('runs every unit again alone when the batch fails as a whole, not in any unit', async () => {
    const calls: string[][] = [];
    // The claims statement of a shared transaction fails (as a deadlock or a lost connection
    // would): no unit is to blame.
    const failsShared: MakeClaims<string> = async (trx, names) => {
      calls.push([...names]);
      if (names.length > 1) throw new Error('the connection was lost');
      return claim(trx, names);
    };
    const committer = createGroupCommitter(database.db, {
      lanes: 1,
      maxBatch: 16,
      claim: failsShared,
    });
    const units = ['whole-1', 'whole-2', 'whole-3', 'whole-4'];
    const inserted = await Promise.all(
      units.map((name) =>
        committer(async (trx) => {
          await sql`insert into gc_rows (name) values (${name})`.execute(trx);
          return { claim: name, value: name };
        }),
      ),
    );
    expect(inserted).toEqual(units);
    expect(calls).toEqual([units, ...units.map((name) => [name])]);
    expect(await transactionsOf('whole-%')).toBe(4);
  });

  it('gives a unit that runs alone nothing to gather with', async () => {
    expect(
      await commit((_trx, gather) => Promise.resolve({ claim: 'lonely', value: gather })),
    ).toBe(undefined);
  });

  it('runs a unit alone again when it is a deadlock victim, up to three times', async () => {
    const victim = () => Object.assign(new Error('deadlock detected'), { code: '40P01' });
    let runs = 0;
    const recovered = await commit(async (trx) => {
      runs += 1;
      await sql`insert into gc_rows (name) values ('victim-recovered')`.execute(trx);
      if (runs < 3) throw victim(); // rolled back, with its row
      return { claim: 'victim-recovered', value: runs };
    });
    expect(recovered).toBe(3);
    expect(await names('victim-%')).toEqual(['victim-recovered']);

    let hopeless = 0;
    const failed = commit((_trx) => {
      hopeless += 1;
      return Promise.reject(victim());
    });
    await expect(failed).rejects.toThrow('deadlock detected');
    expect(hopeless).toBe(3);

    let refused = 0;
    const notRetried = commit((_trx) => {
      refused += 1;
      return Promise.reject(new Error('a refusal is not retried'));
    });
    await expect(notRetried).rejects.toThrow('a refusal is not retried');
    expect(refused).toBe(1);
  });

  it('maxBatch 1 gives every unit a transaction of its own', async () => {
    const alone = createGroupCommitter(database.db, { lanes: 1, maxBatch: 1, claim });
    await Promise.all(
      [1, 2, 3, 4].map((i) =>
        alone(async (trx) => {
          await sql`insert into gc_rows (name) values (${`alone-${i}`})`.execute(trx);
          return { claim: `alone-${i}`, value: i };
        }),
      ),
    );
    expect(await transactionsOf('alone-%')).toBe(4);
  });
});

describe('group commit in the pipeline', () => {
  let gateway: TestGateway;
  let seller: { id: string; apiKey: string };
  let buyer: { id: string; apiKey: string };
  let itemId: string;

  beforeAll(async () => {
    // One commit lane: a burst must queue behind its first document.
    gateway = await startTestGateway({
      RATE_LIMIT_PER_SECOND: '0',
      DB_POOL_SIZE: '2',
      GROUP_COMMIT_LANES: '1',
    });
    seller = await registerPartner(gateway, { id: 'GC-SELLER', roles: ['seller'] });
    buyer = await registerPartner(gateway, { id: 'GC-BUYER', roles: ['buyer'] });
    const notice = await post(seller.apiKey, {
      header: { messageId: 'GC-ITEM', type: 'ItemNotice', sender: seller.id, sentAt: now() },
      body: {
        sellerItemId: 'GC-1',
        name: 'Group commit gadget',
        category: 'test/gadgets',
        releaseDate: '2036-12-01',
        listPrice: { amount: '1000', currency: 'JPY' },
        quantityAvailable: 10,
      },
    });
    itemId = assigned(notice.body, 'itemId');
  });
  afterAll(() => gateway.close());

  const now = () => new Date().toISOString();

  async function post(apiKey: string, document: unknown) {
    const response = await gateway.app.request('/v1/documents', {
      method: 'POST',
      headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify(document),
    });
    return {
      status: response.status,
      replayed: response.headers.get('idempotent-replayed') === 'true',
      body: (await response.json()) as {
        body?: { status?: string; assigned?: { name: string; value: string }[] };
      },
    };
  }

  function assigned(
    body: { body?: { assigned?: { name: string; value: string }[] } },
    name: string,
  ) {
    const value = body.body?.assigned?.find((a) => a.name === name)?.value;
    if (value === undefined) throw new Error(`no ${name} in ${JSON.stringify(body)}`);
    return value;
  }

  const reservation = (messageId: string, deadline: string) => ({
    header: { messageId, type: 'PurchaseReservation', sender: buyer.id, sentAt: now() },
    body: {
      itemId,
      quantity: 1,
      maxUnitPrice: { amount: '900', currency: 'JPY' },
      neededBy: '2036-06-30',
      biddingDeadline: deadline,
    },
  });

  it('answers each of a burst on its own: accepted, refused, replayed', async () => {
    const future = new Date(Date.now() + 86_400_000).toISOString();
    const past = new Date(Date.now() - 86_400_000).toISOString();
    const r1 = reservation('GC-R1', future);
    const burst = [
      r1,
      reservation('GC-R2', future),
      reservation('GC-LATE', past), // refused by the handler, inside the batch
      reservation('GC-R3', future),
      r1, // the same document twice in the same burst
      reservation('GC-R4', future),
    ];
    const answers = await Promise.all(burst.map((d) => post(buyer.apiKey, d)));
    expect(answers.map((a) => a.status)).toEqual([200, 200, 422, 200, 200, 200]);
    expect(answers[2]?.body.body?.status).toBe('rejected');
    // One of the two GC-R1 answers is the original, the other its replay, with the same ids.
    expect([answers[0]?.replayed, answers[4]?.replayed].sort()).toEqual([false, true]);
    expect(assigned(answers[4]!.body, 'reservationId')).toBe(
      assigned(answers[0]!.body, 'reservationId'),
    );
    const rows = await gateway.database.db
      .selectFrom('reservations')
      .select('id')
      .where('buyer_id', '=', buyer.id)
      .execute();
    expect(rows).toHaveLength(4); // R1 once, R2, R3, R4; never the late one
    const logged = await gateway.database.db
      .selectFrom('message_log')
      .select(['message_id', 'status', sql<string>`txid::text`.as('txid')])
      .where('partner_id', '=', buyer.id)
      .where('direction', '=', 'inbound')
      .where('message_id', 'like', 'GC-%')
      .orderBy('message_id')
      .execute();
    expect(logged.map(({ message_id, status }) => ({ message_id, status }))).toEqual([
      { message_id: 'GC-LATE', status: 'rejected' },
      { message_id: 'GC-R1', status: 'accepted' },
      { message_id: 'GC-R2', status: 'accepted' },
      { message_id: 'GC-R3', status: 'accepted' },
      { message_id: 'GC-R4', status: 'accepted' },
    ]);
  });

  it('stores the reservations of a burst as sent, and tells immediate subscribers of each', async () => {
    const subscribed = await gateway.admin(
      'PUT',
      `/admin/v1/partners/${seller.id}/feeds/reservations`,
      {
        mode: 'immediate',
      },
    );
    expect(subscribed.status).toBe(200);
    const deadline = new Date(Date.now() + 86_400_000);
    const burst = Array.from({ length: 6 }, (_, i) => {
      const document = reservation(`GC-FIELDS-${i}`, deadline.toISOString());
      Object.assign(document.body, {
        quantity: i + 1,
        maxUnitPrice: { amount: String(800 + i), currency: 'JPY' },
        ...(i % 2 === 0 ? { deliveryRegion: 'JP-13', buyerReference: `PO-${i}` } : {}),
      });
      return document;
    });
    const answers = await Promise.all(burst.map((d) => post(buyer.apiKey, d)));
    expect(answers.map((a) => a.status)).toEqual(burst.map(() => 200));
    const ids = answers.map((a) => assigned(a.body, 'reservationId'));
    const rows = await gateway.database.db
      .selectFrom('reservations')
      .select([
        'id',
        'buyer_id',
        'item_id',
        'quantity',
        'max_unit_price_minor',
        'currency',
        'needed_by',
        'bidding_deadline',
        'delivery_region',
        'buyer_reference',
        'status',
      ])
      .where('id', 'in', ids)
      .execute();
    expect(ids.map((id) => rows.find((row) => row.id === id))).toEqual(
      ids.map((id, i) => ({
        id,
        buyer_id: buyer.id,
        item_id: itemId,
        quantity: i + 1,
        max_unit_price_minor: BigInt(800 + i),
        currency: 'JPY',
        needed_by: '2036-06-30',
        bidding_deadline: deadline,
        delivery_region: i % 2 === 0 ? 'JP-13' : null,
        buyer_reference: i % 2 === 0 ? `PO-${i}` : null,
        status: 'open',
      })),
    );
    // Inserted together: fewer transactions than reservations (a refused gathered write would
    // have sent each to a transaction of its own).
    const { rows: transactions } = await sql<{ txids: string }>`
      select count(distinct txid)::text as txids from message_log
      where message_id like 'GC-FIELDS-%'`.execute(gateway.database.db);
    expect(Number(transactions[0]?.txids)).toBeLessThan(burst.length);
    const told = (await queuedFor(gateway.database.db, seller.id, 'ReservationFeed')).flatMap((d) =>
      (d.body.reservations as { reservationId: string }[]).map((r) => r.reservationId),
    );
    for (const id of ids) expect(told).toContain(id);
  });

  it('saves the bids of a burst, each receipt naming its bid as stored, a revision its next version', async () => {
    const future = new Date(Date.now() + 86_400_000).toISOString();
    const open = await post(buyer.apiKey, reservation('GC-BIDS-R1', future));
    const tight = await post(buyer.apiKey, reservation('GC-BIDS-R2', future));
    const r1 = assigned(open.body, 'reservationId');
    const r2 = assigned(tight.body, 'reservationId');
    const bidders: { id: string; apiKey: string }[] = [];
    for (const n of [1, 2, 3]) {
      const bidder = await registerPartner(gateway, { id: `GC-BIDDER-${n}`, roles: ['seller'] });
      const carried = await post(bidder.apiKey, {
        header: {
          messageId: `GC-CARRY-${n}`,
          type: 'ItemNotice',
          sender: bidder.id,
          sentAt: now(),
        },
        body: {
          itemId,
          sellerItemId: `GC-CARRY-${n}`,
          name: 'Group commit gadget',
          category: 'test/gadgets',
          releaseDate: '2036-12-01',
          listPrice: { amount: '950', currency: 'JPY' },
          quantityAvailable: 5,
        },
      });
      expect(carried.status).toBe(200);
      bidders.push(bidder);
    }
    const bid = (n: number, reservationId: string, amount: string, tag: string) =>
      post(bidders[n - 1]!.apiKey, {
        header: {
          messageId: `GC-BID-${tag}`,
          type: 'OrderBid',
          sender: bidders[n - 1]!.id,
          sentAt: now(),
        },
        body: {
          reservationId,
          action: 'submit',
          unitPrice: { amount, currency: 'JPY' },
          quantity: 1,
          promisedDeliveryDate: '2036-06-01',
        },
      });
    const first = await bid(1, r1, '890', 'FIRST');
    expect(first.status).toBe(200);
    // Saved together: fewer transactions than bids (a refused gathered write would have sent
    // each to a transaction of its own).
    const together = await Promise.all([
      bid(1, r1, '880', 'REVISED'), // the next version of the first
      bid(2, r1, '870', 'TWO-A'),
      bid(3, r1, '860', 'THREE'),
    ]);
    expect(together.map((a) => a.status)).toEqual([200, 200, 200]);
    const { rows } = await sql<{ txids: string }>`
      select count(distinct txid)::text as txids from message_log
      where message_id in ('GC-BID-REVISED', 'GC-BID-TWO-A', 'GC-BID-THREE')`.execute(
      gateway.database.db,
    );
    expect(Number(rows[0]?.txids)).toBeLessThan(3);
    // A burst that cannot be saved together: each is taken alone, as if sent one by one.
    const alone = await Promise.all([
      bid(2, r1, '850', 'TWO-B'), // the second bid of GC-BIDDER-2 on r1: revises TWO-A
      bid(3, r2, '901', 'OVER'), // over the reservation's maximum unit price: refused
    ]);
    expect(alone.map((a) => a.status)).toEqual([200, 422]);
    const ids = [...together, alone[0]].map((a) => ({
      bidId: assigned(a.body, 'bidId'),
      bidVersion: assigned(a.body, 'bidVersion'),
    }));
    expect(ids[0]).toEqual({ bidId: assigned(first.body, 'bidId'), bidVersion: '2' });
    expect(ids[1]?.bidVersion).toBe('1');
    expect(ids[3]).toEqual({ bidId: ids[1]?.bidId, bidVersion: '2' });
    expect(ids[2]?.bidVersion).toBe('1');
    // A revision and then a withdrawal of one seller's bid, arriving together: withdrawn, as
    // one by one (the withdrawal does not run beside the gathered revision, which it would miss).
    const revisedThenWithdrawn = await Promise.all([
      bid(3, r1, '855', 'THREE-B'),
      post(bidders[2]!.apiKey, {
        header: {
          messageId: 'GC-BID-THREE-W',
          type: 'OrderBid',
          sender: 'GC-BIDDER-3',
          sentAt: now(),
        },
        body: { reservationId: r1, action: 'withdraw' },
      }),
    ]);
    expect(revisedThenWithdrawn.map((a) => a.status)).toEqual([200, 200]);
    const stored = await gateway.database.db
      .selectFrom('bids')
      .select(['id', 'seller_id', 'version', 'unit_price_minor', 'status'])
      .where('reservation_id', 'in', [r1, r2])
      .orderBy('seller_id')
      .execute();
    expect(stored).toEqual([
      {
        id: ids[0]!.bidId,
        seller_id: 'GC-BIDDER-1',
        version: 2,
        unit_price_minor: 880n,
        status: 'active',
      },
      {
        id: ids[1]!.bidId,
        seller_id: 'GC-BIDDER-2',
        version: 2,
        unit_price_minor: 850n,
        status: 'active',
      },
      {
        id: ids[2]!.bidId,
        seller_id: 'GC-BIDDER-3',
        version: 2,
        unit_price_minor: 855n,
        status: 'withdrawn',
      },
    ]);
  });

  it('commits a burst of valid documents in fewer transactions than documents', async () => {
    const future = new Date(Date.now() + 86_400_000).toISOString();
    const burst = Array.from({ length: 8 }, (_, i) => reservation(`GC-BURST-${i}`, future));
    const answers = await Promise.all(burst.map((d) => post(buyer.apiKey, d)));
    expect(answers.map((a) => a.status)).toEqual(burst.map(() => 200));
    const { rows } = await sql<{ txids: string }>`
      select count(distinct txid)::text as txids from message_log
      where partner_id = ${buyer.id} and message_id like 'GC-BURST-%'`.execute(gateway.database.db);
    expect(Number(rows[0]?.txids)).toBeLessThan(burst.length);
  });
});
