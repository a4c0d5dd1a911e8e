/**
 * Load from the test process: a pool of keep-alive HTTP connections that posts as fast as the
 * server answers, keeping every answer whole (status, headers, body, latency), and a sampler of a
 * gateway's memory once a second: its RSS from /proc, its heap and GCs from its /metrics.
 */
import fs from 'node:fs';
import http from 'node:http';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

export interface LoadAnswer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
  ms: number;
}

export interface LoadClient {
  post(path: string, headers: Record<string, string>, body: string): Promise<LoadAnswer>;
  close(): void;
}

/** At most `connections` sockets to `baseUrl`, reused across requests. */
export function createLoadClient(baseUrl: string, connections: number): LoadClient {
  const agent = new http.Agent({ keepAlive: true, maxSockets: connections });
  const url = new URL(baseUrl);
  return {
    post(path, headers, body) {
      const started = performance.now();
      return new Promise((resolve, reject) => {
        const request = http.request(
          {
            agent,
            host: url.hostname,
            port: url.port,
            path,
            method: 'POST',
            headers: { ...headers, 'content-length': Buffer.byteLength(body) },
          },
          (response) => {
            const chunks: Buffer[] = [];
            response.on('data', (chunk: Buffer) => chunks.push(chunk));
            response.on('end', () =>
              resolve({
                status: response.statusCode ?? 0,
                headers: response.headers,
                body: Buffer.concat(chunks).toString('utf8'),
                ms: performance.now() - started,
              }),
            );
            response.on('error', reject);
          },
        );
        request.on('error', reject);
        request.end(body);
      });
    },
    close: () => agent.destroy(),
  };
}

/** Runs `work(i)` for i = 0, 1, 2 … on `concurrency` loops until `deadline` (performance.now). */
export async function runUntil(
  deadline: number,
  concurrency: number,
  work: (i: number) => Promise<void>,
): Promise<number> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < deadline) await work(next++);
    }),
  );
  return next;
}

export interface MemorySample {
  /** Seconds since sampling started. */
  atS: number;
  /** Resident set size, from /proc/<pid>/status. */
  rssMb: number;
  /** V8 heap in use plus memory outside it (Buffers), from the gateway's /metrics. */
  heapMb: number;
  externalMb: number;
  /** Major (mark-compact) collections so far. */
  majorGcs: number;
}

/** VmRSS of a process in MB, from /proc/<pid>/status; undefined once it is gone. */
export function residentMb(pid: number): number | undefined {
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = /^VmRSS:\s+(\d+)\s+kB/m.exec(status)?.[1];
    return kb === undefined ? undefined : Number(kb) / 1024;
  } catch {
    return undefined;
  }
}

function metric(text: string, name: string): number {
  const value = new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)`, 'm').exec(text)?.[1];
  return value === undefined ? Number.NaN : Number(value);
}

/**
 * Every `intervalMs` until stopped: the process's RSS, and the heap, external memory and major
 * GC count its Prometheus endpoint reports (prom-client's default metrics, under `prefix`).
 */
export function sampleMemory(
  pid: number,
  metricsUrl: string,
  prefix = 'nakadachi_',
  intervalMs = 1000,
): { samples: MemorySample[]; stop(): Promise<void> } {
  const samples: MemorySample[] = [];
  const started = performance.now();
  let stopped = false;
  const take = async () => {
    const rss = residentMb(pid);
    if (rss === undefined) return;
    let text: string;
    try {
      text = await (await fetch(metricsUrl)).text();
    } catch {
      return; // the process is going away; the RSS alone says nothing more
    }
    const majorGcs = metric(text, `${prefix}nodejs_gc_duration_seconds_count\\{kind="major"\\}`);
    samples.push({
      atS: (performance.now() - started) / 1000,
      rssMb: rss,
      heapMb: metric(text, `${prefix}nodejs_heap_size_used_bytes`) / 2 ** 20,
      externalMb: metric(text, `${prefix}nodejs_external_memory_bytes`) / 2 ** 20,
      // The series appears with the first major GC.
      majorGcs: Number.isNaN(majorGcs) ? 0 : majorGcs,
    });
  };
  const loop = (async () => {
    while (!stopped) {
      const next = performance.now() + intervalMs;
      await take();
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, next - performance.now())));
    }
  })();
  return {
    samples,
    stop: async () => {
      stopped = true;
      await loop;
    },
  };
}

/** Least-squares slope of the RSS samples, in MB per second. */
export function rssSlopeMbPerS(samples: readonly MemorySample[]): number {
  const n = samples.length;
  if (n < 2) return 0;
  const meanT = samples.reduce((s, x) => s + x.atS, 0) / n;
  const meanM = samples.reduce((s, x) => s + x.rssMb, 0) / n;
  let num = 0;
  let den = 0;
  for (const { atS, rssMb } of samples) {
    num += (atS - meanT) * (rssMb - meanM);
    den += (atS - meanT) ** 2;
  }
  return den === 0 ? 0 : num / den;
}

/** The p-th percentile (0–100) of the values, by nearest rank. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

/**
 * NODE_OPTIONS for a gateway process that runs a full GC on SIGUSR2 (load-gc-signal.ts, loaded
 * through tsx as the gateway's own sources are).
 */
export function gcOnSignalNodeOptions(): string {
  const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
  const preload = pathToFileURL(path.join(import.meta.dirname, 'load-gc-signal.ts')).href;
  return `--import=${tsx} --import=${preload}`;
}
