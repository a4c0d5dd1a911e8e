/**
 * The composition root, and the only place that wires: config → database → core → HTTP app and
 * scheduler. Everything below receives what it needs; nothing reaches for globals.
 */
import { randomBytes } from 'node:crypto';
import { createPartnerFormats } from '../adapters/codec/partner-formats.ts';
import { createRenderer } from '../adapters/codec/render.ts';
import { createFileDropPreparer } from '../adapters/filedrop/folders.ts';
import { nextRetryDelayMs } from '../adapters/transport/backoff.ts';
import { createDeliveryTransports } from '../adapters/transport/delivery-transports.ts';
import { checkEndpointUrl } from '../adapters/transport/endpoint-guard.ts';
import { createPushClient } from '../adapters/transport/https-push.ts';
import { createUblAdapter } from '../adapters/ubl/ubl-adapter.ts';
import { startJobs, type JobsDeps, type RunningJobs } from '../jobs/index.ts';
import { createSchemaRegistry } from '../schemas/registry.ts';
import type { Config } from './config.ts';
import { catalogueHandlers } from './core/catalogue/catalogue.service.ts';
import { createCheckHandlers } from './core/checks/checks.service.ts';
import { enqueueOutboundMany } from './core/delivery/outbox.ts';
import { createPartnerDirectory } from './core/partners/identification.service.ts';
import type { EndpointCheck } from './core/partners/partners.ts';
import type { PipelineDeps } from './core/pipeline/pipeline.service.ts';
import { createGroupCommitter } from './core/pipeline/group-commit.ts';
import { logAndClaimInbound } from './core/pipeline/inbound.repository.ts';
import { createHandlerRegistry } from './core/pipeline/handlers.ts';
import { createSigner, type Signer } from './core/signing/signer.ts';
import { createTradingHandlers } from './core/trading/trading.service.ts';
import { publishSigningKey } from './core/signing/signing-keys.repository.ts';
import { acquireLock, type DataDirLock } from './db/data-dir-lock.ts';
import { openDatabase, type DatabaseHandle } from './db/database.ts';
import { migrateToLatest } from './db/migrate.ts';
import { createApp, type AppDeps } from './http/app.ts';
import { listen, type RunningServer } from './http/server.ts';
import { createLogger, type Logger } from './logger.ts';
import { createMetrics } from './metrics.ts';
import { loadOrCreateSigningKey } from './signing-key.ts';

