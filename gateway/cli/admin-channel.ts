/**
 * Management commands speak to the admin API: through a running gateway when one holds the
 * embedded database (it cannot be opened twice), or in-process against the database otherwise —
 * the same requests either way, so each command has one code path.
 */
import { randomBytes } from 'node:crypto';
import type { Config } from '../config.ts';
import { lockHolder } from '../db/data-dir-lock.ts';
import { createApp } from '../http/app.ts';
import { createLogger } from '../logger.ts';
import { buildServices, openMigratedDatabase } from '../main.ts';

interface AdminResponse {
  status: number;
  body: Record<string, unknown>;
}

export interface AdminChannel {
  request(method: string, path: string, body?: unknown): Promise<AdminResponse>;
  close(): Promise<void>;
}

export async function openAdminChannel(config: Readonly<Config>): Promise<AdminChannel> {
  const holder = config.databaseUrl === undefined ? lockHolder(config.dataDir) : undefined;
  if (holder?.adminUrl !== undefined && holder.localToken !== undefined) {
    const { adminUrl, localToken } = holder;
    return {
      async request(method, path, body) {
        const response = await fetch(`${adminUrl}${path}`, {
          method,
          headers: { authorization: `Bearer ${localToken}`, 'content-type': 'application/json' },
          body: body === undefined ? undefined : JSON.stringify(body),
        });
        return {
          status: response.status,
          body: (await response.json()) as Record<string, unknown>,
        };
      },
      close: () => Promise.resolve(),
    };
  }
  const { database, lock } = await openMigratedDatabase(config);
  const token = randomBytes(32).toString('base64url');
  const services = await buildServices(config, database, createLogger('silent'), token);
  const app = createApp(services);
  return {
    async request(method, path, body) {
      const response = await app.request(path, {
        method,
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      return { status: response.status, body: (await response.json()) as Record<string, unknown> };
    },
    async close() {
      await services.pipeline.signer.close();
      await database.close();
      lock?.release();
    },
  };
}

/** The gateway refused: its message is the one line the CLI prints. */
export class AdminError extends Error {}

export async function call(channel: AdminChannel, method: string, path: string, body?: unknown) {
  const response = await channel.request(method, path, body);
  if (response.status >= 400) {
    const error = response.body.error as { message?: string } | undefined;
    throw new AdminError(error?.message ?? `the gateway answered ${response.status}`);
  }
  return response.body;
}
