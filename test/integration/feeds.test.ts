/**
 * Distribution feeds (seed 000 claims 4, 5): scheduled feeds with per-partner cursors (nothing
 * skipped, nothing sent twice, across restarts), immediate notices, and subscription filters.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runScheduledFeeds, type FeedDeps } from '../../gateway/core/feeds/feeds.service.ts';
import { firesAt } from '../../jobs/feeds.ts';
import { exampleDocument, postDocument, receiptOf } from '../support/documents.ts';
import {
  registerPartner,
  startTestGateway,
  type RegisteredPartner,
  type TestGateway,
} from '../support/gateway.ts';
import { queuedFor } from '../support/outbox.ts';

let gateway: TestGateway;
const p: Record<string, RegisteredPartner> = {};
const everyMinute = () => true;

function feedDeps(): FeedDeps {
  // A fresh object per run: what a feed remembers must live in the database, not in memory.
  return {
    db: gateway.database.db,
    enqueue: gateway.services.pipeline.enqueue,
    isDue: everyMinute,
  };
}

beforeAll(async () => {
  gateway = await startTestGateway();
  for (const [id, roles] of [
    ['SELLER-A', ['seller']],
    ['SELLER-B', ['seller']],
    ['BUYER-SCHED', ['buyer']],
    ['BUYER-NOW', ['buyer']],
    ['BUYER-VIDEO', ['buyer']],
  ] as const) {
    p[id] = await registerPartner(gateway, { id, roles: [...roles] });
  }
  const subscribe = async (id: string, feed: string, body: Record<string, unknown>) => {
    const response = await gateway.admin('PUT', `/admin/v1/partners/${id}/feeds/${feed}`, body);
    expect(response.status, await response.clone().text()).toBe(200);
  };
  await subscribe('BUYER-SCHED', 'items', { mode: 'scheduled', schedule: '*/5 * * * *' });
  await subscribe('BUYER-NOW', 'items', { mode: 'immediate', categories: ['audio'] });
  await subscribe('BUYER-VIDEO', 'items', {
    mode: 'scheduled',
    schedule: '0 9 * * *',
    categories: ['video'],
  });
  await subscribe('SELLER-A', 'reservations', { mode: 'scheduled', schedule: '0 * * * *' });
  await subscribe('SELLER-B', 'reservations', { mode: 'immediate' });
});
afterAll(async () => {
  await gateway.close();
});

async function notice(seller: string, body: Record<string, unknown>) {
  const response = await postDocument(
    gateway.app,
    p[seller]!.apiKey,
    exampleDocument('ItemNotice', seller, { gtin: undefined, ...body }),
  );
  expect(response.status).toBe(200);
  return (await receiptOf(response)).assigned[0].value as string;
}

/**
 * Run a scheduled feed until `done` holds. A change becomes visible to feeds once every older
 * transaction has finished; on a shared PostgreSQL other test files' transactions may hold that
 * back for a moment, so a test waits for it (bounded) instead of assuming it.
 */
async function runUntil(
  feed: 'items' | 'reservations',
  done: () => Promise<boolean>,
  deps: FeedDeps = feedDeps(),
  at = new Date(),
): Promise<void> {
  for (let i = 0; i < 100; i++) {
    await runScheduledFeeds(deps, feed, at);
    if (await done()) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`the ${feed} feed did not deliver in time`);
}

function feedItems(docs: { body: Record<string, any> }[]): string[] {
  return docs.flatMap((d) => (d.body.items as { itemId: string }[]).map((i) => i.itemId));
}

