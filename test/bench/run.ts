/**
 * `npm run bench [-- --quick]`: measures the gateway and reference apps in the same run, on the
 * same machine, documents and load, and writes bench-results.json.
 *
 *   1. ingest       ~1 KB XML PurchaseReservations and OrderBids through the full path, 64
 *                   connections, autocannon in its own process; docs/s, p50/p99, gateway RSS
 *   2. references   the same load on a bare Hono echo, a parse + validate app, and a minimal
 *                   ingest (parse, validate, INSERT in its own transaction on the same database);
 *                   the gateway and they take the load in turns, ROUNDS times (medians)
 *   3. delivery     N queued documents pushed to a local receiver process that counts them
 *   4. judging      R reservations × 10 bids closing together: seconds to award all
 *   5. file drop    an NDJSON file of F documents dropped into a real gateway process's inbox
 *
 * PGlite by default (a temporary data directory per phase, holding a copy of one migrated
 * database); PostgreSQL when DATABASE_URL is set (a fresh schema per phase, dropped afterwards):
 * stores.ts. Traffic goes to 127.0.0.1 only.
 * `--profile`: the ingest gateway and the reference apps run with --cpu-prof and leave their
 *   profiles in bench-profiles/<app>/ (the main thread's is the largest file)
 * (open it in Chrome DevTools or speedscope).
 */
import { spawn, type ChildProcess, type ChildProcessByStdio } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import { sql } from 'kysely';
import { createRenderer } from '../../adapters/codec/render.ts';
import { loadConfig } from '../../gateway/config.ts';
import { enqueueOutboundMany } from '../../gateway/core/delivery/outbox.ts';
import { judgeDueReservations } from '../../gateway/core/trading/trading.service.ts';
import { judgingLanes } from '../../jobs/judge-reservations.ts';
import { createLogger } from '../../gateway/logger.ts';
import { buildServices, startGateway, startGatewayJobs } from '../../gateway/main.ts';
import { createSchemaRegistry } from '../../schemas/registry.ts';
import type { LoadPlan } from './documents.ts';
import type { LoadArgs } from './load.ts';
import { builtGatewayCli, startBuiltGateway } from './built-gateway.ts';
import { measureBatchIngest } from './file-drop.ts';
import { freshStore as freshStoreOf, migratedPglite, type Store } from './stores.ts';
import { checkTargets, formatTargets } from './targets.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const quick = process.argv.includes('--quick');
/** `--only=ingest,judging`: run some phases only (for work on one of them); the default is all. */
const only = process.argv
  .find((a) => a.startsWith('--only='))
  ?.slice('--only='.length)
  .split(',');
const runs = (phase: string) => only === undefined || only.includes(phase);
const profile = process.argv.includes('--profile');
/**
 * Seconds of load before the rounds (the gateway has far more code for V8 to optimise than a
 * reference app: with a 1 s warm-up its first quick round was the slowest in 9 runs of 10), seconds
 * of each round, and the sizes of phases 3–5.
 */
const SIZE = quick
  ? {
      gatewayWarmupS: 3,
      warmupS: 1,
      loadS: 1.5,
      deliveries: 3_000,
      reservations: 500,
      fileDocs: 3_000,
    }
  : {
      gatewayWarmupS: 5,
      warmupS: 5,
      loadS: 10,
      deliveries: 50_000,
      reservations: 10_000,
      fileDocs: 100_000,
    };
/**
 * Ingest and the references take their load in turns, ROUNDS times SIZE.loadS each: a shared
 * machine's speed drifts by the minute, and taking turns spreads the drift over all of them alike.
 * Each figure is the median of its rounds; a ratio is the median of the rounds' ratios.
 */
const ROUNDS = 3;
const CONNECTIONS = 64;
const ADMIN_TOKEN = `bench-${randomBytes(16).toString('hex')}`;
const baseUrl = process.env.DATABASE_URL;
const dbKind = baseUrl === undefined ? 'pglite' : 'postgres';

function log(message: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
}

// --- places to keep data: a temp dir (PGlite) or a fresh schema (PostgreSQL) -----------------

const cleanups: (() => Promise<void>)[] = [];

/** A phase's own migrated database (see stores.ts), dropped when the bench ends. */
async function freshStore(name: string): Promise<Store> {
  const store = await freshStoreOf(name, baseUrl);
  cleanups.push(() => store.drop());
  return store;
}

// --- child processes -----------------------------------------------------------------------

/** With `--profile`, a served app writes its CPU profiles to bench-profiles/<name>/. */
function profileArgs(name: string): string[] {
  if (!profile) return [];
  return ['--cpu-prof', `--cpu-prof-dir=${path.join(ROOT, 'bench-profiles', name)}`];
}

/** A child the bench talks to: stdin and stdout piped, stderr shared with the bench's. */
type Child = ChildProcessByStdio<Writable, Readable, null>;

function tsxChild(
  script: string,
  args: string[],
  env: Record<string, string>,
  nodeArgs: string[] = [],
): Child {
  return spawn(process.execPath, [...nodeArgs, '--import', 'tsx', script, ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    // stdin a pipe: the load generator reads its loads from it; the others never read it
    stdio: ['pipe', 'pipe', 'inherit'],
  });
}

