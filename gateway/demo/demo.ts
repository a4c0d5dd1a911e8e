/**
 * `nakadachi demo`: a real gateway on a throw-away embedded database, eight partners with their
 * own HTTP endpoints in this process, and one deal played through both seed systems — the
 * trading flow (000) and the e-check order (004) — over the wire. Deadlines are real but a few
 * seconds long, and the judges are the gateway's own jobs.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Out } from '../cli/output.ts';
import { loadConfig } from '../config.ts';
import { operationsOverview } from '../core/operations/overview.service.ts';
import { createLogger } from '../logger.ts';
import { startGateway, type Gateway } from '../main.ts';
import { adminApi, readBalances, sealAndVerify } from './admin-client.ts';
import { CAST } from './cast.ts';
import { newStory } from './meaning.ts';
import { printReport, type AuditResult, type Balance, type Report } from './report.ts';
import { playScenario, type DealFacts } from './scenario.ts';
import { setUpStage, type Stage } from './stage.ts';
import { printParagraph, type DemoEvent } from './timeline.ts';

export interface DemoOptions {
  out: Out;
  /** Leave the data directory for the console instead of removing it. */
  keep?: boolean;
  /** JSON lines instead of text. */
  json?: boolean;
  /** ANSI colours (the CLI turns them on for a terminal without NO_COLOR). */
  color?: boolean;
  /** Line width of the text output (at least 80). */
  width?: number;
  /** Stops the demo (Ctrl-C): waits end, the gateway stops, the directory is cleaned up. */
  signal?: AbortSignal;
}

export interface DemoResult {
  dataDir: string;
  kept: boolean;
  events: DemoEvent[];
  deal: DealFacts;
  balances: Balance[];
  audit: AuditResult;
  durationMs: number;
}

const COMMISSION_PERCENT = '2.5';
/** How long organs and carriers may answer a call for terms. */
const TENDER_WINDOW_S = 4;
/** Where `nakadachi serve` listens by default, for the console address after --keep. */
const SERVE_PORT = 8080;

function printIntro(out: Out, width: number): void {
  out('Nakadachi demo');
  out('==============');
  out('');
  printParagraph(
    out,
    'Nakadachi (仲立ち, "go-between") is a gateway that companies trading with each other send their business documents to, as XML or JSON over HTTPS. For every document it checks who sent it and that it matches its published schema, stores the exact bytes in a tamper-evident log, answers with a receipt it signs, acts on it, and pushes the documents that follow to the companies concerned. It plays two parts at once:',
    width,
  );
  out('');
  printParagraph(
    out,
    'the intermediary of a market for new products not yet released: buyers reserve, sellers bid, the gateway selects the most suitable seller, then settlement organs (payment providers) and carriers compete for the deal;',
    width,
    '    ',
    '  - ',
  );
  printParagraph(
    out,
    'the electronic-check manager: it keeps every partner’s account, judges the buyer’s credit, issues a signed e-check, validates it before the seller ships, and pays the seller exactly once.',
    width,
    '    ',
    '  - ',
  );
  out('');
  printParagraph(
    out,
    'This demo plays one deal through both, end to end, on a throw-away gateway. Weeks of business are squeezed into seconds: bidding and tenders stay open for a few seconds only.',
    width,
  );
  out('');
}

function printCast(out: Out, width: number): void {
  printParagraph(
    out,
    'The cast — eight partner companies, each a small web server in this process that the gateway pushes signed documents to, in the format the partner speaks:',
    width,
  );
  out('');
  for (const m of CAST) {
    out(`  ${m.id.padEnd(10)} ${m.name.padEnd(30)} ${m.role.padEnd(11)} ${m.format.toUpperCase()}`);
  }
  out(`  ${'G'.padEnd(10)} the gateway itself (NAKADACHI)`);
  const notes = [
    'A settlement organ is a payment provider that settles the payment between buyer and seller; a carrier transports the goods.',
    `BUYER-A has new catalogue items pushed at once (a real-time item feed), SELLER-A new reservations; BUYER-B and SELLER-B ask when they want to know. The gateway takes a commission of ${COMMISSION_PERCENT} % of each deal.`,
    'Each row below is one step: seconds since the first document, who sends to whom ("G" is the gateway), the document type, and what it says. Every document the gateway accepts is also answered with a signed receipt, which its sender verifies (not shown as rows).',
  ];
  for (const text of notes) {
    out('');
    printParagraph(out, text, width);
  }
}

/**
 * The outbox once every push has been answered: a partner's 200 is recorded by the deliverer a
 * moment after the partner saw the document. (The admin API has no outbox summary; this is what
 * the console's overview shows.)
 */
