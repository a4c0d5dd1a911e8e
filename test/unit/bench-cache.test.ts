import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { folderCache, type CachedFolder } from '../bench/cache.ts';

let root: string;
let cacheDir: string;
let cached: CachedFolder;
let made: number;

const write = (file: string, text: string) => {
  fs.mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
  fs.writeFileSync(path.join(root, file), text);
};
const inputs = { paths: ['sources', 'settings.json'], packages: ['tool'] };
/** Makes a folder holding what the sources say, counting the makes. */
const makeFromSources = (dir: string) => {
  made++;
  fs.writeFileSync(path.join(dir, 'out.txt'), fs.readFileSync(path.join(root, 'sources/a.txt')));
  return Promise.resolve();
};
const entries = () => fs.readdirSync(cacheDir).sort();

beforeEach(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-cache-root-'));
  cacheDir = path.join(root, '..', `${path.basename(root)}-cache`);
  cached = folderCache(root, cacheDir);
  made = 0;
  write('sources/a.txt', 'one');
  write('sources/deeper/b.txt', 'b');
  write('settings.json', '{}');
  write('node_modules/tool/package.json', '{ "version": "1.0.0" }');
});
afterEach(() => {
  fs.rmSync(root, { recursive: true, force: true });
  fs.rmSync(cacheDir, { recursive: true, force: true });
});

describe("the bench's cache of made folders", () => {
  it('makes a folder once, and gives it back while its inputs are unchanged', async () => {
    const first = await cached('build', inputs, makeFromSources);
    const again = await cached('build', inputs, makeFromSources);
    expect(again).toBe(first);
    expect(made).toBe(1);
    expect(fs.readFileSync(path.join(first, 'out.txt'), 'utf8')).toBe('one');
  });

  it('makes it again when a file, a new file, a file name or a package version changes', async () => {
    const seen = new Set([await cached('build', inputs, makeFromSources)]);
    const changes = [
      () => write('sources/a.txt', 'two'),
      () => write('sources/deeper/new.txt', ''),
      () =>
        fs.renameSync(path.join(root, 'sources/deeper/b.txt'), path.join(root, 'sources/c.txt')),
      () => write('settings.json', '{ "x": 1 }'),
      () => write('node_modules/tool/package.json', '{ "version": "1.0.1" }'),
    ];
    for (const change of changes) {
      change();
      seen.add(await cached('build', inputs, makeFromSources));
    }
    expect(seen.size).toBe(changes.length + 1);
    expect(made).toBe(changes.length + 1);
    // A file outside the inputs changes nothing.
    write('elsewhere.txt', 'ignored');
    await cached('build', inputs, makeFromSources);
    expect(made).toBe(changes.length + 1);
  });

  it('keeps nothing of a failed make, and makes it again next time', async () => {
    const failing = () => Promise.reject(new Error('the build failed'));
    await expect(cached('build', inputs, failing)).rejects.toThrow('the build failed');
    expect(entries()).toEqual([]);
    await cached('build', inputs, makeFromSources);
    expect(made).toBe(1);
  });

  it('keeps the three newest folders of a kind, and leaves other kinds alone', async () => {
    const other = await cached('pglite', inputs, makeFromSources);
    // What a stopped bench left half made: removed once an hour old, not while it may be in use.
    const abandoned = path.join(cacheDir, 'build-0123.making-dead');
    const inUse = path.join(cacheDir, 'build-4567.making-busy');
    for (const dir of [abandoned, inUse]) fs.mkdirSync(dir);
    const twoHoursAgo = new Date(Date.now() - 2 * 3600_000);
    fs.utimesSync(abandoned, twoHoursAgo, twoHoursAgo);
    const builds: string[] = [];
    for (const version of ['1', '2', '3', '4', '5']) {
      write('sources/a.txt', version);
      builds.push(await cached('build', inputs, makeFromSources));
    }
    expect(entries()).toEqual(
      [other, inUse, ...builds.slice(2)].map((dir) => path.basename(dir)).sort(),
    );
  });
});
