/**
 * `nakadachi audit` end to end: seal, status, verify, export to a file, and the offline
 * verification of that file — with the keys it carries, with keys the auditor trusts, with
 * someone else's keys, and after the file was altered. No gateway runs: the CLI opens the store.
 */
import { generateKeyPairSync } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appendLog } from '../../gateway/core/messages/message-log.repository.ts';
import { createSigner } from '../../gateway/core/signing/signer.ts';
import { openSharedStore, type SharedStore } from '../support/child-gateway.ts';
import { runCaptured } from '../support/cli.ts';

let store: SharedStore;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nakadachi-audit-cli-'));

function cli(...argv: string[]) {
  return runCaptured(argv, store.env);
}

beforeAll(async () => {
  store = await openSharedStore();
  await store.use(async (db) => {
    for (const partner of ['CLI-A', 'CLI-B', 'CLI-A']) {
      await appendLog(db, {
        direction: 'inbound',
        event: 'received',
        partnerId: partner,
        messageId: `${partner}-${Math.random().toString(36).slice(2, 8)}`,
        documentType: 'ItemNotice',
        status: 'accepted',
        contentType: 'application/json',
        body: new TextEncoder().encode('{"header":{},"body":{}}'),
        digest: 'd'.repeat(64),
        refs: { itemId: 'ITM-1' },
      });
    }
  });
}, 60_000);
afterAll(async () => {
  await store.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('nakadachi audit', () => {
  it('seals, reports and verifies the log', { timeout: 60_000 }, async () => {
    // (On a shared PostgreSQL server another file's open transaction may hold sealing back.)
    let sealedEntries = 0;
    for (let round = 0; round < 100 && sealedEntries < 3; round++) {
      const sealed = await cli('audit', 'seal', '--json');
      expect(sealed.code, sealed.stderr).toBe(0);
      sealedEntries += JSON.parse(sealed.stdout).entries as number;
    }
    expect(sealedEntries).toBe(3);
    const status = await cli('audit', 'status');
    expect(status.stdout).toMatch(/sealed entries\s+3\nnot sealed yet\s+0/);
    const verified = await cli('audit', 'verify');
    expect(verified.code).toBe(0);
    expect(verified.stdout).toMatch(
      /^audit log OK: \d+ seals, 3 entries verified \(head: seal \d+ [0-9a-f]{64}\); 0 entries/,
    );
  });

  it(
    'exports to a file that verifies offline, and only with trusted keys',
    { timeout: 60_000 },
    async () => {
      const file = path.join(dir, 'all.ndjson');
      const exported = await cli('audit', 'export', '--out', file, '--from', '2000-01-01');
      expect(exported.code, exported.stderr).toBe(0);
      expect(exported.stdout).toMatch(new RegExp(`^wrote 3 entries in \\d+ seals to ${file}$`));
      expect(fs.existsSync(`${file}.part`)).toBe(false);

      const offline = await cli('audit', 'verify', '--file', file);
      expect(offline.code).toBe(0);
      expect(offline.stdout).toMatch(/audit log OK: \d+ seals, 3 entries verified/);
      expect(offline.stdout).toContain('pass --jwks');

      const lines = fs.readFileSync(file, 'utf8').trim().split('\n');
      const trusted = path.join(dir, 'trusted.json');
      fs.writeFileSync(trusted, JSON.stringify({ keys: JSON.parse(lines[1]!).keys }));
      const withKeys = await cli('audit', 'verify', '--file', file, '--jwks', trusted, '--json');
      expect(JSON.parse(withKeys.stdout)).toMatchObject({
        ok: true,
        keys: 'given',
        complete: true,
      });

      const strangers = path.join(dir, 'strangers.json');
      const stranger = await createSigner(generateKeyPairSync('ed25519').privateKey);
      fs.writeFileSync(strangers, JSON.stringify({ keys: [stranger.publicJwk] }));
      const refused = await cli('audit', 'verify', '--file', file, '--jwks', strangers);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toMatch(
        /^nakadachi: audit log BROKEN: seal \d+: the signature does not verify/,
      );
    },
  );

  it('exports one partner, and fails on an altered file', { timeout: 60_000 }, async () => {
    const file = path.join(dir, 'cli-b.ndjson');
    expect((await cli('audit', 'export', '--partner', 'CLI-B', '--out', file)).code).toBe(0);
    const lines = fs.readFileSync(file, 'utf8').trim().split('\n');
    const entries = lines.map((l) => JSON.parse(l)).filter((r) => r.record === 'entry');
    expect(entries.map((e) => e.entry.partnerId)).toEqual(['CLI-B']);

    const altered = path.join(dir, 'altered.ndjson');
    fs.writeFileSync(altered, lines.map((l) => l.replace('"CLI-B"', '"CLI-C"')).join('\n'));
    const result = await cli('audit', 'verify', '--file', altered);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/entry \d+: changed since it was sealed \[entry-altered\]/);
  });

  it('writes NDJSON to stdout without --out, and refuses bad usage', async () => {
    const result = await cli('audit', 'export', '--partner', 'CLI-A');
    expect(result.code).toBe(0);
    const records = result.stdout.split('\n').map((l) => JSON.parse(l).record);
    expect(records.filter((r) => r === 'entry')).toHaveLength(2);
    expect([records[0], records[1], records.at(-1)]).toEqual(['header', 'keys', 'end']);
    expect((await cli('audit')).code).toBe(2);
    expect((await cli('audit', 'verify', '--jwks', 'x.json')).code).toBe(2);
    expect((await cli('audit', 'verify', '--file', path.join(dir, 'nope'))).code).toBe(2);
    expect((await cli('audit', 'export', '--from', 'yesterday')).stderr).toMatch(
      /from must be a time/,
    );
  });
});
