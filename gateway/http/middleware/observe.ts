import { createMiddleware } from 'hono/factory';
import { routePath } from 'hono/route';
import type { Logger } from '../../logger.ts';
import type { Metrics } from '../../metrics.ts';
import type { AppEnv } from '../env.ts';

/** One access-log line and the request metrics per request; labels use the route pattern. */
export function observe(logger: Logger, metrics: Metrics) {
  return createMiddleware<AppEnv>(async (c, next) => {
    const started = performance.now();
    await next();
    const seconds = (performance.now() - started) / 1000;
    const route = routePath(c);
    const status = c.res.status;
    metrics.httpRequests.inc({ method: c.req.method, route, status: String(status) });
    metrics.httpDuration.observe({ method: c.req.method, route }, seconds);
    const line = {
      requestId: c.get('requestId'),
      method: c.req.method,
      route,
      status,
      ms: seconds * 1000,
    };
    // Successful requests log at debug: at thousands per second an info line each is noise.
    if (status >= 500) logger.error(line, 'request failed');
    else if (status >= 400) logger.info(line, 'request refused');
    else logger.debug(line, 'request');
  });
}