describe('subscriptions', () => {
  it('refuses a feed for the wrong role, a bad schedule and an unknown feed', async () => {
    expect(
      (await gateway.admin('PUT', '/admin/v1/partners/SELLER-A/feeds/items', { mode: 'immediate' }))
        .status,
    ).toBe(400);
    expect(
      (
        await gateway.admin('PUT', '/admin/v1/partners/BUYER-SCHED/feeds/items', {
          mode: 'scheduled',
          schedule: 'every day',
        })
      ).status,
    ).toBe(400);
    expect(
      (
        await gateway.admin('PUT', '/admin/v1/partners/BUYER-SCHED/feeds/prices', {
          mode: 'immediate',
        })
      ).status,
    ).toBe(404);
    const listed = (await (
      await gateway.admin('GET', '/admin/v1/partners/BUYER-SCHED/feeds')
    ).json()) as { subscriptions: unknown[] };
    expect(listed.subscriptions).toEqual([
      expect.objectContaining({ feed: 'items', mode: 'scheduled', schedule: '*/5 * * * *' }),
    ]);
  });

  it('matches cron schedules minute by minute in UTC', () => {
    expect(firesAt('*/5 * * * *', new Date('2036-01-01T10:05:00Z'))).toBe(true);
    expect(firesAt('*/5 * * * *', new Date('2036-01-01T10:06:00Z'))).toBe(false);
    expect(firesAt('0 9 * * mon-fri', new Date('2036-01-07T09:00:00Z'))).toBe(true); // a Monday
    expect(firesAt('0 9 * * mon-fri', new Date('2036-01-06T09:00:00Z'))).toBe(false); // a Sunday
  });
});

describe('item feeds', () => {
  it('sends immediate notices in the transaction of the change, filtered by category', async () => {
    const audio = await notice('SELLER-A', {
      sellerItemId: 'FEED-AUDIO-1',
      category: 'audio/headphones',
    });
    const video = await notice('SELLER-A', {
      sellerItemId: 'FEED-VIDEO-1',
      category: 'video/projectors',
    });
    const now = feedItems(await queuedFor(gateway.database.db, 'BUYER-NOW', 'ItemFeed'));
    expect(now).toContain(audio);
    expect(now).not.toContain(video);
  });

  it('sends each change once on schedule, again when it changes, and survives restarts', async () => {
    const first = await notice('SELLER-A', {
      sellerItemId: 'FEED-S-1',
      category: 'audio/speakers',
    });
    const sentTo = async (id: string) =>
      feedItems(await queuedFor(gateway.database.db, 'BUYER-SCHED', 'ItemFeed')).filter(
        (x) => x === id,
      ).length;
    await runUntil('items', async () => (await sentTo(first)) > 0);
    const afterRun1 = feedItems(await queuedFor(gateway.database.db, 'BUYER-SCHED', 'ItemFeed'));
    expect(afterRun1.filter((id) => id === first)).toHaveLength(1);

    // nothing new: nothing sent (a fresh deps object, as after a restart)
    await runScheduledFeeds(feedDeps(), 'items', new Date());
    expect(feedItems(await queuedFor(gateway.database.db, 'BUYER-SCHED', 'ItemFeed'))).toEqual(
      afterRun1,
    );

    // another seller joins the item: a change of the item, sent once more
    await notice('SELLER-B', {
      sellerItemId: 'FEED-S-1-B',
      itemId: first,
      category: 'audio/speakers',
    });
    const second = await notice('SELLER-A', {
      sellerItemId: 'FEED-S-2',
      category: 'audio/speakers',
    });
    await runUntil('items', async () => (await sentTo(second)) > 0);
    const afterRun3 = feedItems(await queuedFor(gateway.database.db, 'BUYER-SCHED', 'ItemFeed'));
    expect(afterRun3.filter((id) => id === first)).toHaveLength(2);
    expect(afterRun3.filter((id) => id === second)).toHaveLength(1);
    // Its second sending (the two changes may go in one run or in two: the feed waits for every
    // transaction begun before a change to end, and other tests' transactions run beside these).
    const joined = (await queuedFor(gateway.database.db, 'BUYER-SCHED', 'ItemFeed'))
      .flatMap((feed) => feed.body.items as { itemId: string; offers: { seller: string }[] }[])
      .filter((i) => i.itemId === first)
      .at(-1);
    expect(joined?.offers.map((o) => o.seller)).toEqual(['SELLER-A', 'SELLER-B']);
  });

  it('sends a scheduled feed only when its schedule fires, and honours its categories', async () => {
    const video = await notice('SELLER-A', { sellerItemId: 'FEED-VIDEO-2', category: 'video/tv' });
    const nineOClock = (schedule: string, at: Date) => firesAt(schedule, at);
    const videoFeeds = async () =>
      feedItems(await queuedFor(gateway.database.db, 'BUYER-VIDEO', 'ItemFeed'));
    const before = (await videoFeeds()).filter((id) => id === video).length;
    for (let i = 0; i < 3; i++) {
      await runScheduledFeeds(
        { ...feedDeps(), isDue: nineOClock },
        'items',
        new Date('2036-01-01T08:00:00Z'),
      );
    }
    expect((await videoFeeds()).filter((id) => id === video)).toHaveLength(before);
    await runUntil(
      'items',
      async () => (await videoFeeds()).includes(video),
      { ...feedDeps(), isDue: nineOClock },
      new Date('2036-01-01T09:00:00Z'),
    );
    const items = feedItems(await queuedFor(gateway.database.db, 'BUYER-VIDEO', 'ItemFeed'));
    expect(items).toContain(video);
    expect(items.every((id) => id !== undefined)).toBe(true);
    const categories = (await queuedFor(gateway.database.db, 'BUYER-VIDEO', 'ItemFeed')).flatMap(
      (d) => (d.body.items as { category: string }[]).map((i) => i.category),
    );
    expect(categories.every((c) => c.startsWith('video/'))).toBe(true);
  });
});