/** Waits for a line on the child's stdout matching `pattern`; returns its first group. */
function waitFor(child: ChildProcess, pattern: RegExp, what: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const onData = (chunk: Buffer) => {
      seen += chunk.toString();
      const match = pattern.exec(seen);
      if (match?.[1] !== undefined) {
        child.stdout?.off('data', onData);
        resolve(match[1]);
      }
    };
    child.stdout?.on('data', onData);
    child.once('exit', (code) =>
      reject(new Error(`${what} exited (${code}) before it was ready:\n${seen.slice(-2000)}`)),
    );
  });
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([exited, new Promise((resolve) => (timer = setTimeout(resolve, 10_000)))]);
  clearTimeout(timer);
  if (child.exitCode === null) child.kill('SIGKILL');
}

function rssMb(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return kb / 1024;
}

/** CPU seconds (user + system) the process has used so far. */
function cpuSeconds(pid: number): number {
  const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  const ticks = Number(fields[11] ?? 0) + Number(fields[12] ?? 0);
  return ticks / 100; // USER_HZ is 100 on Linux
}

/**
 * CPU seconds used so far by each of the local PostgreSQL server's processes, by pid (none on
 * PGlite, which runs inside the gateway, or when the server is not on this machine): the two share
 * the cores.
 */
function postgresCpuByProcess(): Map<number, number> {
  const used = new Map<number, number>();
  if (baseUrl === undefined) return used;
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      if (stat.includes('(postgres)')) used.set(Number(entry), cpuSeconds(Number(entry)));
    } catch {
      // the process ended while we looked
    }
  }
  return used;
}

/**
 * The CPU seconds PostgreSQL's processes used since `before`: each living process's growth (a
 * process started since counts from zero). A process that ended meanwhile — a pool's idle
 * connection, another app's — takes its share with it: an undercount, never a negative.
 */
function postgresCpuSince(before: Map<number, number>): number {
  let total = 0;
  for (const [pid, seconds] of postgresCpuByProcess()) total += seconds - (before.get(pid) ?? 0);
  return total;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}

interface LoadResult {
  requests: number;
  docsPerSec: number;
  p50Ms: number;
  p99Ms: number;
  non2xx: number;
  errors: number;
  timeouts: number;
}

/** What the served app (and the PostgreSQL server beside it) spent per document. */
interface LoadCosts {
  rssMb?: number;
  peakRssMb?: number;
  cpuMsPerDoc?: number;
  dbCpuMsPerDoc?: number;
}

/**
 * The load generator's process (test/bench/load.ts), started with the run and kept for it: one
 * load at a time, each a line in and a line out.
 */
let generator: { child: Child; answers: AsyncIterator<string> } | undefined;

function loadGenerator(): NonNullable<typeof generator> {
  if (generator === undefined) {
    const child = tsxChild('test/bench/load.ts', [], {});
    generator = {
      child,
      answers: createInterface({ input: child.stdout })[Symbol.asyncIterator](),
    };
    cleanups.push(async () => {
      child.stdin.end();
      await stop(child);
    });
  }
  return generator;
}

async function generate(args: LoadArgs): Promise<LoadResult> {
  const { child, answers } = loadGenerator();
  child.stdin.write(`${JSON.stringify(args)}\n`);
  const answer = await answers.next();
  if (answer.done === true)
    throw new Error(`the load generator exited (${child.exitCode}) during a load`);
  return JSON.parse(answer.value) as LoadResult;
}

async function runLoad(
  plan: LoadPlan,
  durationS: number,
  sampleRssOf?: number,
): Promise<LoadResult & LoadCosts> {
  const samples: number[] = [];
  const cpuBefore = sampleRssOf === undefined ? 0 : cpuSeconds(sampleRssOf);
  const dbCpuBefore = postgresCpuByProcess();
  const sampler =
    sampleRssOf === undefined
      ? undefined
      : setInterval(() => samples.push(rssMb(sampleRssOf)), 250);
  const result = await generate({
    plan,
    connections: CONNECTIONS,
    durationS,
    path: '/v1/documents',
  }).finally(() => clearInterval(sampler));
  if (sampleRssOf === undefined || samples.length === 0) return result;
  const cpuMs = (cpuSeconds(sampleRssOf) - cpuBefore) * 1000;
  const dbCpuMs = postgresCpuSince(dbCpuBefore) * 1000;
  return {
    ...result,
    rssMb: median(samples),
    peakRssMb: Math.max(...samples),
    cpuMsPerDoc: result.requests === 0 ? 0 : cpuMs / result.requests,
    dbCpuMsPerDoc: result.requests === 0 ? 0 : dbCpuMs / result.requests,
  };
}

// --- 1. ingest through the gateway -------------------------------------------------------

interface Admin {
  url: string;
  call(method: string, route: string, body?: unknown): Promise<Record<string, unknown>>;
  post(apiKey: string, document: string): Promise<Record<string, unknown>>;
}

