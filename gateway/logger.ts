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

export function createLogger(level: LogLevel, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'nakadachi' },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
      formatters: { level: (label) => ({ level: label }) },
    },
    destination,
  );
}
