import { Hono } from 'hono';
import type { DatabaseHandle } from '../../db/database.ts';
import type { Metrics } from '../../metrics.ts';
import type { AppEnv } from '../env.ts';

/** Liveness (the process answers), readiness (the database answers), Prometheus metrics. */
export function opsRoutes(deps: { database: DatabaseHandle; metrics: Metrics }) {
  return new Hono<AppEnv>()
    .get('/healthz', (c) => c.json({ status: 'ok' }))
    .get('/readyz', async (c) => {
      try {
        await deps.database.ping();
        return c.json({ status: 'ready', database: deps.database.kind });
      } catch {
        return c.json({ status: 'unavailable', database: deps.database.kind }, 503);
      }
    })
    .get('/metrics', async (c) =>
      c.body(await deps.metrics.registry.metrics(), 200, {
        'content-type': deps.metrics.registry.contentType,
      }),
    );
}