function adminOf(url: string): Admin {
  return {
    url,
    async call(method, route, body) {
      const response = await fetch(`${url}${route}`, {
        method,
        headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      if (response.status >= 300)
        throw new Error(`${method} ${route}: ${response.status} ${await response.text()}`);
      return (await response.json()) as Record<string, unknown>;
    },
    async post(apiKey, document) {
      const response = await fetch(`${url}/v1/documents`, {
        method: 'POST',
        headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
        body: document,
      });
      const json = (await response.json()) as {
        body?: { assigned?: { name: string; value: string }[] };
      };
      if (response.status !== 200)
        throw new Error(`seeding failed: ${response.status} ${JSON.stringify(json)}`);
      return Object.fromEntries((json.body?.assigned ?? []).map((a) => [a.name, a.value]));
    },
  };
}

/** Partners, one item carried by every seller, and open reservations for the bids to land on. */
/** Sellers and buyers each: ten, so that judging sees ten bids (one per seller) per reservation. */
const PARTNERS_PER_ROLE = 10;

async function seed(admin: Admin, reservations: number): Promise<Omit<LoadPlan, 'url' | 'runTag'>> {
  const sellers: { id: string; apiKey: string }[] = [];
  const buyers: { id: string; apiKey: string }[] = [];
  for (let i = 0; i < PARTNERS_PER_ROLE; i++) {
    const seller = await admin.call('POST', '/admin/v1/partners', {
      id: `BENCH-S${i}`,
      name: `Seller ${i}`,
      roles: ['seller'],
    });
    sellers.push({ id: `BENCH-S${i}`, apiKey: String(seller.apiKey) });
    const buyer = await admin.call('POST', '/admin/v1/partners', {
      id: `BENCH-B${i}`,
      name: `Buyer ${i}`,
      roles: ['buyer'],
    });
    buyers.push({ id: `BENCH-B${i}`, apiKey: String(buyer.apiKey) });
  }
  const notice = (seller: string, itemId?: string) =>
    JSON.stringify({
      header: {
        messageId: `${seller}-ITEM`,
        type: 'ItemNotice',
        sender: seller,
        sentAt: '2036-01-01T00:00:00Z',
      },
      body: {
        sellerItemId: `${seller}-HX9`,
        ...(itemId === undefined ? {} : { itemId }),
        name: 'Aozora HX-9 Wireless ANC Headphones',
        category: 'audio/headphones',
        releaseDate: '2036-12-01',
        listPrice: { amount: '32800', currency: 'JPY' },
        quantityAvailable: 100000,
      },
    });
  const { itemId } = await admin.post(sellers[0]!.apiKey, notice(sellers[0]!.id));
  for (const seller of sellers.slice(1))
    await admin.post(seller.apiKey, notice(seller.id, String(itemId)));
  const deadline = new Date(Date.now() + 30 * 86_400_000).toISOString();
  const reserve = async (i: number) => {
    const buyer = buyers[i % buyers.length]!;
    const { reservationId } = await admin.post(
      buyer.apiKey,
      JSON.stringify({
        header: {
          messageId: `${buyer.id}-SEED-${i}`,
          type: 'PurchaseReservation',
          sender: buyer.id,
          sentAt: '2036-01-01T00:00:00Z',
        },
        body: {
          itemId,
          quantity: 100,
          maxUnitPrice: { amount: '31000', currency: 'JPY' },
          neededBy: '2036-06-30',
          biddingDeadline: deadline,
        },
      }),
    );
    return String(reservationId);
  };
  // Ten at a time (one per buyer): they depend on nothing but the item.
  const reservationIds: string[] = [];
  for (let i = 0; i < reservations; i += buyers.length) {
    const next = Array.from({ length: Math.min(buyers.length, reservations - i) }, (_, j) => i + j);
    reservationIds.push(...(await Promise.all(next.map(reserve))));
  }
  return { sellers, buyers, itemId: String(itemId), reservationIds, deadline };
}

/** A served app the load takes turns on: the gateway or a reference app. */
interface Served {
  url: string;
  pid: number;
  stop(): Promise<void>;
}

/** The gateway, seeded and warmed up: the plan of the documents every app is sent. */
async function startIngest(): Promise<{ gateway: Served; plan: LoadPlan }> {
  const store = await freshStore('ingest');
  const gateway = await startBuiltGateway(
    {
      ...store.env,
      ADMIN_TOKEN,
      RATE_LIMIT_PER_SECOND: '0',
      // info: the start-up line carries the URL; accepted documents log at debug, so the load
      // itself writes nothing
      LOG_LEVEL: 'info',
    },
    profileArgs('gateway'),
  );
  try {
    const admin = adminOf(gateway.url);
    log(`ingest: gateway on ${gateway.url} (${dbKind}), seeding`);
    const seeded = await seed(admin, 200);
    const plan = { ...seeded, url: gateway.url, runTag: 'W' };
    log(`ingest: warming up ${SIZE.gatewayWarmupS} s`);
    await runLoad(plan, SIZE.gatewayWarmupS);
    return { gateway, plan };
  } catch (error) {
    await gateway.stop();
    throw error;
  }
}

/** One turn of load on the gateway, with what held its thread meanwhile. */
async function ingestRound(gateway: Served, plan: LoadPlan, turn: number) {
  log(`ingest, round ${turn}: ${SIZE.loadS} s at ${CONNECTIONS} connections`);
  const before = await scrapePauses(gateway.url);
  const result = await runLoad({ ...plan, runTag: `L${turn}` }, SIZE.loadS, gateway.pid);
  const after = await scrapePauses(gateway.url);
  return { result, pauses: pausesBetween(before, after) };
}

/**
 * What held the gateway's thread during the load, from its own Prometheus metrics: the event
 * loop's delay (prom-client's histogram restarts at every scrape, so the second scrape covers the
 * load alone) and the garbage collector's time (cumulative, so the two scrapes are subtracted).
 */
interface PauseSample {
  loopP99Ms: number;
  loopMaxMs: number;
  gcSeconds: Map<string, { sum: number; count: number; over10ms: number }>;
}

async function scrapePauses(url: string): Promise<PauseSample> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const value = (name: string) =>
    Number(new RegExp(`^${name} ([0-9.e+-]+)$`, 'm').exec(text)?.[1] ?? 0) * 1000;
  const gcSeconds = new Map<string, { sum: number; count: number; over10ms: number }>();
  const gc =
    /^nakadachi_nodejs_gc_duration_seconds_(sum|count|bucket)\{(?:le="([^"]+)",)?kind="(\w+)"\} ([0-9.e+-]+)$/gm;
  for (const [, field, le, kind, amount] of text.matchAll(gc)) {
    const entry = gcSeconds.get(kind!) ?? { sum: 0, count: 0, over10ms: 0 };
    if (field === 'sum') entry.sum = Number(amount);
    if (field === 'count') entry.count = Number(amount);
    if (field === 'bucket' && le === '0.01') entry.over10ms = -Number(amount);
    gcSeconds.set(kind!, entry);
  }
  for (const entry of gcSeconds.values()) entry.over10ms += entry.count;
  return {
    loopP99Ms: value('nakadachi_nodejs_eventloop_lag_p99_seconds'),
    loopMaxMs: value('nakadachi_nodejs_eventloop_lag_max_seconds'),
    gcSeconds,
  };
}

export interface Pauses {
  loopP99Ms: number;
  loopMaxMs: number;
  /** per kind of collection (major, minor, incremental, weakcb): time, count, count over 10 ms */
  gc: Record<string, { ms: number; count: number; over10ms: number }>;
}

function pausesBetween(before: PauseSample, after: PauseSample): Pauses {
  const gc: Pauses['gc'] = {};
  for (const [kind, end] of after.gcSeconds) {
    const start = before.gcSeconds.get(kind) ?? { sum: 0, count: 0, over10ms: 0 };
    gc[kind] = {
      ms: round((end.sum - start.sum) * 1000),
      count: end.count - start.count,
      over10ms: end.over10ms - start.over10ms,
    };
  }
  return { loopP99Ms: round(after.loopP99Ms, 1), loopMaxMs: round(after.loopMaxMs, 1), gc };
}

// --- 2. the reference apps -------------------------------------------------------------------

type ReferenceMode = 'echo' | 'parse' | 'ingest';

/** A reference app, listening (not yet warmed up: it needs the plan, which seeding makes). */
async function startReference(mode: ReferenceMode): Promise<Served> {
  const env = mode === 'ingest' ? (await freshStore('ref_ingest')).env : {};
  const app = tsxChild('test/bench/reference-app.ts', [mode], env, profileArgs(mode));
  try {
    const url = await waitFor(app, /listening (http:\S+)/, `reference ${mode}`);
    return { url, pid: app.pid!, stop: () => stop(app) };
  } catch (error) {
    await stop(app);
    throw error;
  }
}

function referenceRound(mode: ReferenceMode, app: Served, plan: LoadPlan, turn: number) {
  log(`reference ${mode}, round ${turn}: ${SIZE.loadS} s at ${CONNECTIONS} connections`);
  return runLoad({ ...plan, url: app.url, runTag: `${mode}L${turn}` }, SIZE.loadS, app.pid);
}

/** The median of each figure over the rounds (the peak RSS: the highest). */
function medianOfRounds(rounds: readonly (LoadResult & LoadCosts)[]): LoadResult & LoadCosts {
  const of = (pick: (r: LoadResult & LoadCosts) => number | undefined) =>
    median(rounds.map((r) => pick(r) ?? 0));
  return {
    requests: rounds.reduce((sum, r) => sum + r.requests, 0),
    docsPerSec: of((r) => r.docsPerSec),
    p50Ms: of((r) => r.p50Ms),
    p99Ms: of((r) => r.p99Ms),
    non2xx: rounds.reduce((sum, r) => sum + r.non2xx, 0),
    errors: rounds.reduce((sum, r) => sum + r.errors, 0),
    timeouts: rounds.reduce((sum, r) => sum + r.timeouts, 0),
    rssMb: of((r) => r.rssMb),
    peakRssMb: Math.max(...rounds.map((r) => r.peakRssMb ?? 0)),
    cpuMsPerDoc: of((r) => r.cpuMsPerDoc),
    dbCpuMsPerDoc: of((r) => r.dbCpuMsPerDoc),
  };
}

/** The pauses of several rounds: the median p99 delay, the longest delay, GC added up. */
function pausesOfRounds(rounds: readonly Pauses[]): Pauses {
  const gc: Pauses['gc'] = {};
  for (const pauses of rounds) {
    for (const [kind, g] of Object.entries(pauses.gc)) {
      const sum = (gc[kind] ??= { ms: 0, count: 0, over10ms: 0 });
      sum.ms = round(sum.ms + g.ms);
      sum.count += g.count;
      sum.over10ms += g.over10ms;
    }
  }
  return {
    loopP99Ms: median(rounds.map((r) => r.loopP99Ms)),
    loopMaxMs: Math.max(...rounds.map((r) => r.loopMaxMs)),
    gc,
  };
}

/**
 * Phases 1 and 2: the gateway and the references (when asked for) all started, then loaded in
 * turns, round after round (see ROUNDS).
 */
async function benchIngestAndReferences(withReferences: boolean) {
  // All start together (each takes seconds, mostly waiting); they are warmed up one by one.
  const modes = withReferences ? (['echo', 'parse', 'ingest'] as const) : [];
  const [ingest, ...launched] = await Promise.allSettled([
    startIngest(),
    ...modes.map(async (mode) => [mode, await startReference(mode)] as const),
  ]);
  const references = new Map<ReferenceMode, Served>(
    launched.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : [])),
  );
  if (ingest.status === 'rejected' || references.size < modes.length) {
    const apps = [...references.values()];
    if (ingest.status === 'fulfilled') apps.push(ingest.value.gateway);
    await Promise.all(apps.map((app) => app.stop()));
    const failed = [ingest, ...launched].find((r) => r.status === 'rejected');
    throw failed?.reason;
  }
  const { gateway, plan } = ingest.value;
  try {
    for (const [mode, app] of references) {
      log(`reference ${mode}: warming up ${SIZE.warmupS} s`);
      await runLoad({ ...plan, url: app.url, runTag: `${mode}W` }, SIZE.warmupS);
    }
    const ingestRounds: Awaited<ReturnType<typeof ingestRound>>[] = [];
    const referenceRounds = new Map<ReferenceMode, (LoadResult & LoadCosts)[]>();
    for (let turn = 1; turn <= ROUNDS; turn++) {
      ingestRounds.push(await ingestRound(gateway, plan, turn));
      for (const [mode, app] of references) {
        const rounds = referenceRounds.get(mode) ?? [];
        rounds.push(await referenceRound(mode, app, plan, turn));
        referenceRounds.set(mode, rounds);
      }
    }
    /** Each round's gateway docs/s divided by the reference's (empty when it was not run). */
    const ratiosByRound = (mode: ReferenceMode) =>
      (referenceRounds.get(mode) ?? []).map((r, i) =>
        ratio(ingestRounds[i]!.result.docsPerSec, r.docsPerSec),
      );
    const referenceOf = (mode: ReferenceMode) => {
      const rounds = referenceRounds.get(mode);
      return rounds === undefined ? undefined : medianOfRounds(rounds);
    };
    return {
      ingest: {
        result: medianOfRounds(ingestRounds.map((r) => r.result)),
        pauses: pausesOfRounds(ingestRounds.map((r) => r.pauses)),
        rounds: ingestRounds.map((r) => round(r.result.docsPerSec)),
      },
      references: {
        echo: referenceOf('echo'),
        parseValidate: referenceOf('parse'),
        minimalIngest: referenceOf('ingest'),
      },
      ratios: {
        // The median of the rounds' ratios (0 when not run: the median of nothing).
        vsEcho: median(ratiosByRound('echo')),
        vsParseValidate: median(ratiosByRound('parse')),
        vsMinimalIngest: median(ratiosByRound('ingest')),
        vsMinimalIngestByRound: ratiosByRound('ingest'),
      },
    };
  } finally {
    await Promise.all([gateway, ...references.values()].map((app) => app.stop()));
  }
}

