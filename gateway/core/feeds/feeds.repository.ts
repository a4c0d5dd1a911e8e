/** Feed queries shared by the writes that make changes (catalogue, trading). */
import type { FeedKind } from './feeds.service.ts';

/**
 * Whether any active partner takes this feed's immediate notices: an expression for the
 * RETURNING of the write that makes a change, so that the common case (nobody) costs no round
 * trip of its own. SQL text: the feed is one of a closed set of names.
 */
export function anyImmediateSubscriberSql(feed: FeedKind): string {
  return `exists (select 1 from feed_subscriptions s
    where s.feed = '${feed}' and s.mode = 'immediate'
      and exists (select 1 from partners p where p.id = s.partner_id and p.status = 'active'
                  offset 0))`;
}

/** The row of a statement that inserts new rows all or none, with anyImmediateSubscriberSql. */
export interface AllOrNoneRow {
  refused: boolean;
  immediate_subscribers: boolean;
}

/** Refused (nothing inserted), or inserted — and whether anyone hears of the new rows at once. */
export type AllOrNoneInserted =
  { kind: 'inserted'; immediateSubscribers: boolean } | { kind: 'refused' };

export function allOrNoneInserted(row: AllOrNoneRow): AllOrNoneInserted {
  return row.refused
    ? { kind: 'refused' }
    : { kind: 'inserted', immediateSubscribers: row.immediate_subscribers };
}
