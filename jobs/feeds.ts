/**
 * `item-feed` and `reservation-feed`: every minute, the scheduled ("regularly") feeds whose own
 * cron schedule fires this minute. Each tick runs once across processes (the tick guard), and the
 * per-subscription cursor makes a missed minute harmless: the next run carries what it missed.
 */
import cron from 'node-cron';
import {
  runScheduledFeeds,
  type FeedDeps,
  type FeedKind,
} from '../gateway/core/feeds/feeds.service.ts';
import type { JobDefinition } from './scheduler.ts';

const parsed = new Map<string, ReturnType<typeof cron.parse>>();

/**
 * Does a partner's cron expression fire in the minute of `at` (UTC)? Minute granularity: the
 * seconds field of a subscription, if any, is ignored. Day of month and day of week must both
 * match (node-cron's reading of the expression).
 */
export function firesAt(schedule: string, at: Date): boolean {
  let fields = parsed.get(schedule);
  if (fields === undefined) {
    fields = cron.parse(schedule);
    parsed.set(schedule, fields);
  }
  return (
    fields.minute.includes(at.getUTCMinutes()) &&
    fields.hour.includes(at.getUTCHours()) &&
    fields.month.includes(at.getUTCMonth() + 1) &&
    fields.dayOfMonth.includes(at.getUTCDate()) &&
    (fields.dayOfWeek.includes(at.getUTCDay()) ||
      (at.getUTCDay() === 0 && fields.dayOfWeek.includes(7)))
  );
}

function feedJob(name: string, feed: FeedKind, deps: Omit<FeedDeps, 'isDue'>): JobDefinition {
  return {
    name,
    schedule: '0 * * * * *',
    run: (ctx) => runScheduledFeeds({ ...deps, isDue: firesAt }, feed, ctx.slot ?? new Date()),
  };
}

export const ITEM_FEED = 'item-feed';
export const RESERVATION_FEED = 'reservation-feed';

export function feedJobs(deps: Omit<FeedDeps, 'isDue'>): JobDefinition[] {
  return [feedJob(ITEM_FEED, 'items', deps), feedJob(RESERVATION_FEED, 'reservations', deps)];
}