// --- 3. push delivery ------------------------------------------------------------------------

async function benchDelivery() {
  const store = await freshStore('delivery');
  const config = loadConfig({
    ...store.env,
    PORT: '0',
    HOST: '127.0.0.1',
    ROLE: 'api',
    ALLOW_INSECURE_ENDPOINTS: 'true',
    // One receiver, configured as a partner that takes more than the default 8 pushes in flight
    // would be. 128 in flight over the push client's 64 sockets to one host: a socket that
    // answers takes the next push at once, instead of idling until the deliverer's next claim.
    // Alternated six times on PostgreSQL: a median of 2,780 docs/s against 2,260 with 64 in
    // flight; 128 sockets did worse (test/bench/HISTORY.md, the eleventh round).
    DELIVERY_PER_PARTNER: '128',
    DELIVERY_CONCURRENCY: '128',
    LOG_LEVEL: 'warn',
    ADMIN_TOKEN,
  });
  const receiver = tsxChild('test/bench/receiver.ts', [], {});
  const receiverReady = waitFor(receiver, /listening (http:\S+)/, 'receiver');
  receiverReady.catch(() => undefined); // awaited below, after the gateway's start
  const gateway = await startGateway(config, { logger: createLogger('warn') }).catch(
    async (error: unknown) => {
      await stop(receiver);
      throw error;
    },
  );
  try {
    const receiverUrl = await receiverReady;
    const admin = adminOf(String(gateway.url));
    await admin.call('POST', '/admin/v1/partners', {
      id: 'BENCH-RECEIVER',
      name: 'Receiver',
      roles: ['buyer'],
      deliveryMode: 'push',
      endpointUrl: `${receiverUrl}/inbound`,
    });
    log(`delivery: queueing ${SIZE.deliveries} documents`);
    const outbox = { gatewayId: config.gatewayId, render: createRenderer(createSchemaRegistry()) };
    for (let queued = 0; queued < SIZE.deliveries; queued += 1000) {
      const documents = Array.from(
        { length: Math.min(1000, SIZE.deliveries - queued) },
        (_, i) => ({
          recipientId: 'BENCH-RECEIVER',
          type: 'NoAward',
          body: {
            reservationId: `RSV-BENCH-${queued + i}`,
            reason: 'no seller bid before the deadline',
          },
        }),
      );
      await gateway.database.db
        .transaction()
        .execute((trx) => enqueueOutboundMany(trx, outbox, documents));
    }
    log('delivery: starting the deliverer');
    const services = await buildServices(config, gateway.database, createLogger('warn'), undefined);
    const started = performance.now();
    // The deliverer runs in this process (the bench's own work meanwhile is a poll every 100 ms).
    const cpuBefore = process.cpuUsage();
    const dbCpuBefore = postgresCpuByProcess();
    const jobs = await startGatewayJobs(
      config,
      gateway.database,
      createLogger('warn'),
      services.pipeline,
    );
    let stats = { distinct: 0, total: 0 };
    try {
      while (stats.distinct < SIZE.deliveries) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        stats = (await (await fetch(`${receiverUrl}/stats`)).json()) as typeof stats;
        if (performance.now() - started > 600_000)
          throw new Error(`delivery stalled at ${stats.distinct}`);
      }
    } finally {
      await jobs.stop();
    }
    const seconds = (performance.now() - started) / 1000;
    const cpu = process.cpuUsage(cpuBefore);
    return {
      docsPerSec: SIZE.deliveries / seconds,
      lost: SIZE.deliveries - stats.distinct,
      duplicated: stats.total - stats.distinct,
      cpuMsPerDoc: (cpu.user + cpu.system) / 1000 / SIZE.deliveries,
      dbCpuMsPerDoc: (postgresCpuSince(dbCpuBefore) * 1000) / SIZE.deliveries,
    };
  } finally {
    await gateway.stop();
    await stop(receiver);
  }
}

