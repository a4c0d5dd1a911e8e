/**
 * The operator's side of the demo, through the admin API as the CLI would use it: partners and
 * feeds, fundings, the balances of the ledger, and sealing and verifying the audit log.
 */
import { parseMoney, type Money, type WireMoney } from '../core/money.ts';
import { CAST } from './cast.ts';
import { minorText } from './format.ts';
import type { AuditResult, Balance } from './report.ts';

export type AdminApi = (
  method: string,
  route: string,
  body?: unknown,
) => Promise<Record<string, unknown>>;

export function adminApi(gatewayUrl: string, token: string): AdminApi {
  return async (method, route, body) => {
    const response = await fetch(`${gatewayUrl}/admin/v1${route}`, {
      method,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const json = (await response.json()) as Record<string, unknown>;
    if (response.status >= 300) {
      const error = json.error as { message?: string } | undefined;
      throw new Error(`admin ${method} ${route}: ${error?.message ?? String(response.status)}`);
    }
    return json;
  };
}

interface AccountView {
  kind: Balance['kind'];
  currency: string;
  balance: WireMoney;
  entries: { kind: 'funding' | 'payment'; amount: WireMoney }[];
}

/** Buyers first, then sellers, then the gateway's own accounts: the order money flows in. */
function rank(balance: Balance): number {
  if (balance.kind === 'revenue') return 2;
  if (balance.kind === 'external') return 3;
  return CAST.find((m) => m.id === balance.owner)?.role === 'buyer' ? 0 : 1;
}

/** Every account the run touched, with how each balance came about (from its entries). */
export async function readBalances(
  admin: AdminApi,
  gatewayId: string,
  deal: { total: Money; commission: Money; commissionPercent: string },
): Promise<Balance[]> {
  const balances: Balance[] = [];
  for (const owner of [...CAST.map((m) => m.id), gatewayId]) {
    const { accounts } = (await admin('GET', `/accounts/${owner}`)) as { accounts: AccountView[] };
    for (const account of accounts) {
      const sum = (kind: 'funding' | 'payment') =>
        account.entries
          .filter((e) => e.kind === kind)
          .reduce((total, e) => total + parseMoney(e.amount, '').minor, 0n);
      const money = (minor: bigint) => minorText({ minor, currency: account.currency });
      const paid = sum('payment');
      let label = owner;
      let because = `paid in ${money(sum('funding'))}; paid ${money(-paid)} with the e-check`;
      if (account.kind === 'revenue') {
        label = `${owner} commission revenue`;
        because = `the commission: ${deal.commissionPercent} % of ${minorText(deal.total)}`;
      } else if (account.kind === 'external') {
        label = `${owner} external funding`;
        because = 'the other side of the money paid in from outside';
      } else if (paid > 0n) {
        because = `the deal’s ${minorText(deal.total)} less the ${minorText(deal.commission)} commission`;
      }
      balances.push({
        owner,
        kind: account.kind,
        label,
        balance: parseMoney(account.balance, ''),
        because,
      });
    }
  }
  return balances.sort((a, b) => rank(a) - rank(b));
}

/**
 * Seals what the seal-audit job would seal within 10 s, then verifies the whole log: every seal's
 * signature and chain, every entry against what was sealed (GET /admin/v1/audit/verify).
 */
export async function sealAndVerify(admin: AdminApi): Promise<AuditResult> {
  await admin('POST', '/audit/seal');
  const report = await admin('GET', '/audit/verify');
  const head = report.head as { seq: string; hash: string } | null;
  const problem = report.problem as { message: string } | null;
  return {
    ok: report.ok === true,
    seals: Number(report.seals),
    entries: Number(report.entries),
    unsealed: Number(report.unsealed),
    headSeq: head?.seq ?? null,
    headHash: head?.hash ?? null,
    problem: problem?.message ?? null,
  };
}
