/**
 * The end of the demo: the balances the ledger holds, what the audit verification found, and
 * where the data is — as text for people or as JSON lines (money as wire decimal strings).
 */
import type { Out } from '../cli/output.ts';
import { formatMoney, type Money } from '../core/money.ts';
import { minorText } from './format.ts';
import { printParagraph, PROSE_W, wrap } from './timeline.ts';

export interface Balance {
  owner: string;
  /** partner: a partner's own account; revenue and external: the gateway's. */
  kind: 'partner' | 'revenue' | 'external';
  /** The account in words: "BUYER-A", "NAKADACHI commission revenue". */
  label: string;
  balance: Money;
  /** How it got there, in words. */
  because: string;
}

export interface AuditResult {
  ok: boolean;
  seals: number;
  entries: number;
  unsealed: number;
  headSeq: string | null;
  headHash: string | null;
  problem: string | null;
}

export interface DeliveryFacts {
  receiptsVerified: number;
  pushes: number;
  repeats: number;
  /** Outbox rows by status once the demo is over (all should be delivered). */
  outbox: Record<string, number>;
}

export interface Report {
  balances: Balance[];
  audit: AuditResult;
  delivery: DeliveryFacts;
  dataDir: string;
  kept: boolean;
  /** `serve` command line for the console (when kept). */
  serveCommand: string;
  consoleUrl: string;
  dealTimelineUrl: string;
  durationMs: number;
}

function sumOf(balances: readonly Balance[]): Money {
  const currency = balances[0]?.balance.currency ?? 'JPY';
  return { minor: balances.reduce((total, b) => total + b.balance.minor, 0n), currency };
}

export function printReport(out: Out, report: Report, options: { json: boolean; width: number }) {
  if (options.json) {
    out(
      JSON.stringify({
        kind: 'balances',
        accounts: report.balances.map((b) => ({
          owner: b.owner,
          account: b.kind,
          balance: formatMoney(b.balance),
        })),
        sum: formatMoney(sumOf(report.balances)),
      }),
    );
    out(JSON.stringify({ kind: 'audit', ...report.audit, ...report.delivery }));
    out(
      JSON.stringify({
        kind: 'end',
        dataDir: report.dataDir,
        kept: report.kept,
        ...(report.kept ? { serve: report.serveCommand, console: report.consoleUrl } : {}),
        durationMs: report.durationMs,
      }),
    );
    return;
  }
  const para = (text: string) => printParagraph(out, text, options.width, '  ');

  out('');
  out('Final balances — from the gateway’s double-entry ledger');
  const rows = [
    ...report.balances.map((b) => [b.label, minorText(b.balance), b.because] as const),
    [
      'sum of all accounts',
      minorText(sumOf(report.balances)),
      'every transfer sums to zero',
    ] as const,
  ];
  const labelW = Math.max(...rows.map((r) => r[0].length));
  const amountW = Math.max(...rows.map((r) => r[1].length));
  const becauseAt = 2 + labelW + 2 + amountW + 2;
  for (const [label, amount, because] of rows) {
    const [first = '', ...rest] = wrap(
      because,
      Math.max(30, Math.min(options.width, PROSE_W) - becauseAt),
    );
    out(`  ${label.padEnd(labelW)}  ${amount.padStart(amountW)}  ${first}`);
    for (const line of rest) out(`${' '.repeat(becauseAt)}${line}`);
  }
  out('');
  para(
    'The ledger carries the e-check payment and the fundings only; the settlement and transport fees agreed in C are not booked in it.',
  );

  const { audit, delivery } = report;
  out('');
  out('Audit — can an auditor prove what happened?');
  para(
    `The message log holds ${audit.entries + audit.unsealed} entries: every document received or sent, with its exact bytes and their SHA-256, and every delivery attempt. It is append-only, and sealed into signed seals, each chained to the one before.`,
  );
  if (audit.ok) {
    const head =
      audit.headHash === null ? '' : ` The last seal's hash is ${audit.headHash.slice(0, 16)}…`;
    const later =
      audit.unsealed === 0 ? '' : ` (${audit.unsealed} newer entries wait for the next seal)`;
    para(
      `Audit verification: OK — ${audit.seals} seal${audit.seals === 1 ? '' : 's'} and ${audit.entries} entries checked against their signatures and hashes: nothing altered, missing or reordered${later}.${head}`,
    );
  } else {
    para(`Audit verification: FAILED — ${audit.problem ?? 'unknown problem'}`);
  }
  para(
    `Receipts: the partners checked ${delivery.receiptsVerified} signed receipts against the gateway’s published keys (/.well-known/jwks.json); each vouches for the exact bytes sent.`,
  );
  const outbox = Object.entries(delivery.outbox)
    .map(([status, n]) => `${n} ${status}`)
    .join(', ');
  para(
    `Pushes: ${delivery.pushes} documents pushed to the partners, every Standard Webhooks signature valid; ${delivery.repeats} repeated; outbox: ${outbox}.`,
  );

  out('');
  out('Where the data is');
  if (report.kept) {
    para(`Kept in ${report.dataDir}. To look around in the operator console, run:`);
    out(`    ${report.serveCommand}`);
    para(
      `then open ${report.consoleUrl} and log in with that ADMIN_TOKEN. The deal's whole story, every document in and out: ${report.dealTimelineUrl}`,
    );
  } else {
    para(
      'The temporary data directory has been removed. Run `npx nakadachi demo --keep` to keep it and open the operator console on it afterwards.',
    );
  }
  out('');
  out(`Done in ${(report.durationMs / 1000).toFixed(1)} s.`);
}
