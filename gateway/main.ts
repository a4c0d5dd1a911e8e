/**
 * The composition root, and the only place that wires: config → database → core → HTTP app and
 * scheduler. Everything below receives what it needs; nothing reaches for globals.
 */
import { randomBytes } from 'node:crypto';
import { checkEndpointUrl } from '../adapters/transport/endpoint-guard.ts';
import type { Config } from './config.ts';
import type { EndpointCheck } from './core/partners/partners.ts';
import { acquireLock, type DataDirLock } from './db/data-dir-lock.ts';
import { openDatabase, type DatabaseHandle } from './db/database.ts';
import { migrateToLatest } from './db/migrate.ts';
import { createApp } from './http/app.ts';
import { listen, type RunningServer } from './http/server.ts';
import { createLogger, type Logger } from './logger.ts';
import { createMetrics } from './metrics.ts';

export interface Gateway {
  /** Base URL of the HTTP server (undefined when ROLE=jobs). */
  url: string | undefined;
  database: DatabaseHandle;
  logger: Logger;
  stop(): Promise<void>;
}

export interface StartOptions {
  logger?: Logger;
  /** Tests: a ready database (a PGlite snapshot or a schema of their own). */
  database?: DatabaseHandle;
}

export function endpointCheck(config: Readonly<Config>): EndpointCheck {
  return (url) => {
    const result = checkEndpointUrl(url, config.allowInsecureEndpoints);
    return result.ok ? { ok: true } : { ok: false, message: result.error.message };
  };
}

/** Open (and lock, when embedded) the database and bring it to the latest migration. */
export async function openMigratedDatabase(
  config: Readonly<Config>,
): Promise<{ database: DatabaseHandle; lock: DataDirLock | undefined }> {
  const lock = config.databaseUrl === undefined ? acquireLock(config.dataDir) : undefined;
  try {
    const database = await openDatabase({
      databaseUrl: config.databaseUrl,
      dataDir: config.dataDir,
      poolSize: config.dbPoolSize,
    });
    await migrateToLatest(database.db);
    return { database, lock };
  } catch (error) {
    lock?.release();
    throw error;
  }
}

export async function startGateway(
  config: Readonly<Config>,
  options: StartOptions = {},
): Promise<Gateway> {
  const logger = options.logger ?? createLogger(config.logLevel);
  const { database, lock } =
    options.database === undefined
      ? await openMigratedDatabase(config)
      : { database: options.database, lock: undefined };

  const localAdminToken = lock === undefined ? undefined : randomBytes(32).toString('base64url');
  let server: RunningServer | undefined;
  try {
    if (config.role !== 'jobs') {
      const app = createApp({
        config,
        database,
        logger,
        metrics: createMetrics(),
        checkEndpoint: endpointCheck(config),
        localAdminToken,
      });
      server = await listen(app, config.host, config.port);
      lock?.update({ adminUrl: server.url, localToken: localAdminToken });
    }
  } catch (error) {
    await database.close();
    lock?.release();
    throw error;
  }
  logger.info(
    { url: server?.url, role: config.role, database: database.kind, gatewayId: config.gatewayId },
    'gateway started',
  );

  let stopping: Promise<void> | undefined;
  return {
    url: server?.url,
    database,
    logger,
    stop() {
      stopping ??= (async () => {
        logger.info('gateway stopping');
        await server?.close(config.shutdownTimeoutMs);
        if (options.database === undefined) await database.close();
        lock?.release();
        logger.info('gateway stopped');
      })();
      return stopping;
    },
  };
}
