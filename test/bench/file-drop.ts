/**
 * Batch ingest measured on a real gateway process (the build `npm start` serves): an NDJSON file
 * of N ItemNotices (about 800 bytes each: 100,000 make ~80 MB) dropped into a file-mode partner's inbox (`--via=file`, the
 * default) or POSTed to /v1/batches (`--via=http`). Reports docs/s (from the claim of the file,
 * or the start of the request, to the last receipt), the gateway's RSS (the kernel's lifetime
 * high-water mark VmHWM, start-up included, and the highest VmRSS sampled every 100 ms while the
 * batch was processed), and checks that every document was accepted.
 *
 *   npx tsx test/bench/file-drop.ts [--count=100000] [--via=file|http] [--profile]
 *   DATABASE_URL=postgres://postgres@127.0.0.1:5432/test npx tsx test/bench/file-drop.ts
 *
 * PGlite in a temporary data directory by default; with DATABASE_URL a fresh schema, dropped
 * afterwards (stores.ts). A measurement, not a test: it asserts nothing about speed. Also importable
 * (measureBatchIngest) by the benchmark runner.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { createFileDropPreparer } from '../../adapters/filedrop/folders.ts';
import { loadConfig } from '../../gateway/config.ts';
import { createPartner } from '../../gateway/core/partners/partners.service.ts';
import { openMigratedDatabase } from '../../gateway/main.ts';
import { startBuiltGateway } from './built-gateway.ts';
import { freshStore } from './stores.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const PARTNER = 'BENCH-SELLER';

export interface BatchIngestOptions {
  count: number;
  via: 'file' | 'http';
  /** PostgreSQL server (a fresh schema is made on it); undefined: PGlite. */
  databaseUrl?: string;
  /** The gateway runs with --cpu-prof and leaves its profile in this folder. */
  profileDir?: string;
  log?: (message: string) => void;
}

export interface BatchIngestResult {
  via: 'file' | 'http';
  database: 'pglite' | 'postgres';
  documents: number;
  megabytes: number;
  seconds: number;
  docsPerSecond: number;
  /** VmHWM: the process's highest RSS over its life, start-up included. */
  peakRssMiB: number;
  /** The highest RSS sampled while the batch was being processed. */
  ingestPeakRssMiB: number;
}

export async function measureBatchIngest(options: BatchIngestOptions): Promise<BatchIngestResult> {
  const log = options.log ?? (() => undefined);
  const store = await freshStore('batch', options.databaseUrl);
  const fileDropRoot = path.join(store.dataDir, 'files');
  try {
    const apiKey = await registerFilePartner(store.env, fileDropRoot);
    const input = path.join(store.dataDir, 'bench.ndjson');
    const bytes = await writeDocuments(input, options.count);
    log(`${options.count} documents, ${(bytes / 1e6).toFixed(1)} MB`);
    const gateway = await startBuiltGateway(
      {
        ...store.env,
        FILE_DROP_ROOT: fileDropRoot,
        FILE_DROP_STABLE_MS: '200',
        ROLE: options.via === 'file' ? 'jobs' : 'api',
        BATCH_BODY_LIMIT_BYTES: String(bytes + 1024),
        RATE_LIMIT_PER_SECOND: '0',
      },
      options.profileDir === undefined
        ? []
        : ['--cpu-prof', `--cpu-prof-dir=${options.profileDir}`],
    );
    try {
      let ingestPeakKiB = 0;
      const sampler = setInterval(() => {
        ingestPeakKiB = Math.max(ingestPeakKiB, gateway.rssKiB());
      }, 100);
      let seconds: number;
      try {
        seconds =
          options.via === 'file'
            ? await ingestByFile(input, fileDropRoot, options.count)
            : await ingestByHttp(input, gateway.url, apiKey, options.count);
      } finally {
        clearInterval(sampler);
      }
      log(`all ${options.count} accepted in ${seconds.toFixed(1)} s; stopping the gateway`);
      return {
        via: options.via,
        database: options.databaseUrl === undefined ? 'pglite' : 'postgres',
        documents: options.count,
        megabytes: Math.round(bytes / 1e5) / 10,
        seconds: Math.round(seconds * 10) / 10,
        docsPerSecond: Math.round(options.count / seconds),
        peakRssMiB: Math.round(gateway.peakRssKiB() / 1024),
        ingestPeakRssMiB: Math.round(ingestPeakKiB / 1024),
      };
    } finally {
      await gateway.stop();
    }
  } finally {
    await store.drop();
  }
}

