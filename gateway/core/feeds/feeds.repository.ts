/** Feed queries shared by the writes that make changes (catalogue, trading). */
import type { FeedKind } from './feeds.service.ts';

/**
 * Whether any active partner takes this feed's immediate notices: an expression for the
 * RETURNING of the write that makes a change, so that the common case (nobody) costs no round
 * trip of its own. SQL text: the feed is one of a closed set of names.
 */
export function anyImmediateSubscriberSql(feed: FeedKind): string {
  return `exists (select 1 from feed_subscriptions s join partners p on p.id = s.partner_id
    where s.feed = '${feed}' and s.mode = 'immediate' and p.status = 'active')`;
}
