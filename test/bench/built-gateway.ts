/**
 * The gateway the bench measures is the one `npm start` serves: the build (bin/build.js), run by
 * plain Node. Built into a folder of its own, once per version of the sources (kept between runs:
 * cache.ts), so the sources may change while a bench runs without changing what it measures.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import buildSources from '../../bin/build-sources.json' with { type: 'json' };
import { cachedFolder } from './cache.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
let built: Promise<string> | undefined;

/**
 * The built CLI's path (`node <it> serve` starts a gateway). The build runs in a child process
 * without blocking this one, which meanwhile may start other apps.
 */
export function builtGatewayCli(): Promise<string> {
  built ??= cachedFolder(
    'build',
    {
      paths: [
        ...buildSources,
        'bin/build.js',
        'bin/build-sources.json',
        'tsconfig.json',
        'tsconfig.build.json',
      ],
      packages: ['typescript'],
    },
    async (outDir) => {
      const build = spawn(
        process.execPath,
        [path.join(ROOT, 'bin/build.js'), '--out-dir', outDir],
        {
          cwd: ROOT,
          stdio: ['ignore', 'ignore', 'inherit'],
        },
      );
      const [code] = (await once(build, 'exit')) as [number | null];
      if (code !== 0) throw new Error(`bin/build.js failed (${code})`);
    },
  ).then((outDir) => path.join(outDir, 'gateway/cli.js'));
  return built;
}

export interface BuiltGateway {
  url: string;
  pid: number;
  /** The process's resident set size now (VmRSS). */
  rssKiB(): number;
  /** The kernel's peak resident set size of the process over its life (VmHWM). */
  peakRssKiB(): number;
  stop(): Promise<void>;
}

/**
 * `node <build>/gateway/cli.js serve` with `env` (on 127.0.0.1, any free port), started: resolves
 * once it logged "gateway started", with the URL from that line ('' for ROLE=jobs, which serves no
 * HTTP). `nodeArgs`: e.g. --cpu-prof.
 */
export async function startBuiltGateway(
  env: Record<string, string>,
  nodeArgs: readonly string[] = [],
): Promise<BuiltGateway> {
  const child = spawn(process.execPath, [...nodeArgs, await builtGatewayCli(), 'serve'], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOST: '127.0.0.1', PORT: '0', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  let started: { url?: string } | undefined;
  for await (const line of createInterface({ input: child.stdout })) {
    if (!line.includes('"gateway started"')) continue;
    started = JSON.parse(line) as { url?: string };
    break;
  }
  if (started === undefined) {
    child.kill('SIGKILL');
    throw new Error(`the gateway exited (${child.exitCode}) before it started`);
  }
  child.stdout.resume();
  const status = (field: string) =>
    Number(
      new RegExp(`${field}:\\s+(\\d+)`).exec(
        fs.readFileSync(`/proc/${child.pid}/status`, 'utf8'),
      )?.[1] ?? NaN,
    );
  return {
    url: started.url ?? '',
    pid: child.pid!,
    rssKiB: () => status('VmRSS'),
    peakRssKiB: () => status('VmHWM'),
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}
