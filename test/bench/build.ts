/**
 * The gateway the bench measures is the one `npm start` serves: the build (bin/build.js), run by
 * plain Node. Built once per bench process into a temporary folder, so the sources may change
 * while a bench runs without changing what it measures.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const ROOT = path.resolve(import.meta.dirname, '../..');
let built: string | undefined;

/** The built CLI's path (`node <it> serve` starts a gateway); removed when the process exits. */
export function builtGatewayCli(): string {
  if (built !== undefined) return built;
  const outDir = fs.mkdtempSync(path.join(os.tmpdir(), 'nakadachi-bench-build-'));
  process.once('exit', () => fs.rmSync(outDir, { recursive: true, force: true }));
  execFileSync(process.execPath, [path.join(ROOT, 'bin/build.js'), '--out-dir', outDir], {
    cwd: ROOT,
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  built = path.join(outDir, 'gateway/cli.js');
  return built;
}
