/**
 * The embedded database can be opened by one process only. Whoever opens it (a gateway or a
 * CLI command) holds `DATA_DIR/nakadachi.lock`, created exclusively. A running gateway also
 * writes its URL and a per-run admin token there (the file is 0600), so that the CLI can go
 * through the gateway instead of failing. A lock left by a dead process is taken over.
 */
import fs from 'node:fs';
import path from 'node:path';
import { GatewayError } from '../core/errors.ts';

export interface LockInfo {
  pid: number;
  /** Set by a serving gateway: where its admin API listens and the token the local CLI uses. */
  adminUrl?: string;
  localToken?: string;
}

export interface DataDirLock {
  update(info: Omit<LockInfo, 'pid'>): void;
  release(): void;
}

export function lockPath(dataDir: string): string {
  return path.join(dataDir, 'nakadachi.lock');
}

export function readLock(dataDir: string): LockInfo | undefined {
  try {
    const info = JSON.parse(fs.readFileSync(lockPath(dataDir), 'utf8')) as LockInfo;
    return typeof info.pid === 'number' ? info : undefined;
  } catch {
    return undefined;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The live holder of the lock, if any (a stale lock counts as none). */
export function lockHolder(dataDir: string): LockInfo | undefined {
  const info = readLock(dataDir);
  return info !== undefined && isAlive(info.pid) ? info : undefined;
}

export function acquireLock(dataDir: string): DataDirLock {
  fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const file = lockPath(dataDir);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      fs.writeFileSync(file, JSON.stringify({ pid: process.pid }), { flag: 'wx', mode: 0o600 });
      return {
        update(info) {
          fs.writeFileSync(file, JSON.stringify({ pid: process.pid, ...info }), { mode: 0o600 });
        },
        release() {
          if (readLock(dataDir)?.pid === process.pid) fs.rmSync(file, { force: true });
        },
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const holder = lockHolder(dataDir);
      if (holder !== undefined) {
        throw new GatewayError(
          'CONFLICT',
          `the embedded database in ${dataDir} is in use by process ${holder.pid}`,
        );
      }
      fs.rmSync(file, { force: true }); // stale: its process is gone
    }
  }
  throw new GatewayError('CONFLICT', `cannot take the lock ${file}`);
}
