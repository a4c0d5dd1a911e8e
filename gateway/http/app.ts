/**
 * The HTTP edge: builds the Hono app from its dependencies and never listens itself (server.ts
 * does), so tests drive it with `app.request()`.
 */
import path from 'node:path';
import { Hono } from 'hono';
import { secureHeaders } from 'hono/secure-headers';
import type { Kysely } from 'kysely';
import type { PartnerFormats } from '../../adapters/codec/partner-formats.ts';
import type { SchemaRegistry } from '../../schemas/registry.ts';
import type { Config } from '../config.ts';
import { GatewayError } from '../core/errors.ts';
import type { EndpointCheck } from '../core/partners/partners.ts';
import type { PrepareFileDrop } from '../core/partners/partners.service.ts';
import type { PipelineDeps } from '../core/pipeline/pipeline.service.ts';
import { toStorageError, type DatabaseHandle } from '../db/database.ts';
import type { Database } from '../db/tables.ts';
import type { Logger } from '../logger.ts';
import type { Metrics } from '../metrics.ts';
import type { AppEnv } from './env.ts';
import { errorResponse } from './errors.ts';
import { consoleRoutes } from './console/console.tsx';
import { adminAccess } from './middleware/admin-access.ts';
import { bodyLimit } from './middleware/body-limit.ts';
import { observe } from './middleware/observe.ts';
import { createPartnerAuthCache, partnerAuth } from './middleware/partner-auth.ts';
import { rateLimit } from './middleware/rate-limit.ts';
import { requestId } from './middleware/request-id.ts';
import { adminAccountRoutes } from './routes/admin-accounts.ts';
import { adminAliasRoutes } from './routes/admin-aliases.ts';
import { adminAuditRoutes } from './routes/admin-audit.ts';
import { adminCheckRoutes } from './routes/admin-checks.ts';
import { adminDeadLetterRoutes } from './routes/admin-dead-letters.ts';
import { adminFeedRoutes } from './routes/admin-feeds.ts';
import { adminMessageRoutes } from './routes/admin-messages.ts';
import { adminPartnerRoutes } from './routes/admin-partners.ts';
import { adminTimelineRoutes } from './routes/admin-timeline.ts';
import { batchRoutes } from './routes/batches.ts';
import { documentRoutes } from './routes/documents.ts';
import { itemRoutes } from './routes/items.ts';
import { jwksRoutes } from './routes/jwks.ts';
import { mailboxRoutes } from './routes/mailbox.ts';
import { opsRoutes } from './routes/ops.ts';
import { partnerSelfRoutes } from './routes/partner-self.ts';
import { reservationRoutes } from './routes/reservations.ts';
import { schemaRoutes } from './routes/schemas.ts';

export interface AppDeps {
  config: Readonly<Config>;
  database: DatabaseHandle;
  logger: Logger;
  metrics: Metrics;
  checkEndpoint: EndpointCheck;
  /** Per-run token written to the lock file so the local CLI can use the admin API. */
  localAdminToken: string | undefined;
  registry: SchemaRegistry;
  /** Partner formats: what a partner's bytes mean, and the text it receives (UBL, CSV, …). */
  formats: PartnerFormats;
  pipeline: PipelineDeps;
  /** Creates a file-mode partner's drop folders (adapters/filedrop). */
  prepareFileDrop: PrepareFileDrop;
}

