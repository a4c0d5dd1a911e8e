import { createMiddleware } from 'hono/factory';
import { GatewayError } from '../../core/errors.ts';
import type { AppEnv } from '../env.ts';

interface Bucket {
  tokens: number;
  refilledAt: number;
}

/**
 * Per-partner token bucket, in this process (each replica limits on its own; the limit is a
 * guard against a runaway client, not a quota). Runs after partner authentication.
 */
export function rateLimit(options: { perSecond: number; burst: number; now?: () => number }) {
  const buckets = new Map<string, Bucket>();
  const now = options.now ?? (() => performance.now());
  return createMiddleware<AppEnv>(async (c, next) => {
    if (options.perSecond > 0) {
      const key = c.get('caller').partner.id;
      const at = now();
      const bucket = buckets.get(key) ?? { tokens: options.burst, refilledAt: at };
      bucket.tokens = Math.min(
        options.burst,
        bucket.tokens + ((at - bucket.refilledAt) / 1000) * options.perSecond,
      );
      bucket.refilledAt = at;
      if (bucket.tokens < 1) {
        buckets.set(key, bucket);
        const waitS = Math.max(1, Math.ceil((1 - bucket.tokens) / options.perSecond));
        c.header('retry-after', String(waitS));
        throw new GatewayError(
          'RATE_LIMITED',
          `more than ${options.perSecond} requests per second: retry in ${waitS} s`,
        );
      }
      bucket.tokens -= 1;
      buckets.set(key, bucket);
    }
    await next();
  });
}
