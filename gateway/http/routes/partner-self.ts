import { Hono } from 'hono';
import type { AppEnv } from '../env.ts';

/** `GET /v1/me`: who the presented API key belongs to — a partner's first connectivity check. */
export function partnerSelfRoutes() {
  return new Hono<AppEnv>().get('/', (c) => {
    const { partner } = c.get('caller');
    return c.json({
      id: partner.id,
      name: partner.name,
      roles: partner.roles,
      format: partner.format,
      deliveryMode: partner.deliveryMode,
      requireSignedRequests: partner.requireSignedRequests,
    });
  });
}
