/**
 * `npm start` serves the build (bin/build.js): the sources as plain JavaScript, run by Node
 * without a TypeScript loader, with the files the gateway reads at run time beside them. Built
 * here into a temporary folder, then served on the test's database: the gateway starts, takes a
 * document and signs its receipt, publishes the schema examples and reads UBL (both from files next
 * to the code).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { compactVerify, createLocalJWKSet, type JSONWebKeySet } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSharedStore, spawnGateway, type SharedStore } from '../support/child-gateway.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const ADMIN_TOKEN = 'build-test-admin-token-0123456789';

/** Every file under `dir`, relative to it. */
function filesUnder(dir: string): string[] {
  return fs
    .readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => path.relative(dir, path.join(entry.parentPath, entry.name)));
}

describe('the build that npm start serves', () => {
  let outDir: string;
  let cli: string;
  let store: SharedStore;

  beforeAll(async () => {
    outDir = fs.mkdtempSync(path.join(os.tmpdir(), 'nakadachi-build-'));
    execFileSync(process.execPath, [path.join(ROOT, 'bin/build.js'), '--out-dir', outDir], {
      cwd: ROOT,
      stdio: 'pipe',
    });
    cli = path.join(outDir, 'gateway/cli.js');
    store = await openSharedStore();
  }, 120_000);

  afterAll(async () => {
    await store?.close();
    if (outDir !== undefined) fs.rmSync(outDir, { recursive: true, force: true });
  });

  it('holds JavaScript and the data files, and no TypeScript', () => {
    const files = filesUnder(outDir).filter((file) => !file.startsWith('node_modules'));
    expect(files.filter((file) => /\.tsx?$/.test(file))).toEqual([]);
    expect(files).toContain(path.join('gateway', 'cli.js'));
    expect(files).toContain(path.join('gateway', 'http', 'console', 'console.js'));
    // The data files, copied as they are.
    for (const source of filesUnder(path.join(ROOT, 'schemas')).filter((f) => !f.endsWith('.ts')))
      expect(files).toContain(path.join('schemas', source));
    for (const source of filesUnder(path.join(ROOT, 'adapters')).filter((f) => !f.endsWith('.ts')))
      expect(files).toContain(path.join('adapters', source));
  });

  it('refuses to empty a folder of the project other than dist/, or one that holds it', () => {
    for (const outDir of [ROOT, path.join(ROOT, 'gateway'), path.join(ROOT, 'test', 'out'), '/']) {
      const refused = spawnSync(
        process.execPath,
        [path.join(ROOT, 'bin/build.js'), '--out-dir', outDir],
        { encoding: 'utf8' },
      );
      expect(refused.status).toBe(2);
      expect(refused.stderr).toContain('refusing to empty');
    }
    expect(fs.existsSync(path.join(ROOT, 'gateway', 'main.ts'))).toBe(true);
  });

  it('reads UBL with the mappings beside the code', () => {
    // Its parties are nobody's aliases here, so it is not converted: read as far as it could be.
    const converted = spawnSync(
      process.execPath,
      [
        cli,
        'convert',
        '--from',
        'ubl',
        '--to',
        'json',
        path.join(ROOT, '../shared/ubl-examples/UBL-Order-2.1-Example.xml'),
      ],
      { encoding: 'utf8' },
    );
    expect(converted.stderr).toContain('UNKNOWN_PARTY');
    expect(JSON.parse(converted.stdout)).toMatchObject({
      header: { type: 'CommodityOrder', messageId: '34' },
      body: { lines: [{ quantity: 120 }, { quantity: 15 }] },
    });
  });

  it(
    'serves: takes a document, signs its receipt, publishes the examples',
    { timeout: 120_000 },
    async () => {
      const gateway = await spawnGateway({ ...store.env, ADMIN_TOKEN }, 60_000, cli);
      try {
        const url = /"url":"(http:[^"]+)"/.exec(gateway.output())?.[1];
        expect(url).toBeDefined();
        const added = await fetch(`${url}/admin/v1/partners`, {
          method: 'POST',
          headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
          body: JSON.stringify({ id: 'SELLER-A', name: 'Aozora Audio', roles: ['seller'] }),
        });
        expect(added.status).toBe(201);
        const { apiKey } = (await added.json()) as { apiKey: string };

        const example = await fetch(`${url}/v1/schemas/ItemNotice/example.json`);
        expect(example.status).toBe(200);
        const notice = (await example.json()) as { header: Record<string, string> };
        expect(notice.header.type).toBe('ItemNotice');
        notice.header.sender = 'SELLER-A';
        notice.header.messageId = 'SELLER-A-BUILD-1';

        const response = await fetch(`${url}/v1/documents`, {
          method: 'POST',
          headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
          body: JSON.stringify(notice),
        });
        expect(response.status).toBe(200);
        const receipt = ((await response.json()) as { body: Record<string, unknown> }).body;
        expect(receipt).toMatchObject({ status: 'accepted', messageId: 'SELLER-A-BUILD-1' });
        expect(receipt.assigned).toEqual([
          { name: 'itemId', value: expect.stringMatching(/^ITM-/) as string },
        ]);

        const jwks = (await (await fetch(`${url}/.well-known/jwks.json`)).json()) as JSONWebKeySet;
        const { signature, ...unsigned } = receipt;
        const { payload } = await compactVerify(String(signature), createLocalJWKSet(jwks));
        expect(JSON.parse(new TextDecoder().decode(payload))).toEqual(unsigned);
      } finally {
        gateway.kill('SIGTERM');
        expect(await gateway.exited).toBe(0);
      }
    },
  );
});
