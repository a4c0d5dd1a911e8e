/**
 * The `nakadachi` command end to end: in-process against a fresh data directory, through a
 * running gateway that holds the embedded database, and as a real child process.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../../gateway/cli.ts';
import { loadConfig } from '../../gateway/config.ts';
import { createLogger } from '../../gateway/logger.ts';
import { startGateway } from '../../gateway/main.ts';
import { onPostgres } from '../support/database.ts';

const dirs: string[] = [];
function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nakadachi-cli-'));
  dirs.push(dir);
  return dir;
}
afterAll(() => {
  for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
});

async function cli(argv: string[], env: Record<string, string>) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(
    argv,
    { LOG_LEVEL: 'silent', ...env },
    (t) => out.push(t),
    (t) => err.push(t),
  );
  return { code, stdout: out.join('\n'), stderr: err.join('\n') };
}

describe('nakadachi CLI', () => {
  it('prints usage and refuses bad arguments with exit code 2 and one line', async () => {
    const env = { DATA_DIR: tempDir() };
    expect((await cli(['help'], env)).stdout).toContain('partner add --id ID');
    for (const argv of [
      ['frobnicate'],
      ['partner'],
      ['partner', 'add', '--id', 'X'],
      ['partner', 'add', '--id', 'X', '--name', 'X', '--roles', 'buyer', '--colour', 'red'],
      ['partner', 'show'],
    ]) {
      const result = await cli(argv, env);
      expect(result.code, argv.join(' ')).toBe(2);
      expect(result.stderr.split('\n')).toHaveLength(1);
      expect(result.stderr).toMatch(/^nakadachi: /);
    }
  });

  it('refuses bad configuration with every problem listed, and no stack trace', async () => {
    const result = await cli(['partner', 'list'], { PORT: 'x', ROLE: 'everything' });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('PORT');
    expect(result.stderr).toContain('ROLE');
    expect(result.stderr).not.toMatch(/\bat .*\.ts:\d+/);
  });

  it.skipIf(onPostgres)(
    'manages partners in a data directory and keeps them',
    { timeout: 60_000 },
    async () => {
      const env = { DATA_DIR: tempDir() };
      const added = await cli(
        ['partner', 'add', '--id', 'ACME', '--name', 'Acme', '--roles', 'buyer,seller', '--json'],
        env,
      );
      expect(added.code).toBe(0);
      const json = JSON.parse(added.stdout) as {
        partner: { id: string; roles: string[] };
        apiKey: string;
      };
      expect(json.partner).toMatchObject({ id: 'ACME', roles: ['seller', 'buyer'] });
      expect(json.apiKey).toMatch(/^nk_/);

      const duplicate = await cli(
        ['partner', 'add', '--id', 'ACME', '--name', 'Acme', '--roles', 'buyer'],
        env,
      );
      expect(duplicate.code).toBe(1);
      expect(duplicate.stderr).toBe('nakadachi: partner ACME already exists');

      const unknownRole = await cli(
        ['partner', 'add', '--id', 'B', '--name', 'B', '--roles', 'buyer,king'],
        env,
      );
      expect(unknownRole.code).toBe(1);
      expect(unknownRole.stderr).toContain('unknown role "king"');

      const listed = await cli(['partner', 'list', '--json'], env);
      expect(
        (JSON.parse(listed.stdout) as { partners: { id: string }[] }).partners.map((p) => p.id),
      ).toEqual(['ACME']);
      const table = await cli(['partner', 'list'], env);
      expect(table.stdout).toMatch(/^ID\s+NAME\s+ROLES/);
      expect(table.stdout).toContain('seller,buyer');

      // A gateway started on the same data directory sees the partner (a restart keeps partners),
      // and the CLI now goes through it instead of failing on the locked database.
      const config = loadConfig({
        DATA_DIR: env.DATA_DIR,
        PORT: '0',
        HOST: '127.0.0.1',
        LOG_LEVEL: 'silent',
      });
      const gateway = await startGateway(config, { logger: createLogger('silent') });
      try {
        const me = await fetch(`${gateway.url}/v1/me`, {
          headers: { authorization: `Bearer ${json.apiKey}` },
        });
        expect(me.status).toBe(200);
        const viaGateway = await cli(
          ['partner', 'add', '--id', 'BETA', '--name', 'Beta', '--roles', 'carrier', '--json'],
          env,
        );
        expect(viaGateway.code).toBe(0);
        const disabled = await cli(['partner', 'disable', '--id', 'ACME'], env);
        expect(disabled.stdout).toBe('partner ACME is suspended');
        const refused = await fetch(`${gateway.url}/v1/me`, {
          headers: { authorization: `Bearer ${json.apiKey}` },
        });
        expect(refused.status).toBe(401);
        const shown = await cli(['partner', 'show', '--id', 'BETA', '--json'], env);
        expect(JSON.parse(shown.stdout)).toMatchObject({
          partner: { id: 'BETA', roles: ['carrier'] },
        });
      } finally {
        await gateway.stop();
      }
      const afterStop = await cli(['partner', 'list', '--json'], env);
      expect(
        (JSON.parse(afterStop.stdout) as { partners: { id: string }[] }).partners.map((p) => p.id),
      ).toEqual(['ACME', 'BETA']);
    },
  );
});

describe('nakadachi serve', () => {
  it('starts, answers /healthz, and stops cleanly on SIGTERM', { timeout: 60_000 }, async () => {
    const env: Record<string, string> = {
      ...process.env,
      PORT: '0',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'info',
    };
    if (onPostgres) env.DATABASE_URL = String(process.env.TEST_DATABASE_URL);
    else env.DATA_DIR = tempDir();
    delete env.ADMIN_TOKEN;
    const child = spawn(process.execPath, ['bin/nakadachi.js', 'serve'], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    const url = await new Promise<string>((resolve, reject) => {
      child.stdout.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        const match = /"url":"(http:[^"]+)"/.exec(output);
        if (match?.[1]) resolve(match[1]);
      });
      child.once('exit', (code) => reject(new Error(`exited ${code}: ${output}`)));
    });
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    expect((await fetch(`${url}/readyz`)).status).toBe(200);
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(output).toContain('gateway stopped');
  });
});