async function settledOutbox(
  gateway: Gateway,
  signal: AbortSignal | undefined,
): Promise<Record<string, number>> {
  const until = Date.now() + 5000;
  for (;;) {
    const { outbox } = await operationsOverview(gateway.database.db);
    if ((outbox.pending ?? 0) + (outbox.delivering ?? 0) === 0 || Date.now() > until) return outbox;
    await sleep(50, undefined, { signal });
  }
}

export async function runDemo(options: DemoOptions): Promise<DemoResult> {
  const { out, signal } = options;
  const json = options.json === true;
  const keep = options.keep === true;
  const width = Math.max(80, options.width ?? 120);
  const started = Date.now();
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'nakadachi-demo-'));
  const adminToken = randomBytes(24).toString('base64url');
  const say = (line: string) => {
    if (!json) out(line);
  };
  let gateway: Gateway | undefined;
  let stage: Stage | undefined;
  let report: Report | undefined;
  let result: DemoResult | undefined;

  try {
    if (!json) printIntro(out, width);
    say(
      `Starting the gateway on a temporary embedded database (PGlite) in ${dataDir}; creating its tables takes a few seconds …`,
    );
    // Settings of its own only: never a configured database, data directory or port.
    const config = loadConfig({
      DATA_DIR: dataDir,
      HOST: '127.0.0.1',
      PORT: '0',
      ADMIN_TOKEN: adminToken,
      ALLOW_INSECURE_ENDPOINTS: 'true',
      LOG_LEVEL: 'silent',
      COMMISSION_RATE_PERCENT: COMMISSION_PERCENT,
      TENDER_WINDOW_S: String(TENDER_WINDOW_S),
      // A push that fails is retried within a blink instead of a second.
      DELIVERY_RETRY_BASE_MS: '50',
      DELIVERY_RETRY_MAX_MS: '1000',
      SHUTDOWN_TIMEOUT_MS: '3000',
    });
    gateway = await startGateway(config, { logger: createLogger('silent') });
    const url = gateway.url ?? '';
    say(`… ready at ${url} after ${((Date.now() - started) / 1000).toFixed(1)} s.`);
    say('');
    if (json) {
      out(
        JSON.stringify({
          kind: 'start',
          gateway: url,
          dataDir,
          cast: CAST.map(({ id, name, role, format }) => ({ id, name, role, format })),
        }),
      );
    } else {
      printCast(out, width);
    }

    const admin = adminApi(url, adminToken);
    stage = await setUpStage({
      gateway,
      admin,
      story: newStory({ 'JP-27': 'Osaka', 'JP-01': 'Hokkaido' }),
      timeline: { out, json, color: options.color === true, width },
      signal,
    });
    const deal = await playScenario(stage);

    const facts = stage.facts();
    if (facts.problems.length > 0) throw new Error(`pushes refused: ${facts.problems.join('; ')}`);
    const balances = await readBalances(admin, config.gatewayId, {
      total: deal.total,
      commission: deal.commission,
      commissionPercent: COMMISSION_PERCENT,
    });
    const outbox = await settledOutbox(gateway, signal);
    const audit = await sealAndVerify(admin);
    report = {
      balances,
      audit,
      delivery: {
        receiptsVerified: facts.receiptsVerified,
        pushes: facts.pushes,
        repeats: facts.repeats,
        outbox,
      },
      dataDir,
      kept: keep,
      serveCommand: `DATA_DIR=${dataDir} ADMIN_TOKEN=${adminToken} npx nakadachi serve`,
      consoleUrl: `http://localhost:${SERVE_PORT}/console`,
      dealTimelineUrl: `http://localhost:${SERVE_PORT}/console/timeline?id=${deal.dealId}`,
      durationMs: 0,
    };
    result = {
      dataDir,
      kept: keep,
      events: stage.timeline.events,
      deal,
      balances,
      audit,
      durationMs: 0,
    };
  } catch (error) {
    // Ctrl-C surfaces as whichever wait it cut short; say what happened instead.
    if (signal?.aborted === true) {
      throw new Error(
        keep
          ? `interrupted: the demo gateway is stopped; its data is in ${dataDir}`
          : 'interrupted: the demo gateway is stopped and its temporary data removed',
      );
    }
    throw error;
  } finally {
    await gateway?.stop();
    await stage?.close();
    if (!keep) rmSync(dataDir, { recursive: true, force: true });
  }
  // Printed once everything is closed, so "removed" is already true and the time is the whole run.
  const durationMs = Date.now() - started;
  printReport(out, { ...report, durationMs }, { json, width });
  return { ...result, durationMs };
}
