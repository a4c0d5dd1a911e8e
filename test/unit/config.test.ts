import { describe, expect, it } from 'vitest';
import { describeSettings, loadConfig } from '../../gateway/config.ts';
import { GatewayError } from '../../gateway/core/errors.ts';

describe('configuration', () => {
  it('has sensible defaults and is frozen', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      databaseUrl: undefined,
      port: 8080,
      role: 'all',
      gatewayId: 'NAKADACHI',
      adminToken: undefined,
      logLevel: 'info',
      allowInsecureEndpoints: false,
    });
    expect(config.dataDir.endsWith('/data')).toBe(true);
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('reads every setting it documents', () => {
    const config = loadConfig({
      DATABASE_URL: 'postgres://u@h/db',
      PORT: '9000',
      ROLE: 'jobs',
      ADMIN_TOKEN: 'x'.repeat(24),
      ALLOW_INSECURE_ENDPOINTS: 'true',
    });
    expect(config).toMatchObject({
      databaseUrl: 'postgres://u@h/db',
      port: 9000,
      role: 'jobs',
      allowInsecureEndpoints: true,
    });
  });

  it('lists every problem at once', () => {
    let error: unknown;
    try {
      loadConfig({
        PORT: '80a',
        ROLE: 'both',
        ADMIN_TOKEN: 'short',
        DATABASE_URL: 'mysql://x',
        GATEWAY_ID: 'bad id',
        ALLOW_INSECURE_ENDPOINTS: 'yes',
        ADMIN_TOKNE: 'typo',
      });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(GatewayError);
    const message = (error as GatewayError).message;
    for (const name of [
      'PORT',
      'ROLE',
      'ADMIN_TOKEN',
      'DATABASE_URL',
      'GATEWAY_ID',
      'ALLOW_INSECURE_ENDPOINTS',
      'ADMIN_TOKNE: unknown setting',
    ]) {
      expect(message).toContain(name);
    }
    expect((error as GatewayError).code).toBe('CONFIG_INVALID');
  });

  it('refuses a gateway id with a dot: outbound message ids could not be pushed', () => {
    expect(() => loadConfig({ GATEWAY_ID: 'gw.example' })).toThrow(/GATEWAY_ID: must not contain/);
    expect(loadConfig({ GATEWAY_ID: 'GW_1-A' }).gatewayId).toBe('GW_1-A');
  });

  it('keeps a connection besides the commit lanes', () => {
    expect(() => loadConfig({ DB_POOL_SIZE: '2', GROUP_COMMIT_LANES: '2' })).toThrow(
      /GROUP_COMMIT_LANES: must be below DB_POOL_SIZE/,
    );
    expect(loadConfig({ DB_POOL_SIZE: '2', GROUP_COMMIT_LANES: '1' }).groupCommitLanes).toBe(1);
    expect(loadConfig({}).groupCommitLanes).toBe(4);
  });

  it('ignores variables that are not its own', () => {
    expect(() => loadConfig({ PATH: '/bin', HOME: '/root', NODE_ENV: 'test' })).not.toThrow();
  });

  it('describes each setting for the README', () => {
    const names = describeSettings().map((s) => s.env);
    expect(new Set(names).size).toBe(names.length);
    for (const s of describeSettings()) expect(s.description.length).toBeGreaterThan(10);
  });
});

describe('README', () => {
  it('documents every setting in its configuration table', async () => {
    const { readFileSync } = await import('node:fs');
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    for (const s of describeSettings()) {
      expect(readme, s.env).toContain(
        `| \`${s.env}\` | ${s.defaultText === undefined ? '(unset)' : `\`${s.defaultText}\``} |`,
      );
    }
  });
});