export interface Gateway {
  /** Base URL of the HTTP server (undefined when ROLE=jobs). */
  url: string | undefined;
  database: DatabaseHandle;
  logger: Logger;
  /** The scheduler and its jobs (undefined when ROLE=api). */
  jobs: RunningJobs | undefined;
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

/** The gateway key, its public half published first: whatever it signs must verify. */
async function gatewaySigner(config: Readonly<Config>, database: DatabaseHandle): Promise<Signer> {
  const signer = await createSigner(loadOrCreateSigningKey(config.signingKeyFile));
  await publishSigningKey(database.db, signer.keyId, signer.publicJwk);
  return signer;
}

/**
 * Everything the HTTP app and the jobs need, built once: the schema registry (validators compiled
 * here, never per request), the gateway signing key, the handler registry, the pipeline.
 */
export async function buildServices(
  config: Readonly<Config>,
  database: DatabaseHandle,
  logger: Logger,
  localAdminToken: string | undefined,
): Promise<AppDeps> {
  const registry = createSchemaRegistry();
  const signer = await gatewaySigner(config, database);
  const handlers = createHandlerRegistry(
    catalogueHandlers,
    createTradingHandlers({
      commissionRatePercent: config.commissionRatePercent,
      confirmWindowS: config.confirmWindowS,
      tenderWindowS: config.tenderWindowS,
    }),
    createCheckHandlers({
      signer,
      checkValidityS: config.checkValidityS,
      paymentRelease: config.paymentRelease,
      commissionRatePercent: config.commissionRatePercent,
    }),
  );
  // UBL mappings are loaded and checked here: a broken mapping file stops the start.
  const formats = createPartnerFormats({
    registry,
    ubl: createUblAdapter(registry),
    directory: createPartnerDirectory(database.db),
  });
  const outbox = { gatewayId: config.gatewayId, render: createRenderer(registry, formats.encode) };
  // Inbound documents commit in batches whose claims are made together (group-commit.ts).
  const committer = (lanes: number, maxBatch: number) =>
    createGroupCommitter(database.db, { lanes, maxBatch, claim: logAndClaimInbound });
  const pglite = database.kind === 'pglite';
  const batchCommitMax = config.batchCommitMax ?? (pglite ? 64 : 256);
  return {
    config,
    database,
    logger,
    metrics: createMetrics(),
    checkEndpoint: endpointCheck(config),
    prepareFileDrop: createFileDropPreparer(config.fileDropRoot),
    localAdminToken,
    registry,
    formats,
    pipeline: {
      db: database.db,
      gatewayId: config.gatewayId,
      decode: formats.decode,
      handlers,
      signer,
      enqueue: (trx, outbounds) => enqueueOutboundMany(trx, outbox, outbounds),
      commit: committer(pglite ? 1 : config.groupCommitLanes, config.groupCommitMax),
      commitInOrder: () => committer(1, batchCommitMax),
      batchCommitMax,
    },
  };
}

/**
 * The scheduled jobs with their ports: the signing push client, the file outbox, the backoff.
 * They queue outbound documents and seal the audit log with the services' outbox and key (built
 * once, by buildServices).
 */
export async function startGatewayJobs(
  config: Readonly<Config>,
  database: DatabaseHandle,
  logger: Logger,
  { enqueue, signer }: Pick<PipelineDeps, 'enqueue' | 'signer'>,
  /** The inbound pipeline for the file-drop scanner (absent: no scan-file-drops job). */
  fileDrop?: JobsDeps['fileDrop'],
): Promise<RunningJobs> {
  const pushClient = createPushClient({
    allowInsecure: config.allowInsecureEndpoints,
    timeoutMs: config.deliveryTimeoutMs,
  });
  let jobs: RunningJobs;
  try {
    jobs = await startJobs({
      config,
      database,
      logger,
      enqueue,
      signer,
      fileDrop,
      transports: createDeliveryTransports({ pushClient, fileDropRoot: config.fileDropRoot }),
      retryDelayMs: (attempt, retryAfterMs) =>
        nextRetryDelayMs({
          attempt,
          baseMs: config.deliveryRetryBaseMs,
          maxMs: config.deliveryRetryMaxMs,
          retryAfterMs,
        }),
    });
  } catch (error) {
    pushClient.close();
    throw error;
  }
  return {
    ...jobs,
    async stop() {
      await jobs.stop();
      pushClient.close();
    },
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
  let jobs: RunningJobs | undefined;
  let services: AppDeps | undefined;
  try {
    services = await buildServices(config, database, logger, localAdminToken);
    if (config.role !== 'jobs') {
      server = await listen(createApp(services), config.host, config.port);
      lock?.update({ adminUrl: server.url, localToken: localAdminToken });
    }
    if (config.role !== 'api') {
      jobs = await startGatewayJobs(config, database, logger, services.pipeline, {
        pipeline: services.pipeline,
        registry: services.registry,
      });
    }
  } catch (error) {
    await server?.close(0);
    await services?.pipeline.signer.close();
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
    jobs,
    stop() {
      stopping ??= (async () => {
        logger.info('gateway stopping');
        // In-flight requests and job runs finish side by side, each within the shutdown timeout;
        // the database closes only after both.
        await Promise.all([server?.close(config.shutdownTimeoutMs), jobs?.stop()]);
        await services.pipeline.signer.close();
        if (options.database === undefined) await database.close();
        lock?.release();
        logger.info('gateway stopped');
      })();
      return stopping;
    },
  };
}
