/** An app over a test database, driven with app.request(): no socket unless a test wants one. */
import os from 'node:os';
import path from 'node:path';
import { loadConfig, type Config } from '../../gateway/config.ts';
import type { DatabaseHandle } from '../../gateway/db/database.ts';
import { createApp, type AppDeps } from '../../gateway/http/app.ts';
import { createLogger } from '../../gateway/logger.ts';
import { buildServices } from '../../gateway/main.ts';
import { openTestDatabase } from './database.ts';

/** Holds the test signing key (generated once per run, shared by the test files). */
const TEST_DATA_DIR = path.join(os.tmpdir(), 'nakadachi-test-data');

export const ADMIN_TOKEN = 'test-admin-token-0123456789abcdef';

export interface TestGateway {
  app: ReturnType<typeof createApp>;
  services: AppDeps;
  database: DatabaseHandle;
  config: Readonly<Config>;
  admin(method: string, path: string, body?: unknown): Promise<Response>;
  close(): Promise<void>;
}

export function testConfig(env: Record<string, string> = {}): Readonly<Config> {
  return loadConfig({ LOG_LEVEL: 'silent', ADMIN_TOKEN, DATA_DIR: TEST_DATA_DIR, ...env });
}

export async function startTestGateway(env: Record<string, string> = {}): Promise<TestGateway> {
  const config = testConfig(env);
  const database = await openTestDatabase();
  const services = await buildServices(config, database, createLogger(config.logLevel), undefined);
  const app = createApp(services);
  return {
    app,
    services,
    database,
    config,
    admin: (method, path, body) =>
      Promise.resolve(
        app.request(path, {
          method,
          headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
          body: body === undefined ? undefined : JSON.stringify(body),
        }),
      ),
    close: async () => {
      await services.pipeline.signer.close();
      await database.close();
    },
  };
}

export interface RegisteredPartner {
  id: string;
  apiKey: string;
  signingSecret: string;
}

export async function registerPartner(
  gateway: TestGateway,
  partner: { id: string; roles: string[]; name?: string } & Record<string, unknown>,
): Promise<RegisteredPartner> {
  const response = await gateway.admin('POST', '/admin/v1/partners', {
    name: partner.id,
    ...partner,
  });
  if (response.status !== 201) {
    throw new Error(
      `registering ${partner.id} failed: ${response.status} ${await response.text()}`,
    );
  }
  const body = (await response.json()) as { apiKey: string; signingSecret: string };
  return { id: partner.id, apiKey: body.apiKey, signingSecret: body.signingSecret };
}
