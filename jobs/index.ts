/**
 * The jobs of a process with ROLE=all or ROLE=jobs: the scheduler, its job definitions, and the
 * LISTEN that wakes the deliverer after every commit that queued outbound work.
 */
import type { Config } from '../gateway/config.ts';
import { createDeliverer } from '../gateway/core/delivery/deliverer.ts';
import type { DeliveryPolicy, DeliveryTransports } from '../gateway/core/delivery/delivery.ts';
import { OUTBOX_CHANNEL } from '../gateway/core/delivery/outbox.repository.ts';
import type { EnqueueOutbound, PipelineDeps } from '../gateway/core/pipeline/pipeline.service.ts';
import type { Signer } from '../gateway/core/signing/signer.ts';
import type { TradingDeps } from '../gateway/core/trading/trading.service.ts';
import type { DatabaseHandle } from '../gateway/db/database.ts';
import type { Logger } from '../gateway/logger.ts';
import type { SchemaRegistry } from '../schemas/registry.ts';
import { DELIVER_OUTBOX, deliverOutboxJob } from './deliver-outbox.ts';
import { expireChecksJob } from './expire-checks.ts';
import { feedJobs } from './feeds.ts';
import { judgeReservationsJob } from './judge-reservations.ts';
import { judgeTendersJob } from './judge-tenders.ts';
import { SCAN_FILE_DROPS, scanFileDropsJob } from './scan-file-drops.ts';
import { sealAuditJob } from './seal-audit.ts';
import { createScheduler, newInstanceId, type Scheduler } from './scheduler.ts';

export interface JobsDeps {
  /** Queues outbound documents in a transaction (the transactional outbox). */
  enqueue: EnqueueOutbound;
  config: Readonly<Config>;
  database: DatabaseHandle;
  logger: Logger;
  transports: DeliveryTransports;
  /** Delay before retry number `attempt` (backoff with jitter, honouring Retry-After). */
  retryDelayMs: DeliveryPolicy['retryDelayMs'];
  /** The gateway key: seals the audit log. */
  signer: Signer;
  instanceId?: string;
  /** The inbound pipeline for the file-drop scanner; absent: no scan-file-drops job. */
  fileDrop?: { pipeline: PipelineDeps; registry: SchemaRegistry };
}

export interface RunningJobs {
  instanceId: string;
  scheduler: Scheduler;
  /** Stops the clock and the listener, lets runs finish (bounded), releases leases and claims. */
  stop(): Promise<void>;
}

export function deliveryPolicy(
  config: Readonly<Config>,
  retryDelayMs: DeliveryPolicy['retryDelayMs'],
): DeliveryPolicy {
  return {
    maxAttempts: config.deliveryMaxAttempts,
    maxAgeMs: config.deliveryMaxAgeS * 1000,
    leaseMs: config.deliveryLeaseMs,
    concurrency: config.deliveryConcurrency,
    perPartner: config.deliveryPerPartner,
    retryDelayMs,
  };
}

export async function startJobs(deps: JobsDeps): Promise<RunningJobs> {
  const { config, database, logger } = deps;
  const instanceId = deps.instanceId ?? newInstanceId();
  const trading: TradingDeps = {
    db: database.db,
    enqueue: deps.enqueue,
    settings: {
      commissionRatePercent: config.commissionRatePercent,
      confirmWindowS: config.confirmWindowS,
      tenderWindowS: config.tenderWindowS,
    },
  };
  const deliverer = createDeliverer({
    db: database.db,
    transports: deps.transports,
    policy: deliveryPolicy(config, deps.retryDelayMs),
    instanceId,
    logger,
  });
  const fileDrops =
    deps.fileDrop === undefined
      ? undefined
      : scanFileDropsJob({
          db: database.db,
          root: config.fileDropRoot,
          stableMs: config.fileDropStableMs,
          scanIntervalS: config.fileDropScanIntervalS,
          pipeline: deps.fileDrop.pipeline,
          registry: deps.fileDrop.registry,
          logger,
          wake: () => scheduler.wake(SCAN_FILE_DROPS),
        });
  const scheduler = createScheduler(
    { db: database.db, logger, instanceId, shutdownTimeoutMs: config.shutdownTimeoutMs },
    [
      deliverOutboxJob(deliverer),
      judgeReservationsJob(trading, database.kind),
      judgeTendersJob(trading),
      ...feedJobs({ db: database.db, enqueue: deps.enqueue }),
      expireChecksJob(database.db),
      ...(fileDrops === undefined ? [] : [fileDrops.job]),
      sealAuditJob({ db: database.db, signer: deps.signer }),
    ],
  );
  scheduler.start();
  const unlisten = await database.listen(OUTBOX_CHANNEL, () => scheduler.wake(DELIVER_OUTBOX));
  // Whatever was queued while no process listened (or before a crash) is due now.
  scheduler.wake(DELIVER_OUTBOX);
  // Files a stopped or crashed process left half done are resumed now.
  if (fileDrops !== undefined) scheduler.wake(SCAN_FILE_DROPS);
  return {
    instanceId,
    scheduler,
    async stop() {
      await unlisten().catch(() => undefined);
      fileDrops?.close();
      await scheduler.stop();
    },
  };
}
