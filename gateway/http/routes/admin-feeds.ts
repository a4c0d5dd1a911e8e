/**
 * `/admin/v1/partners/{id}/feeds`: a partner's feed subscriptions — the items feed for buyers,
 * the reservations feed for sellers — "regularly" on a cron schedule or "not-regularly" at once.
 */
import { Hono } from 'hono';
import type { Kysely } from 'kysely';
import cron from 'node-cron';
import { GatewayError } from '../../core/errors.ts';
import {
  listSubscriptions,
  removeSubscription,
  setSubscription,
  type FeedKind,
  type FeedMode,
} from '../../core/feeds/feeds.service.ts';
import { getPartner } from '../../core/partners/partners.service.ts';
import type { Database } from '../../db/tables.ts';
import type { AppEnv } from '../env.ts';
import { jsonObjectBody, optionalString, optionalStringList } from '../request-body.ts';

function isFeedMode(mode: string): mode is FeedMode {
  return mode === 'scheduled' || mode === 'immediate';
}

function feedOf(value: string): FeedKind {
  if (value !== 'items' && value !== 'reservations') {
    throw new GatewayError('NOT_FOUND', `no feed ${value}: the feeds are items and reservations`);
  }
  return value;
}

export function adminFeedRoutes(db: Kysely<Database>) {
  return new Hono<AppEnv>()
    .get('/:id/feeds', async (c) => {
      const partner = await getPartner(db, c.req.param('id'));
      const rows = await listSubscriptions(db, partner.id);
      return c.json({
        subscriptions: rows.map((s) => ({
          feed: s.feed,
          mode: s.mode,
          schedule: s.schedule,
          categories: s.categories,
          regions: s.regions,
          lastSentAt: s.last_sent_at?.toISOString() ?? null,
        })),
      });
    })
    .put('/:id/feeds/:feed', async (c) => {
      const partner = await getPartner(db, c.req.param('id'));
      const feed = feedOf(c.req.param('feed'));
      const body = await jsonObjectBody(c);
      const mode: string = optionalString(body, 'mode') ?? 'scheduled';
      if (!isFeedMode(mode)) {
        throw new GatewayError('BAD_REQUEST', 'mode must be scheduled or immediate');
      }
      const subscription = {
        feed,
        mode,
        schedule: optionalString(body, 'schedule') ?? null,
        categories: optionalStringList(body, 'categories') ?? [],
        regions: optionalStringList(body, 'regions') ?? [],
      };
      await setSubscription(db, partner, subscription, (schedule) => cron.validate(schedule));
      return c.json({ subscription });
    })
    .delete('/:id/feeds/:feed', async (c) => {
      const partner = await getPartner(db, c.req.param('id'));
      const feed = feedOf(c.req.param('feed'));
      if (!(await removeSubscription(db, partner.id, feed))) {
        throw new GatewayError('NOT_FOUND', `${partner.id} has no ${feed} subscription`);
      }
      return c.json({ removed: feed });
    });
}
