/**
 * What the bench makes before it measures — the gateway's build, a migrated embedded database —
 * depends only on the files it is made from. It is kept between runs in a folder of the system's
 * temporary directory (one per checkout; a build there links to the checkout's node_modules),
 * under the SHA-256 of those files and of the versions of the packages that make it: a run whose
 * inputs are unchanged starts without making them (on PGlite the two took ~14 s of a `--quick`
 * run's ~70 on a slow day), and a changed file makes a new entry. The newest few entries of each
 * kind are kept.
 */
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** Entries of one kind kept: another bench may still run from the one before the newest. */
const KEPT_PER_KIND = 3;
/** A folder being made for longer than this was left by a bench that stopped. */
const ABANDONED_AFTER_MS = 60 * 60 * 1000;

export interface CacheInputs {
  /** Files and folders (relative to the project), every file under a folder included. */
  paths: readonly string[];
  /** Packages whose installed version changes what is made. */
  packages: readonly string[];
}

/**
 * The folder holding `kind` made from `inputs`: made by `make` into an empty folder when no run
 * made it before, then kept. Made under a temporary name and renamed into place, so a folder
 * found under its name is whole.
 */
export type CachedFolder = (
  kind: string,
  inputs: CacheInputs,
  make: (dir: string) => Promise<void>,
) => Promise<string>;

/** A cache of folders made from the files of the project at `root`, kept in `cacheDir`. */
export function folderCache(root: string, cacheDir: string): CachedFolder {
  return async (kind, inputs, make) => {
    const dir = path.join(cacheDir, `${kind}-${inputsDigest(root, inputs).slice(0, 20)}`);
    if (fs.existsSync(dir)) {
      const now = new Date();
      fs.utimesSync(dir, now, now); // just used: the pruning keeps it
      return dir;
    }
    fs.mkdirSync(cacheDir, { recursive: true });
    const making = `${dir}.making-${randomBytes(4).toString('hex')}`;
    try {
      fs.mkdirSync(making);
      await make(making);
      fs.renameSync(making, dir);
    } catch (error) {
      fs.rmSync(making, { recursive: true, force: true });
      // Another bench made the same folder meanwhile: it is as good as ours.
      if (fs.existsSync(dir)) return dir;
      throw error;
    }
    pruneKind(cacheDir, kind);
    return dir;
  };
}

const ROOT = path.resolve(import.meta.dirname, '../..');

/** The bench's cache: one folder per checkout in the system's temporary directory. */
export const cachedFolder = folderCache(
  ROOT,
  path.join(
    os.tmpdir(),
    `nakadachi-bench-cache-${createHash('sha256').update(ROOT).digest('hex').slice(0, 12)}`,
  ),
);

/** The SHA-256 of every input file's path and bytes, and of the packages' versions. */
function inputsDigest(root: string, inputs: CacheInputs): string {
  const hash = createHash('sha256');
  const files = inputs.paths.flatMap((p) => filesUnder(path.join(root, p))).sort();
  for (const file of files) {
    hash.update(`${path.relative(root, file)}\0`);
    hash.update(fs.readFileSync(file));
    hash.update('\0');
  }
  for (const name of inputs.packages) {
    const manifest = path.join(root, 'node_modules', name, 'package.json');
    const { version } = JSON.parse(fs.readFileSync(manifest, 'utf8')) as { version: string };
    hash.update(`${name}@${version}\0`);
  }
  return hash.digest('hex');
}

function filesUnder(at: string): string[] {
  if (!fs.statSync(at).isDirectory()) return [at];
  return fs
    .readdirSync(at, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => path.join(entry.parentPath, entry.name));
}

/**
 * Keeps the newest KEPT_PER_KIND folders of `kind`, and removes what a bench stopped while making
 * left behind (a folder still being made an hour on).
 */
function pruneKind(cacheDir: string, kind: string): void {
  const entries = fs
    .readdirSync(cacheDir)
    .filter((name) => name.startsWith(`${kind}-`))
    .map((name) => ({ name, usedAt: fs.statSync(path.join(cacheDir, name)).mtimeMs }))
    .sort((a, b) => b.usedAt - a.usedAt);
  const made = entries.filter(({ name }) => !name.includes('.making-'));
  const abandoned = entries.filter(
    ({ name, usedAt }) => name.includes('.making-') && Date.now() - usedAt > ABANDONED_AFTER_MS,
  );
  for (const { name } of [...made.slice(KEPT_PER_KIND), ...abandoned]) {
    fs.rmSync(path.join(cacheDir, name), { recursive: true, force: true });
  }
}