// --- 4. judging ------------------------------------------------------------------------------

async function benchJudging() {
  const store = await freshStore('judging');
  const config = loadConfig({
    ...store.env,
    PORT: '0',
    HOST: '127.0.0.1',
    ROLE: 'api',
    LOG_LEVEL: 'warn',
    ADMIN_TOKEN,
  });
  const gateway = await startGateway(config, { logger: createLogger('warn') });
  try {
    const admin = adminOf(String(gateway.url));
    const seeded = await seed(admin, 0);
    const db = gateway.database.db;
    log(`judging: ${SIZE.reservations} reservations × 10 bids`);
    // Bulk rows straight into the tables: the judge is what is measured, not the seeding.
    await sql`
      insert into reservations (id, buyer_id, item_id, quantity, max_unit_price_minor, currency, needed_by, bidding_deadline)
      select 'RSV-J' || g, 'BENCH-B' || (g % ${PARTNERS_PER_ROLE}), ${seeded.itemId}, 100, 31000, 'JPY', '2036-06-30', now() + interval '1 hour'
      from generate_series(1, ${SIZE.reservations}) g`.execute(db);
    await sql`
      insert into bids (id, reservation_id, seller_id, unit_price_minor, currency, quantity, promised_delivery_date)
      select 'BID-J' || r || '-' || s, 'RSV-J' || r, 'BENCH-S' || s, 29000 + ((r * 7 + s * 13) % 2000), 'JPY',
             case when s = 9 then 50 else 100 end, date '2036-04-01' + (s % 5)
      from generate_series(1, ${SIZE.reservations}) r, generate_series(0, ${PARTNERS_PER_ROLE - 1}) s`.execute(
      db,
    );
    const bids = await db
      .selectFrom('bids')
      .select(sql<string>`count(*)`.as('n'))
      .executeTakeFirstOrThrow();
    if (Number(bids.n) !== SIZE.reservations * PARTNERS_PER_ROLE) {
      throw new Error(`${bids.n} bids seeded, not ${SIZE.reservations * PARTNERS_PER_ROLE}`);
    }
    await sql`update reservations set bidding_deadline = now() - interval '1 second' where id like 'RSV-J%'`.execute(
      db,
    );
    const services = await buildServices(config, gateway.database, createLogger('warn'), undefined);
    const started = performance.now();
    // As the judge-reservations job runs it: its lanes on this database.
    const counts = await judgeDueReservations(
      {
        db,
        enqueue: services.pipeline.enqueue,
        settings: {
          commissionRatePercent: config.commissionRatePercent,
          confirmWindowS: config.confirmWindowS,
          tenderWindowS: config.tenderWindowS,
        },
      },
      { lanes: judgingLanes(gateway.database.kind) },
    );
    const seconds = (performance.now() - started) / 1000;
    const open = await db
      .selectFrom('reservations')
      .select(sql<string>`count(*)`.as('n'))
      .where('status', '=', 'open')
      .executeTakeFirstOrThrow();
    if (Number(open.n) !== 0) throw new Error(`${open.n} reservations left unjudged`);
    const queued = await db
      .selectFrom('outbox')
      .select(sql<string>`count(*)`.as('n'))
      .executeTakeFirstOrThrow();
    return {
      seconds,
      reservations: counts.judged ?? 0,
      awarded: counts.awarded ?? 0,
      documentsQueued: Number(queued.n),
    };
  } finally {
    await gateway.stop();
  }
}

