/**
 * Outbound delivery under test: a test gateway with its jobs running (the real wiring of
 * main.ts), short retry delays, and helpers to queue documents and watch the outbox.
 */
import type { Kysely } from 'kysely';
import { createRenderer } from '../../adapters/codec/render.ts';
import { enqueueOutboundMany, type OutboxDeps } from '../../gateway/core/delivery/outbox.ts';
import type { Database } from '../../gateway/db/tables.ts';
import { createLogger } from '../../gateway/logger.ts';
import { startGatewayJobs } from '../../gateway/main.ts';
import type { RunningJobs } from '../../jobs/index.ts';
import { createSchemaRegistry } from '../../schemas/registry.ts';
import { startTestGateway, type TestGateway } from './gateway.ts';

/** Fast retries and short timeouts, loopback receivers allowed. */
export const FAST_DELIVERY: Readonly<Record<string, string>> = {
  ALLOW_INSECURE_ENDPOINTS: 'true',
  DELIVERY_RETRY_BASE_MS: '20',
  DELIVERY_RETRY_MAX_MS: '200',
  // Loose enough that a loaded CI machine never times out a healthy push by accident.
  DELIVERY_TIMEOUT_MS: '1000',
  DELIVERY_LEASE_MS: '4000',
  SHUTDOWN_TIMEOUT_MS: '2000',
};

export interface DeliveryHarness extends TestGateway {
  jobs: RunningJobs;
  outbox: OutboxDeps;
  /** Queues `count` NoAward documents for the recipient in one transaction; their messageIds. */
  enqueue(recipientId: string, count?: number): Promise<string[]>;
}

let outboxDeps: OutboxDeps | undefined;

/** Renders with the real schema registry, compiled once per test file. */
export function testOutboxDeps(gatewayId = 'NAKADACHI'): OutboxDeps {
  outboxDeps ??= { gatewayId, render: createRenderer(createSchemaRegistry()) };
  return outboxDeps;
}

let serial = 0;

/** A small valid outbound document (the NoAward schema: reservationId and reason). */
export function noAward(recipientId: string): {
  recipientId: string;
  type: string;
  body: Record<string, unknown>;
} {
  serial += 1;
  return {
    recipientId,
    type: 'NoAward',
    body: { reservationId: `RSV-${String(serial).padStart(6, '0')}`, reason: 'test' },
  };
}

export async function enqueueNoAwards(
  db: Kysely<Database>,
  deps: OutboxDeps,
  recipientId: string,
  count: number,
): Promise<string[]> {
  const documents = Array.from({ length: count }, () => noAward(recipientId));
  return db.transaction().execute((trx) => enqueueOutboundMany(trx, deps, documents));
}

export async function startDeliveryHarness(
  env: Record<string, string> = {},
): Promise<DeliveryHarness> {
  const gateway = await startTestGateway({ ...FAST_DELIVERY, ...env });
  const jobs = await startGatewayJobs(
    gateway.config,
    gateway.database,
    createLogger('silent'),
    gateway.services.pipeline,
  );
  const outbox = testOutboxDeps(gateway.config.gatewayId);
  return {
    ...gateway,
    jobs,
    outbox,
    enqueue: (recipientId, count = 1) =>
      enqueueNoAwards(gateway.database.db, outbox, recipientId, count),
    async close() {
      await jobs.stop();
      await gateway.close();
    },
  };
}

/** Polls `check` until it returns something other than undefined or false. */
export async function eventually<T>(
  check: () => Promise<T | undefined | false> | T | undefined | false,
  what: string,
  timeoutMs = 10_000,
  intervalMs = 20,
): Promise<T> {
  const started = Date.now();
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

export async function outboxRow(db: Kysely<Database>, messageId: string) {
  return db
    .selectFrom('outbox')
    .selectAll()
    .where('message_id', '=', messageId)
    .executeTakeFirstOrThrow();
}

export async function outboxStatus(db: Kysely<Database>, messageId: string): Promise<string> {
  return (await outboxRow(db, messageId)).status;
}

/** The outbound log entries of a message, in order. */
export async function logOf(db: Kysely<Database>, messageId: string) {
  return db
    .selectFrom('message_log')
    .select(['event', 'status', 'detail', 'partner_id'])
    .where('message_id', '=', messageId)
    .where('direction', '=', 'outbound')
    .orderBy('id')
    .execute();
}