describe('reservation feeds', () => {
  it('tells only the sellers that carry the item, at once or on schedule', async () => {
    const carriedByA = await notice('SELLER-A', {
      sellerItemId: 'FEED-R-1',
      category: 'audio/headphones',
    });
    const response = await postDocument(
      gateway.app,
      p['BUYER-SCHED']!.apiKey,
      exampleDocument('PurchaseReservation', 'BUYER-SCHED', {
        itemId: carriedByA,
        biddingDeadline: new Date(Date.now() + 3600_000).toISOString(),
      }),
    );
    expect(response.status).toBe(200);
    const reservationId = (await receiptOf(response)).assigned[0].value as string;
    // SELLER-B subscribed to immediate notices but does not carry the item
    expect(
      (await queuedFor(gateway.database.db, 'SELLER-B', 'ReservationFeed')).some((d) =>
        JSON.stringify(d.body).includes(reservationId),
      ),
    ).toBe(false);
    const reservationsSentToA = async () =>
      (await queuedFor(gateway.database.db, 'SELLER-A', 'ReservationFeed')).flatMap((d) =>
        (d.body.reservations as { reservationId: string }[]).map((r) => r.reservationId),
      );
    await runUntil('reservations', async () =>
      (await reservationsSentToA()).includes(reservationId),
    );
    const feeds = await queuedFor(gateway.database.db, 'SELLER-A', 'ReservationFeed');
    const sent = feeds.flatMap((d) =>
      (d.body.reservations as { reservationId: string }[]).map((r) => r.reservationId),
    );
    expect(sent.filter((id) => id === reservationId)).toHaveLength(1);
    await runScheduledFeeds(feedDeps(), 'reservations', new Date());
    expect(await queuedFor(gateway.database.db, 'SELLER-A', 'ReservationFeed')).toHaveLength(
      feeds.length,
    );

    // SELLER-B starts carrying the item: its next reservation reaches B at once
    await notice('SELLER-B', { sellerItemId: 'FEED-R-1-B', itemId: carriedByA });
    const second = await postDocument(
      gateway.app,
      p['BUYER-SCHED']!.apiKey,
      exampleDocument('PurchaseReservation', 'BUYER-SCHED', {
        itemId: carriedByA,
        biddingDeadline: new Date(Date.now() + 3600_000).toISOString(),
      }),
    );
    const secondId = (await receiptOf(second)).assigned[0].value as string;
    const immediate = await queuedFor(gateway.database.db, 'SELLER-B', 'ReservationFeed');
    expect(immediate.some((d) => JSON.stringify(d.body).includes(secondId))).toBe(true);
  });
});
