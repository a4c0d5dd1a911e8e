import { Hono } from 'hono';
import type { Kysely } from 'kysely';
import type { CheckRow } from '../../core/checks/checks.repository.ts';
import { orderIdForCheck } from '../../core/checks/checks.ts';
import { getCheck, voidCheck } from '../../core/checks/checks.service.ts';
import { formatMoney } from '../../core/money.ts';
import type { Database } from '../../db/tables.ts';
import type { AppEnv } from '../env.ts';

function checkView(check: CheckRow) {
  const iso = (date: Date | null) => date?.toISOString() ?? null;
  return {
    checkNumber: check.check_number,
    status: check.status,
    amount: formatMoney({ minor: check.amount_minor, currency: check.currency }),
    commission: formatMoney({ minor: check.commission_minor, currency: check.currency }),
    buyer: check.buyer_id,
    seller: check.seller_id,
    carrier: check.carrier_id,
    dealId: check.deal_id,
    settlementOrgan: check.settlement_organ_id,
    orderId: check.presented_at === null ? null : orderIdForCheck(check.check_number),
    echeck: check.jws,
    issuedAt: check.issued_at.toISOString(),
    expiresAt: check.expires_at.toISOString(),
    presentedAt: iso(check.presented_at),
    demandedAt: iso(check.demanded_at),
    paidAt: iso(check.paid_at),
    closedAt: iso(check.closed_at),
  };
}

/** `/admin/v1/checks`: a check's state, and voiding an unpaid one (its hold is released). */
export function adminCheckRoutes(deps: { db: Kysely<Database> }) {
  return new Hono<AppEnv>()
    .get('/:checkNumber', async (c) =>
      c.json({ check: checkView(await getCheck(deps.db, c.req.param('checkNumber'))) }),
    )
    .post('/:checkNumber/void', async (c) =>
      c.json({ check: checkView(await voidCheck(deps.db, c.req.param('checkNumber'))) }),
    );
}
