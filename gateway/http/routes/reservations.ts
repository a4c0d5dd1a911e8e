/** `GET /v1/reservations`: open reservations for the items a seller carries (claim 1). */
import { Hono } from 'hono';
import type { Kysely } from 'kysely';
import { GatewayError } from '../../core/errors.ts';
import { formatMoney } from '../../core/money.ts';
import { listOpenReservationsForSeller } from '../../core/trading/trading.repository.ts';
import { reservationView } from '../../core/trading/trading.ts';
import type { Database } from '../../db/tables.ts';
import type { AppEnv } from '../env.ts';
import { queryLimit, queryText } from '../query.ts';

export function reservationRoutes(db: Kysely<Database>) {
  return new Hono<AppEnv>().get('/', async (c) => {
    const { partner } = c.get('caller');
    if (!partner.roles.includes('seller'))
      throw new GatewayError('FORBIDDEN', 'open reservations are shown to sellers');
    const limit = queryLimit(c);
    const rows = await listOpenReservationsForSeller(db, partner.id, {
      after: queryText(c, 'after', 128),
      itemId: queryText(c, 'itemId', 128),
      limit,
    });
    return c.json({
      reservations: rows.map((r) => ({
        ...reservationView(r),
        myBid:
          r.bid_id === null
            ? null
            : {
                bidId: r.bid_id,
                version: r.bid_version,
                status: r.bid_status,
                unitPrice: formatMoney({
                  minor: r.bid_unit_price_minor ?? 0n,
                  currency: r.currency,
                }),
              },
      })),
      nextCursor: rows.length === limit ? rows[rows.length - 1]?.id : null,
    });
  });
}