export function createApp(deps: AppDeps): Hono<AppEnv> {
  const db: Kysely<Database> = deps.database.db;
  const app = new Hono<AppEnv>();

  app.use(requestId);
  app.use(observe(deps.logger, deps.metrics));
  app.use(secureHeaders());
  // PostgreSQL text cannot hold U+0000: a NUL in a path or query value is a 400 here, not a 500
  // from the database wherever the value is used.
  app.use(async (c, next) => {
    if (/%00/i.test(c.req.url) || c.req.url.includes('\u0000')) {
      throw new GatewayError('BAD_REQUEST', 'the URL must not contain U+0000 (%00)');
    }
    await next();
  });
  const documentBodyLimit = bodyLimit(deps.config.bodyLimitBytes);
  // Batches stream their bodies to disk under their own limit (routes/batches.ts).
  app.use((c, next) =>
    c.req.path.startsWith('/v1/batches') ? next() : documentBodyLimit(c, next),
  );

  app.route('/', opsRoutes(deps));

  // Public: the contract and the keys that verify the gateway's signatures.
  app.route('/v1/schemas', schemaRoutes(deps.registry));
  app.route('/.well-known', jwksRoutes(db));

  // Partner API: an API key, then the partner's rate limit.
  const partnerCache = createPartnerAuthCache(db, 5_000);
  const authenticated = partnerAuth(partnerCache);
  const limited = rateLimit({
    perSecond: deps.config.rateLimitPerSecond,
    burst: deps.config.rateLimitBurst,
  });
  // A Hono wildcard matches the bare prefix too: one registration per prefix, or it runs twice.
  for (const prefix of [
    '/v1/me',
    '/v1/documents',
    '/v1/batches',
    '/v1/mailbox',
    '/v1/items',
    '/v1/reservations',
  ]) {
    app.use(`${prefix}/*`, authenticated, limited);
  }
  app.route('/v1/me', partnerSelfRoutes());
  app.route(
    '/v1/documents',
    documentRoutes({ pipeline: deps.pipeline, formats: deps.formats, db }),
  );
  app.route(
    '/v1/batches',
    batchRoutes({
      pipeline: deps.pipeline,
      registry: deps.registry,
      db,
      logger: deps.logger,
      limitBytes: deps.config.batchBodyLimitBytes,
      spoolDir: path.join(deps.config.dataDir, 'spool'),
    }),
  );
  app.route('/v1/mailbox', mailboxRoutes({ db }));
  app.route('/v1/items', itemRoutes(db));
  app.route('/v1/reservations', reservationRoutes(db));

  app.use(
    '/admin/v1/*',
    adminAccess({
      adminToken: deps.config.adminToken,
      localToken: deps.localAdminToken,
      auditorToken: deps.config.auditorToken,
    }),
  );
  // Any change to partners through this process is seen by its next partner request at once.
  app.use('/admin/v1/partners/*', async (c, next) => {
    await next();
    if (c.req.method !== 'GET') partnerCache.clear();
  });
  app.route(
    '/admin/v1/partners',
    adminPartnerRoutes({
      db,
      checkEndpoint: deps.checkEndpoint,
      prepareFileDrop: deps.prepareFileDrop,
    }),
  );
  app.route('/admin/v1/partners', adminFeedRoutes(db));
  app.route('/admin/v1', adminAliasRoutes(db));
  app.route('/admin/v1/dead-letters', adminDeadLetterRoutes({ db }));
  app.route('/admin/v1/accounts', adminAccountRoutes({ db, gatewayId: deps.config.gatewayId }));
  app.route('/admin/v1/checks', adminCheckRoutes({ db }));
  app.route('/admin/v1/messages', adminMessageRoutes({ db }));
  app.route('/admin/v1/timeline', adminTimelineRoutes({ db }));
  app.route(
    '/admin/v1/audit',
    adminAuditRoutes({ db, signer: deps.pipeline.signer, gatewayId: deps.config.gatewayId }),
  );

  // The operator console: HTML pages behind a login of their own (console/session.ts).
  app.route(
    '/console',
    consoleRoutes({
      db,
      gatewayId: deps.config.gatewayId,
      adminToken: deps.config.adminToken,
      auditorToken: deps.config.auditorToken,
    }),
  );

  app.notFound((c) =>
    errorResponse(c, new GatewayError('NOT_FOUND', `no route ${c.req.method} ${c.req.path}`)),
  );
  app.onError((error, c) => {
    const mapped = toStorageError(error);
    if (mapped instanceof GatewayError) {
      if (mapped.code === 'STORAGE_UNAVAILABLE') {
        deps.logger.warn(
          { requestId: c.get('requestId'), err: mapped.message },
          'storage unavailable',
        );
        c.header('retry-after', '1');
      }
      return errorResponse(c, mapped);
    }
    deps.logger.error({ requestId: c.get('requestId'), err: error }, 'unhandled error');
    return errorResponse(c, new GatewayError('INTERNAL', 'internal error'));
  });
  return app;
}
