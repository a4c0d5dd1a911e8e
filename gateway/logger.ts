/**
 * Structured JSON logs (pino). Secrets never reach a log line: request bodies are not logged,
 * and every field that could hold a key, token or secret is redacted wherever it appears.
 */
import pino, { type DestinationStream, type Logger } from 'pino';
import type { LogLevel } from './config.ts';

export type { Logger };

const REDACTED_PATHS = [
  'apiKey',
  'signingSecret',
  'secret',
  'token',
  'authorization',
  'password',
  '*.apiKey',
  '*.signingSecret',
  '*.secret',
  '*.token',
  '*.authorization',
  '*.password',
  'headers.authorization',
  'headers.cookie',
  'headers["webhook-signature"]',
  '*.headers.authorization',
  '*.headers.cookie',
  '*.headers["webhook-signature"]',
];

/**
 * PGlite's errors carry the failed statement's parameters: a document's bytes (an e-check token
 * in a CommodityOrder), a partner's signing secret. The statement text stays; its values go.
 */
function withoutParameters(value: unknown, depth = 0): unknown {
  if (typeof value !== 'object' || value === null || depth > 8) return value;
  if (Array.isArray(value)) return value.map((item) => withoutParameters(item, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    if (key !== 'params') out[key] = withoutParameters(item, depth + 1);
  }
  return out;
}

export function createLogger(level: LogLevel, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'nakadachi' },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
      serializers: {
        err: (error: unknown) => withoutParameters(pino.stdSerializers.err(error as Error)),
      },
      formatters: { level: (label) => ({ level: label }) },
    },
    destination,
  );
}
