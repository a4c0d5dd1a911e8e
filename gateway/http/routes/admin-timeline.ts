/** `/admin/v1/timeline/{id}`: every document of the deal a reservation, bid, deal, tender, check or order id belongs to. */
import { Hono } from 'hono';
import type { Kysely } from 'kysely';
import { dealTimeline } from '../../core/messages/messages.service.ts';
import type { Database } from '../../db/tables.ts';
import type { AppEnv } from '../env.ts';
import { messageView } from './admin-messages.ts';

export function adminTimelineRoutes(deps: { db: Kysely<Database> }) {
  return new Hono<AppEnv>().get('/:id', async (c) => {
    const timeline = await dealTimeline(deps.db, c.req.param('id'));
    return c.json({
      anchor: timeline.anchor,
      linked: timeline.linked,
      documents: timeline.documents.map((d) => ({
        ...messageView(d),
        lastEvent:
          d.lastEvent === null ? null : { ...d.lastEvent, at: d.lastEvent.at.toISOString() },
      })),
    });
  });
}
