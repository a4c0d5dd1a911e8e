import type { Config } from '../config.ts';
import { call, openAdminChannel } from './admin-channel.ts';
import { need, parse, UsageError, type Options } from './args.ts';
import { printJson, printTable, type Out } from './output.ts';

interface WireMoney {
  amount: string;
  currency: string;
}

interface AccountJson {
  kind: string;
  owner: string;
  currency: string;
  status: string;
  balance: WireMoney;
  creditLimit: WireMoney;
  held: WireMoney;
  available: WireMoney;
  holds?: { reference: string; amount: WireMoney; createdAt: string }[];
  entries?: { kind: string; reference: string | null; amount: WireMoney; at: string }[];
}

const show = (m: WireMoney) => `${m.amount} ${m.currency}`;

function printAccount(out: Out, account: AccountJson): void {
  // The gateway's own accounts have no credit or holds: their balance is all there is.
  if (account.kind !== 'partner') {
    return out(`${account.currency} (${account.kind}): balance ${show(account.balance)}`);
  }
  const status = account.status === 'active' ? '' : ` [${account.status}]`;
  out(
    `${account.currency}: balance ${show(account.balance)}, credit limit ${show(account.creditLimit)}, held ${show(account.held)}, available ${show(account.available)}${status}`,
  );
}

/** `nakadachi account fund|credit-limit|show|suspend|activate`, through the admin API. */
export async function accountCommand(
  config: Readonly<Config>,
  args: string[],
  out: Out,
): Promise<void> {
  const [sub, ...rest] = args;
  const partner = { partner: { type: 'string' } } as const;
  const money = { amount: { type: 'string' }, currency: { type: 'string' } } as const;
  const specs: Record<string, Options> = {
    fund: { ...partner, ...money, reference: { type: 'string' } },
    'credit-limit': { ...partner, ...money },
    show: { ...partner },
    suspend: { ...partner, currency: { type: 'string' } },
    activate: { ...partner, currency: { type: 'string' } },
  };
  const spec = sub === undefined ? undefined : specs[sub];
  if (sub === undefined || spec === undefined) {
    throw new UsageError(`account needs a subcommand: ${Object.keys(specs).join(', ')}`);
  }
  const values = parse(rest, spec);
  const json = values.json === true;
  for (const name of Object.keys(spec).filter((k) => k !== 'reference')) need(values, name);
  const id = encodeURIComponent(String(values.partner));

  const channel = await openAdminChannel(config);
  try {
    switch (sub) {
      case 'fund': {
        const result = await call(channel, 'POST', `/admin/v1/accounts/${id}/fundings`, {
          amount: values.amount,
          currency: values.currency,
          reference: values.reference,
        });
        if (json) return printJson(out, result);
        if (result.replayed === true) {
          out(`reference ${String(values.reference)} already funded this account: nothing added`);
        }
        return printAccount(out, result.account as AccountJson);
      }
      case 'credit-limit': {
        const result = await call(channel, 'PUT', `/admin/v1/accounts/${id}/credit-limit`, {
          amount: values.amount,
          currency: values.currency,
        });
        if (json) return printJson(out, result);
        return printAccount(out, result.account as AccountJson);
      }
      case 'suspend':
      case 'activate': {
        const result = await call(channel, 'POST', `/admin/v1/accounts/${id}/${sub}`, {
          currency: values.currency,
        });
        if (json) return printJson(out, result);
        return printAccount(out, result.account as AccountJson);
      }
      case 'show': {
        const result = await call(channel, 'GET', `/admin/v1/accounts/${id}`);
        if (json) return printJson(out, result);
        const accounts = result.accounts as AccountJson[];
        if (accounts.length === 0) {
          return out(
            `${String(values.partner)} has no account yet: fund one with \`nakadachi account fund\``,
          );
        }
        for (const account of accounts) {
          printAccount(out, account);
          for (const hold of account.holds ?? []) {
            out(`  hold   ${hold.reference}  ${show(hold.amount)}  since ${hold.createdAt}`);
          }
          const entries = account.entries ?? [];
          if (entries.length > 0) {
            printTable(
              (line) => out(`  ${line}`),
              ['AT', 'KIND', 'REFERENCE', 'AMOUNT'],
              entries.map((e) => [e.at, e.kind, e.reference ?? '-', show(e.amount)]),
            );
          }
        }
        return;
      }
    }
  } finally {
    await channel.close();
  }
}