// --- the run ---------------------------------------------------------------------------------

function ratio(a: number, b: number): number {
  return b === 0 ? 0 : Math.round((a / b) * 100) / 100;
}

function round(value: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

async function main(): Promise<void> {
  log(`${quick ? 'quick' : 'full'} run on ${dbKind}, ${os.cpus().length} cores`);
  // Each takes seconds: begun now, side by side with the reference apps' start, and awaited where
  // first used (where a failure surfaces).
  if (runs('ingest') || runs('filedrop')) {
    log('building the gateway');
    builtGatewayCli().catch(() => undefined);
  }
  if (dbKind === 'pglite') {
    log('making the migrated embedded database each phase starts from a copy of');
    migratedPglite().catch(() => undefined);
  }
  if (runs('ingest')) loadGenerator();
  const none: LoadResult & LoadCosts = {
    requests: 0,
    docsPerSec: 0,
    p50Ms: 0,
    p99Ms: 0,
    non2xx: 0,
    errors: 0,
    timeouts: 0,
  };
  const measured = runs('ingest') ? await benchIngestAndReferences(runs('references')) : undefined;
  const ingest = measured?.ingest;
  const references = {
    echo: measured?.references.echo ?? none,
    parseValidate: measured?.references.parseValidate ?? none,
    minimalIngest: measured?.references.minimalIngest ?? none,
  };
  const delivery = runs('delivery')
    ? await benchDelivery()
    : { docsPerSec: 0, lost: 0, duplicated: 0, cpuMsPerDoc: 0, dbCpuMsPerDoc: 0 };
  const judging = runs('judging')
    ? await benchJudging()
    : { seconds: 0, reservations: 0, awarded: 0, documentsQueued: 0 };
  const fileDrop = runs('filedrop')
    ? await measureBatchIngest({
        count: SIZE.fileDocs,
        via: 'file',
        databaseUrl: baseUrl,
        log: (message) => log(`file drop: ${message}`),
      })
    : undefined;

  const results = {
    database: dbKind,
    quick,
    machine: { cores: os.cpus().length, node: process.version },
    at: new Date().toISOString(),
    ingest: {
      docsPerSec: round((ingest?.result ?? none).docsPerSec),
      p50Ms: (ingest?.result ?? none).p50Ms,
      p99Ms: (ingest?.result ?? none).p99Ms,
      rssMb: round((ingest?.result ?? none).rssMb ?? 0),
      peakRssMb: round((ingest?.result ?? none).peakRssMb ?? 0),
      cpuMsPerDoc: round((ingest?.result ?? none).cpuMsPerDoc ?? 0, 2),
      dbCpuMsPerDoc: round((ingest?.result ?? none).dbCpuMsPerDoc ?? 0, 2),
      requests: (ingest?.result ?? none).requests,
      non2xx: (ingest?.result ?? none).non2xx,
      errors: (ingest?.result ?? none).errors + (ingest?.result ?? none).timeouts,
      pauses: ingest?.pauses,
      docsPerSecByRound: ingest?.rounds ?? [],
    },
    references: Object.fromEntries(
      Object.entries(references).map(([name, r]) => [
        name,
        {
          docsPerSec: round(r.docsPerSec),
          p99Ms: r.p99Ms,
          cpuMsPerDoc: round(r.cpuMsPerDoc ?? 0, 2),
          dbCpuMsPerDoc: round(r.dbCpuMsPerDoc ?? 0, 2),
          non2xx: r.non2xx,
        },
      ]),
    ),
    ratios: {
      vsEcho: measured?.ratios.vsEcho ?? 0,
      vsParseValidate: measured?.ratios.vsParseValidate ?? 0,
      vsMinimalIngest: measured?.ratios.vsMinimalIngest ?? 0,
      vsMinimalIngestByRound: measured?.ratios.vsMinimalIngestByRound ?? [],
    },
    delivery: {
      docsPerSec: round(delivery.docsPerSec),
      lost: delivery.lost,
      duplicated: delivery.duplicated,
      cpuMsPerDoc: round(delivery.cpuMsPerDoc, 2),
      dbCpuMsPerDoc: round(delivery.dbCpuMsPerDoc, 2),
    },
    judging: {
      seconds: round(judging.seconds, 2),
      reservations: judging.reservations,
      awarded: judging.awarded,
      documentsQueued: judging.documentsQueued,
    },
    fileDrop: {
      docsPerSec: round(fileDrop?.docsPerSecond ?? 0),
      peakRssMb: round(fileDrop?.peakRssMiB ?? 0),
      ingestPeakRssMb: round(fileDrop?.ingestPeakRssMiB ?? 0),
      documents: fileDrop?.documents ?? 0,
      megabytes: round(fileDrop?.megabytes ?? 0),
    },
  };
  const targets = checkTargets({
    ...results,
    database: dbKind,
    connections: CONNECTIONS,
    ran: runs,
  });
  fs.writeFileSync(
    path.join(ROOT, 'bench-results.json'),
    `${JSON.stringify({ ...results, targets }, null, 2)}\n`,
  );

  /** Name, figures, and the phase that makes them (a phase left out by --only says so). */
  const rows: [string, string, string][] = [
    [
      'ingest (gateway, full path)',
      `${results.ingest.docsPerSec} docs/s  p50 ${results.ingest.p50Ms} ms  p99 ${results.ingest.p99Ms} ms  RSS ${results.ingest.rssMb} MB (peak ${results.ingest.peakRssMb})  CPU ${results.ingest.cpuMsPerDoc} ms/doc (database ${results.ingest.dbCpuMsPerDoc})  non-2xx ${results.ingest.non2xx}  (rounds ${results.ingest.docsPerSecByRound.join(' / ')})`,
      'ingest',
    ],
    [
      '  pauses in the gateway',
      results.ingest.pauses === undefined
        ? '—'
        : `event loop delay p99 ${results.ingest.pauses.loopP99Ms} ms, max ${results.ingest.pauses.loopMaxMs} ms  GC ${Object.entries(
            results.ingest.pauses.gc,
          )
            .filter(([, g]) => g.count > 0)
            .map(([kind, g]) => `${kind} ${g.ms} ms/${g.count} (${g.over10ms} > 10 ms)`)
            .join(', ')}`,
      'ingest',
    ],
    [
      'reference: Hono echo',
      `${results.references.echo?.docsPerSec} req/s  p99 ${results.references.echo?.p99Ms} ms  CPU ${results.references.echo?.cpuMsPerDoc} ms/doc  → gateway ${results.ratios.vsEcho}×`,
      'references',
    ],
    [
      'reference: parse + validate',
      `${results.references.parseValidate?.docsPerSec} docs/s  p99 ${results.references.parseValidate?.p99Ms} ms  CPU ${results.references.parseValidate?.cpuMsPerDoc} ms/doc  → gateway ${results.ratios.vsParseValidate}×`,
      'references',
    ],
    [
      'reference: minimal ingest',
      `${results.references.minimalIngest?.docsPerSec} docs/s  p99 ${results.references.minimalIngest?.p99Ms} ms  CPU ${results.references.minimalIngest?.cpuMsPerDoc} ms/doc (database ${results.references.minimalIngest?.dbCpuMsPerDoc})  → gateway ${results.ratios.vsMinimalIngest}× (rounds ${results.ratios.vsMinimalIngestByRound.join(' / ')})`,
      'references',
    ],
    [
      `push delivery (${SIZE.deliveries})`,
      `${results.delivery.docsPerSec} docs/s  lost ${results.delivery.lost}  duplicated ${results.delivery.duplicated}  CPU ${results.delivery.cpuMsPerDoc} ms/doc (database ${results.delivery.dbCpuMsPerDoc})`,
      'delivery',
    ],
    [
      `judging (${SIZE.reservations} × 10 bids)`,
      `${results.judging.seconds} s to award all (${results.judging.documentsQueued} documents queued)`,
      'judging',
    ],
    [
      `file drop (${SIZE.fileDocs} NDJSON docs)`,
      `${results.fileDrop.docsPerSec} docs/s  peak RSS ${results.fileDrop.peakRssMb} MB (${results.fileDrop.ingestPeakRssMb} while ingesting)`,
      'filedrop',
    ],
  ];
  const width = Math.max(...rows.map(([name]) => name.length));
  const shown = (value: string, phase: string) => (runs(phase) ? value : 'not run (--only)');
  process.stdout.write(
    `\nNakadachi bench — ${dbKind}, ${quick ? 'quick' : 'full'}, ${os.cpus().length} cores\n\n`,
  );
  for (const [name, value, phase] of rows)
    process.stdout.write(`  ${name.padEnd(width)}  ${shown(value, phase)}\n`);
  process.stdout.write(`\n${formatTargets(dbKind, targets)}\n`);
  process.stdout.write('\nwritten: bench-results.json\n');
}

try {
  await main();
} finally {
  log('cleaning up');
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
  log('done');
}
