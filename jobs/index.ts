/**
 * The jobs of a process with ROLE=all or ROLE=jobs: the scheduler, its job definitions, and the
 * LISTEN that wakes the deliverer after every commit that queued outbound work.
 */
import type { Config } from '../gateway/config.ts';
import { createDeliverer } from '../gateway/core/delivery/deliverer.ts';
import {
  PER_PARTNER_IN_FLIGHT,
  type DeliveryPolicy,
  type DeliveryTransports,
} from '../gateway/core/delivery/delivery.ts';
import { OUTBOX_CHANNEL } from '../gateway/core/delivery/outbox.repository.ts';
import type { DatabaseHandle } from '../gateway/db/database.ts';
import type { Logger } from '../gateway/logger.ts';
import { DELIVER_OUTBOX, deliverOutboxJob } from './deliver-outbox.ts';
import { expireChecksJob } from './expire-checks.ts';
import { createScheduler, newInstanceId, type Scheduler } from './scheduler.ts';

export interface JobsDeps {
  config: Readonly<Config>;
  database: DatabaseHandle;
  logger: Logger;
  transports: DeliveryTransports;
  /** Delay before retry number `attempt` (backoff with jitter, honouring Retry-After). */
  retryDelayMs: DeliveryPolicy['retryDelayMs'];
  instanceId?: string;
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
    perPartner: PER_PARTNER_IN_FLIGHT,
    retryDelayMs,
  };
}

export async function startJobs(deps: JobsDeps): Promise<RunningJobs> {
  const { config, database, logger } = deps;
  const instanceId = deps.instanceId ?? newInstanceId();
  const deliverer = createDeliverer({
    db: database.db,
    transports: deps.transports,
    policy: deliveryPolicy(config, deps.retryDelayMs),
    instanceId,
    logger,
  });
  const scheduler = createScheduler(
    { db: database.db, logger, instanceId, shutdownTimeoutMs: config.shutdownTimeoutMs },
    [deliverOutboxJob(deliverer), expireChecksJob(database.db)],
  );
  scheduler.start();
  const unlisten = await database.listen(OUTBOX_CHANNEL, () => scheduler.wake(DELIVER_OUTBOX));
  // Whatever was queued while no process listened (or before a crash) is due now.
  scheduler.wake(DELIVER_OUTBOX);
  return {
    instanceId,
    scheduler,
    async stop() {
      await unlisten().catch(() => undefined);
      await scheduler.stop();
    },
  };
}
