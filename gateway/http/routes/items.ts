/** `GET /v1/items`: the catalogue for buyers (and sellers looking for an item to carry). */
import { Hono } from 'hono';
import type { Kysely } from 'kysely';
import { listItems } from '../../core/catalogue/catalogue.repository.ts';
import { itemView } from '../../core/catalogue/catalogue.ts';
import { GatewayError } from '../../core/errors.ts';
import type { Database } from '../../db/tables.ts';
import type { AppEnv } from '../env.ts';
import { queryDate, queryDateTime, queryLimit, queryText } from '../query.ts';

export function itemRoutes(db: Kysely<Database>) {
  return new Hono<AppEnv>().get('/', async (c) => {
    const { partner } = c.get('caller');
    if (!partner.roles.includes('buyer') && !partner.roles.includes('seller')) {
      throw new GatewayError('FORBIDDEN', 'the catalogue is for buyers and sellers');
    }
    const limit = queryLimit(c);
    const page = await listItems(db, {
      category: queryText(c, 'category'),
      text: queryText(c, 'text'),
      releaseFrom: queryDate(c, 'releaseFrom'),
      releaseTo: queryDate(c, 'releaseTo'),
      updatedSince: queryDateTime(c, 'updatedSince'),
      after: queryText(c, 'after', 128),
      limit,
    });
    return c.json({
      items: page.map(({ item, offers }) => ({
        ...itemView(item, offers),
        updatedAt: item.updated_at.toISOString(),
      })),
      nextCursor: page.length === limit ? page[page.length - 1]?.item.id : null,
    });
  });
}