/** The partner, in file mode with its folders, through the core as the admin API would. */
async function registerFilePartner(env: Record<string, string>, fileDropRoot: string) {
  const { database, lock } = await openMigratedDatabase(
    loadConfig({ ...env, LOG_LEVEL: 'silent' }),
  );
  try {
    const created = await createPartner(
      {
        db: database.db,
        checkEndpoint: () => ({ ok: true }),
        prepareFileDrop: createFileDropPreparer(fileDropRoot),
      },
      { id: PARTNER, name: 'Bench seller', roles: ['seller'], deliveryMode: 'file' },
    );
    return created.apiKey.apiKey;
  } finally {
    await database.close();
    lock?.release();
  }
}

async function writeDocuments(file: string, count: number): Promise<number> {
  const example = JSON.parse(
    fs.readFileSync(path.join(ROOT, 'schemas/examples/ItemNotice.json'), 'utf8'),
  ) as { header: Record<string, string>; body: Record<string, unknown> };
  delete example.body.gtin;
  const out = fs.createWriteStream(file);
  const run = randomBytes(3).toString('hex');
  for (let i = 0; i < count; i++) {
    example.header.messageId = `${PARTNER}-${run}-${i}`;
    example.header.sender = PARTNER;
    example.body.sellerItemId = `SKU-${run}-${i}`;
    if (!out.write(`${JSON.stringify(example)}\n`)) {
      await new Promise<void>((resolve) => out.once('drain', () => resolve()));
    }
  }
  await new Promise<void>((resolve, reject) =>
    out.end((error?: Error) => (error ? reject(error) : resolve())),
  );
  return fs.statSync(file).size;
}

async function ingestByFile(input: string, root: string, count: number): Promise<number> {
  const folder = (name: string) => path.join(root, PARTNER, name);
  fs.copyFileSync(input, path.join(folder('inbox'), 'bench.ndjson.part'));
  fs.renameSync(
    path.join(folder('inbox'), 'bench.ndjson.part'),
    path.join(folder('inbox'), 'bench.ndjson'),
  );
  await until(
    () =>
      fs.existsSync(path.join(folder('processing'), 'bench.ndjson')) ||
      fs.existsSync(path.join(folder('processed'), 'bench.ndjson')),
    5,
  );
  const started = performance.now();
  await until(() => fs.existsSync(path.join(folder('processed'), 'bench.ndjson')), 50);
  const seconds = (performance.now() - started) / 1000;
  await expectAccepted(
    fs.createReadStream(path.join(folder('receipts'), 'bench.ndjson.receipt.ndjson')),
    count,
  );
  return seconds;
}

async function ingestByHttp(input: string, url: string, apiKey: string, count: number) {
  const started = performance.now();
  const response = await fetch(`${url}/v1/batches`, {
    method: 'POST',
    headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/x-ndjson' },
    body: Readable.toWeb(fs.createReadStream(input)) as ReadableStream<Uint8Array>,
    duplex: 'half',
  });
  if (response.status !== 200 || response.body === null) {
    throw new Error(`POST /v1/batches answered ${response.status}: ${await response.text()}`);
  }
  await expectAccepted(Readable.fromWeb(response.body), count);
  return (performance.now() - started) / 1000;
}

/** Every one of `count` receipt lines says accepted. */
async function expectAccepted(receipts: Readable, count: number): Promise<void> {
  let accepted = 0;
  let lines = 0;
  for await (const line of createInterface({ input: receipts })) {
    lines += 1;
    if ((JSON.parse(line) as { body?: { status?: string } }).body?.status === 'accepted')
      accepted += 1;
  }
  if (lines !== count || accepted !== count) {
    throw new Error(`expected ${count} accepted receipts, got ${accepted} of ${lines}`);
  }
}

async function until(check: () => boolean, everyMs: number): Promise<void> {
  while (!check()) await new Promise((resolve) => setTimeout(resolve, everyMs));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const arg = (name: string) =>
    process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
  const result = await measureBatchIngest({
    count: Number(arg('count') ?? 100_000),
    via: arg('via') === 'http' ? 'http' : 'file',
    databaseUrl: process.env.DATABASE_URL,
    profileDir: process.argv.includes('--profile')
      ? path.join(ROOT, 'bench-profiles', 'file-drop')
      : undefined,
    log: (message) => process.stderr.write(`[bench batch] ${message}\n`),
  });
  process.stdout.write(`${JSON.stringify(result)}\n`);
}
