/**
 * The account database: fundings and credit limits through the admin API and the CLI, and a
 * property test of random sequences of fund / limit / issue / present / pay / expire / void over
 * the wire against a model, checking the ledger's invariants after each sequence.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../gateway/cli.ts';
import { expireDueChecks } from '../../gateway/core/checks/checks.service.ts';
import { percentOf } from '../../gateway/core/money.ts';
import { onPostgres } from '../support/database.ts';
import {
  accountOf,
  adminJson,
  listItem,
  orderBody,
  queuedOne,
  send,
  registerParties,
  expectLedgerInvariants,
} from '../support/echeck.ts';
import { startTestGateway, type RegisteredPartner, type TestGateway } from '../support/gateway.ts';

let gateway: TestGateway;
let p: Record<string, RegisteredPartner> = {};

beforeAll(async () => {
  gateway = await startTestGateway({ COMMISSION_RATE_PERCENT: '2.5' });
  p = await registerParties(gateway, [
    ['BUYER-1', ['buyer']],
    ['BUYER-2', ['buyer']],
    ['SELLER-1', ['seller']],
    ['SELLER-2', ['seller']],
    ['CARRIER-1', ['carrier']],
    ['FUNDED', ['buyer']],
  ]);
});
afterAll(async () => {
  await gateway.close();
});

const db = () => gateway.database.db;

describe('the account admin API', () => {
  it('funds by a ledger transfer from the external account, once per reference', async () => {
    const first = await gateway.admin('POST', '/admin/v1/accounts/FUNDED/fundings', {
      amount: '1000.00',
      currency: 'JPY',
      reference: 'WIRE-1',
    });
    expect(first.status).toBe(201);
    expect(((await first.json()) as Record<string, any>).account).toMatchObject({
      kind: 'partner',
      owner: 'FUNDED',
      balance: { amount: '1000', currency: 'JPY' },
      available: { amount: '1000', currency: 'JPY' },
    });
    const again = await gateway.admin('POST', '/admin/v1/accounts/FUNDED/fundings', {
      amount: '1000',
      currency: 'JPY',
      reference: 'WIRE-1',
    });
    expect(again.status).toBe(200);
    expect(await again.json()).toMatchObject({
      replayed: true,
      account: { balance: { amount: '1000' } },
    });
    const reused = await gateway.admin('POST', '/admin/v1/accounts/FUNDED/fundings', {
      amount: '5',
      currency: 'JPY',
      reference: 'WIRE-1',
    });
    expect(reused.status).toBe(409);
    await adminJson(gateway, 'POST', '/admin/v1/accounts/FUNDED/fundings', {
      amount: '12.34',
      currency: 'EUR',
    });

    const { accounts } = await adminJson(gateway, 'GET', '/admin/v1/accounts/FUNDED');
    expect(accounts.map((a: Record<string, any>) => [a.currency, a.balance.amount])).toEqual([
      ['EUR', '12.34'],
      ['JPY', '1000'],
    ]);
    expect(accounts[1].entries).toEqual([
      expect.objectContaining({
        kind: 'funding',
        reference: 'WIRE-1',
        amount: { amount: '1000', currency: 'JPY' },
      }),
    ]);
    const external = await accountOf(gateway, 'NAKADACHI', 'EUR', 'external');
    expect(external?.balance).toEqual({ amount: '-12.34', currency: 'EUR' });
  });

  it.each([
    ['a negative amount', { amount: '-5', currency: 'JPY' }, 400],
    ['zero', { amount: '0', currency: 'JPY' }, 400],
    ['a decimal JPY has not', { amount: '1.5', currency: 'JPY' }, 422],
    ['an unknown currency', { amount: '1', currency: 'XXX' }, 422],
    ['a number instead of a decimal string', { amount: 5, currency: 'JPY' }, 400],
  ])('refuses to fund %s', async (_what, body, status) => {
    expect((await gateway.admin('POST', '/admin/v1/accounts/FUNDED/fundings', body)).status).toBe(
      status,
    );
  });

  it('refuses accounts for unknown partners and for partners that neither buy nor sell', async () => {
    const body = { amount: '1', currency: 'JPY' };
    expect((await gateway.admin('POST', '/admin/v1/accounts/NOBODY/fundings', body)).status).toBe(
      404,
    );
    expect(
      (await gateway.admin('POST', '/admin/v1/accounts/CARRIER-1/fundings', body)).status,
    ).toBe(400);
    expect((await gateway.admin('GET', '/admin/v1/accounts/NOBODY')).status).toBe(404);
  });

  it('sets a credit limit, but not below what the account already uses', async () => {
    const limited = await adminJson(gateway, 'PUT', '/admin/v1/accounts/FUNDED/credit-limit', {
      amount: '500',
      currency: 'JPY',
    });
    expect(limited.account).toMatchObject({
      creditLimit: { amount: '500' },
      available: { amount: '1500' },
    });
    // a credit limit alone opens an account
    const fresh = await adminJson(gateway, 'PUT', '/admin/v1/accounts/BUYER-2/credit-limit', {
      amount: '0',
      currency: 'USD',
    });
    expect(fresh.account).toMatchObject({ balance: { amount: '0.00', currency: 'USD' } });
    await sql`update accounts set held_minor = 1400 where partner_id = 'FUNDED' and currency = 'JPY'`.execute(
      db(),
    );
    const tooLow = await gateway.admin('PUT', '/admin/v1/accounts/FUNDED/credit-limit', {
      amount: '300',
      currency: 'JPY',
    });
    expect(tooLow.status).toBe(422);
    await sql`update accounts set held_minor = 0 where partner_id = 'FUNDED' and currency = 'JPY'`.execute(
      db(),
    );
  });
});

describe('the account CLI', () => {
  it.skipIf(onPostgres)(
    'funds, limits and shows accounts in a data directory',
    { timeout: 60_000 },
    async () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nakadachi-account-'));
      const run = async (argv: string[]) => {
        const out: string[] = [];
        const err: string[] = [];
        const code = await runCli(
          argv,
          { LOG_LEVEL: 'silent', DATA_DIR: dir },
          (t) => out.push(t),
          (t) => err.push(t),
        );
        return { code, stdout: out.join('\n'), stderr: err.join('\n') };
      };
      try {
        expect(
          (await run(['partner', 'add', '--id', 'ACME', '--name', 'Acme', '--roles', 'buyer']))
            .code,
        ).toBe(0);
        const funded = await run([
          'account',
          'fund',
          '--partner',
          'ACME',
          '--amount',
          '1000.00',
          '--currency',
          'JPY',
        ]);
        expect(funded).toMatchObject({
          code: 0,
          stdout: 'JPY: balance 1000 JPY, credit limit 0 JPY, held 0 JPY, available 1000 JPY',
        });
        expect(
          (
            await run([
              'account',
              'credit-limit',
              '--partner',
              'ACME',
              '--amount',
              '250',
              '--currency',
              'JPY',
            ])
          ).code,
        ).toBe(0);
        const shown = await run(['account', 'show', '--partner', 'ACME', '--json']);
        expect(JSON.parse(shown.stdout)).toMatchObject({
          owner: 'ACME',
          accounts: [
            {
              currency: 'JPY',
              balance: { amount: '1000' },
              creditLimit: { amount: '250' },
              available: { amount: '1250' },
            },
          ],
        });
        const text = await run(['account', 'show', '--partner', 'ACME']);
        expect(text.stdout).toContain('available 1250 JPY');
        expect(text.stdout).toMatch(/funding\s+-\s+1000 JPY/);
        const bad = await run([
          'account',
          'fund',
          '--partner',
          'ACME',
          '--amount',
          '1.5',
          '--currency',
          'JPY',
        ]);
        expect(bad.code).toBe(1);
        expect(bad.stderr).toMatch(/^nakadachi: JPY has 0 decimals/);
        expect((await run(['account', 'fund', '--partner', 'ACME'])).code).toBe(2);
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    },
  );
});

// ————————————————————————————————————————————————————————————————————————————————————————
// The property: random sequences against a model of balances, holds and check states.

type Op =
  | { op: 'fund'; buyer: number; amount: number }
  | { op: 'limit'; buyer: number; amount: number }
  | { op: 'issue'; buyer: number; seller: number; quantity: number }
  | { op: 'present' | 'pay' | 'expire' | 'void'; check: number };

const BUYERS = ['BUYER-1', 'BUYER-2'];
const SELLERS = ['SELLER-1', 'SELLER-2'];
const PRICES = [100n, 70n];

// Weighted towards the check lifecycle, so that most sequences issue, present and pay.
const onCheck = (op: 'present' | 'pay' | 'expire' | 'void') =>
  fc.record({ op: fc.constant(op), check: fc.nat(20) });
const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant('fund' as const),
      buyer: fc.nat(1),
      amount: fc.integer({ min: 1, max: 600 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      op: fc.constant('limit' as const),
      buyer: fc.nat(1),
      amount: fc.integer({ min: 0, max: 300 }),
    }),
  },
  {
    weight: 4,
    arbitrary: fc.record({
      op: fc.constant('issue' as const),
      buyer: fc.nat(1),
      seller: fc.nat(1),
      quantity: fc.integer({ min: 1, max: 4 }),
    }),
  },
  { weight: 3, arbitrary: onCheck('present') },
  { weight: 3, arbitrary: onCheck('pay') },
  { weight: 1, arbitrary: onCheck('expire') },
  { weight: 1, arbitrary: onCheck('void') },
);

interface ModelAccount {
  exists: boolean;
  balance: bigint;
  limit: bigint;
  held: bigint;
}

interface ModelCheck {
  echeck: Record<string, any>;
  buyer: string;
  seller: string;
  amount: bigint;
  status: 'issued' | 'presented' | 'paid' | 'voided' | 'expired';
  orderId?: string;
}

async function modelAccount(partner: string): Promise<ModelAccount> {
  const account = await accountOf(gateway, partner);
  if (account === undefined) return { exists: false, balance: 0n, limit: 0n, held: 0n };
  return {
    exists: true,
    balance: BigInt(account.balance.amount as string),
    limit: BigInt(account.creditLimit.amount as string),
    held: BigInt(account.held.amount as string),
  };
}

describe('the ledger under random sequences of operations (property)', () => {
  let items: string[] = [];
  beforeAll(async () => {
    for (const buyer of BUYERS) {
      await adminJson(gateway, 'POST', `/admin/v1/accounts/${buyer}/fundings`, {
        amount: '3000',
        currency: 'JPY',
      });
    }
    items = [
      await listItem(gateway, p['SELLER-1']!, '100'),
      await listItem(gateway, p['SELLER-2']!, '70'),
    ];
  });

  it(
    'keeps entries summing to zero, every account within credit, and each paid check paid once',
    { timeout: 120_000 },
    async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(opArb, { minLength: 1, maxLength: 20 }), async (ops) => {
          const accounts = new Map<string, ModelAccount>();
          for (const partner of [...BUYERS, ...SELLERS])
            accounts.set(partner, await modelAccount(partner));
          const checks: ModelCheck[] = [];
          const acct = (id: string) => accounts.get(id)!;

          for (const step of ops) {
            if (step.op === 'fund') {
              const buyer = BUYERS[step.buyer]!;
              await adminJson(gateway, 'POST', `/admin/v1/accounts/${buyer}/fundings`, {
                amount: String(step.amount),
                currency: 'JPY',
              });
              Object.assign(acct(buyer), {
                exists: true,
                balance: acct(buyer).balance + BigInt(step.amount),
              });
            } else if (step.op === 'limit') {
              const buyer = BUYERS[step.buyer]!;
              const a = acct(buyer);
              const allowed = a.balance + BigInt(step.amount) - a.held >= 0n;
              const response = await gateway.admin(
                'PUT',
                `/admin/v1/accounts/${buyer}/credit-limit`,
                { amount: String(step.amount), currency: 'JPY' },
              );
              expect(response.status).toBe(allowed ? 200 : 422);
              a.exists = true;
              if (allowed) a.limit = BigInt(step.amount);
            } else if (step.op === 'issue') {
              const buyer = BUYERS[step.buyer]!;
              const seller = SELLERS[step.seller]!;
              const amount = PRICES[step.seller]! * BigInt(step.quantity);
              const sent = await send(gateway, p[buyer]!, 'ECheckRequest', {
                seller,
                carrier: 'CARRIER-1',
                amount: { amount: String(amount), currency: 'JPY' },
                lines: [{ itemId: items[step.seller], quantity: step.quantity }],
              });
              const a = acct(buyer);
              const fits = a.exists && a.balance + a.limit - a.held >= amount;
              expect(sent.ids.checkNumber !== undefined).toBe(fits);
              if (fits) {
                a.held += amount;
                const echeck = (
                  await queuedOne(gateway, buyer, 'ECheck', { checkNumber: sent.ids.checkNumber! })
                ).body;
                checks.push({ echeck, buyer, seller, amount, status: 'issued' });
              }
            } else {
              const check = checks.length === 0 ? undefined : checks[step.check % checks.length];
              if (check === undefined) continue;
              const buyer = acct(check.buyer);
              if (step.op === 'present') {
                const quantity = Number(check.amount / PRICES[SELLERS.indexOf(check.seller)]!);
                const lines = [
                  {
                    itemId: items[SELLERS.indexOf(check.seller)]!,
                    quantity,
                    unitPrice: {
                      amount: String(PRICES[SELLERS.indexOf(check.seller)]),
                      currency: 'JPY',
                    },
                  },
                ];
                const sent = await send(
                  gateway,
                  p[check.buyer]!,
                  'CommodityOrder',
                  orderBody(check.echeck, lines, { orderReference: undefined }),
                );
                expect(sent.status === 200).toBe(check.status === 'issued');
                if (sent.status === 200)
                  Object.assign(check, { status: 'presented', orderId: sent.ids.orderId });
              } else if (step.op === 'pay') {
                if (check.orderId !== undefined) {
                  await send(gateway, p[check.seller]!, 'DistributionNotice', {
                    orderId: check.orderId,
                    carrier: 'CARRIER-1',
                    expectedShipDate: '2036-04-16',
                  });
                }
                const sent = await send(gateway, p[check.seller]!, 'PaymentDemand', {
                  checkNumber: check.echeck.checkNumber,
                  echeck: check.echeck.echeck,
                  sellingOffice: check.seller,
                  orderId: check.orderId ?? 'ORD-NONE',
                  amount: check.echeck.amount,
                });
                expect(sent.status === 200).toBe(check.status === 'presented');
                if (sent.status === 200) {
                  check.status = 'paid';
                  buyer.balance -= check.amount;
                  buyer.held -= check.amount;
                  const seller = acct(check.seller);
                  seller.exists = true;
                  seller.balance += check.amount - percentOf(check.amount, '2.5');
                }
              } else if (step.op === 'expire') {
                await sql`update checks set issued_at = now() - interval '2 hours', expires_at = now() - interval '1 hour' where check_number = ${check.echeck.checkNumber}`.execute(
                  db(),
                );
                await expireDueChecks(db());
                if (check.status === 'issued') {
                  check.status = 'expired';
                  buyer.held -= check.amount;
                }
              } else {
                const response = await gateway.admin(
                  'POST',
                  `/admin/v1/checks/${check.echeck.checkNumber}/void`,
                );
                const voidable = check.status === 'issued' || check.status === 'presented';
                expect(response.status).toBe(voidable ? 200 : 409);
                if (voidable) {
                  check.status = 'voided';
                  buyer.held -= check.amount;
                }
              }
            }
          }

          for (const [partner, expected] of accounts) {
            expect(await modelAccount(partner), partner).toEqual(expected);
          }
          for (const check of checks) {
            const { check: row } = await adminJson(
              gateway,
              'GET',
              `/admin/v1/checks/${check.echeck.checkNumber}`,
            );
            expect(row.status).toBe(check.status);
          }
          await expectLedgerInvariants(db());
        }),
        { numRuns: 25 },
      );
    },
  );
});
