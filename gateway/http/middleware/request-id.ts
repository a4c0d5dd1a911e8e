import { randomUUID } from 'node:crypto';
import { createMiddleware } from 'hono/factory';
import type { AppEnv } from '../env.ts';

const ACCEPTABLE = /^[A-Za-z0-9._:-]{1,128}$/;

/** Every request gets an id: the caller's X-Request-Id when it is sane, else a fresh UUID. */
export const requestId = createMiddleware<AppEnv>(async (c, next) => {
  const given = c.req.header('x-request-id');
  const id = given !== undefined && ACCEPTABLE.test(given) ? given : randomUUID();
  c.set('requestId', id);
  c.header('x-request-id', id);
  await next();
});
