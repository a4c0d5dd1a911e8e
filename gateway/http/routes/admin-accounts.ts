import { Hono } from 'hono';
import type { Kysely } from 'kysely';
import type { Account } from '../../core/ledger/ledger.ts';
import { availableOf } from '../../core/ledger/ledger.ts';
import {
  accountStatements,
  fundAccount,
  setAccountStatus,
  setCreditLimit,
  type AccountStatement,
} from '../../core/ledger/ledger.service.ts';
import { formatMoney, type WireMoney } from '../../core/money.ts';
import type { Database } from '../../db/tables.ts';
import type { AppEnv } from '../env.ts';
import { jsonObjectBody, optionalString, requiredString } from '../request-body.ts';

function money(minor: bigint, currency: string): WireMoney {
  return formatMoney({ minor, currency });
}

export function accountView(account: Account, gatewayId: string) {
  const { currency } = account;
  return {
    id: account.id,
    kind: account.kind,
    owner: account.partnerId ?? gatewayId,
    currency,
    status: account.status,
    balance: money(account.balanceMinor, currency),
    creditLimit: money(account.creditLimitMinor, currency),
    held: money(account.heldMinor, currency),
    available: money(availableOf(account), currency),
  };
}

function statementView(statement: AccountStatement, gatewayId: string) {
  const { currency } = statement.account;
  return {
    ...accountView(statement.account, gatewayId),
    holds: statement.holds.map((h) => ({
      reference: h.reference,
      amount: money(h.amountMinor, currency),
      createdAt: h.createdAt.toISOString(),
    })),
    entries: statement.entries.map((e) => ({
      transferId: e.transferId,
      kind: e.kind,
      reference: e.reference,
      amount: money(e.amountMinor, currency),
      at: e.at.toISOString(),
    })),
  };
}

function amountOf(body: Record<string, unknown>): WireMoney {
  return { amount: requiredString(body, 'amount'), currency: requiredString(body, 'currency') };
}

/**
 * `/admin/v1/accounts`: the account database for operators and the CLI. Balances change only
 * through ledger entries: a funding is a transfer from the external funding account.
 */
export function adminAccountRoutes(deps: { db: Kysely<Database>; gatewayId: string }) {
  const { db, gatewayId } = deps;
  return new Hono<AppEnv>()
    .get('/:owner', async (c) => {
      const owner = c.req.param('owner');
      const statements = await accountStatements(db, owner, gatewayId);
      return c.json({ owner, accounts: statements.map((s) => statementView(s, gatewayId)) });
    })
    .post('/:partnerId/fundings', async (c) => {
      const body = await jsonObjectBody(c);
      const funded = await fundAccount(db, {
        partnerId: c.req.param('partnerId'),
        amount: amountOf(body),
        reference: optionalString(body, 'reference'),
      });
      return c.json(
        {
          account: accountView(funded.account, gatewayId),
          transferId: funded.transferId,
          replayed: funded.replayed,
        },
        funded.replayed ? 200 : 201,
      );
    })
    .put('/:partnerId/credit-limit', async (c) => {
      const body = await jsonObjectBody(c);
      const account = await setCreditLimit(db, {
        partnerId: c.req.param('partnerId'),
        amount: amountOf(body),
      });
      return c.json({ account: accountView(account, gatewayId) });
    })
    .post('/:partnerId/:action{suspend|activate}', async (c) => {
      const body = await jsonObjectBody(c);
      const account = await setAccountStatus(db, {
        partnerId: c.req.param('partnerId'),
        currency: requiredString(body, 'currency'),
        status: c.req.param('action') === 'suspend' ? 'suspended' : 'active',
      });
      return c.json({ account: accountView(account, gatewayId) });
    });
}
