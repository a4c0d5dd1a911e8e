import type { MiddlewareHandler } from 'hono';
import { bodyLimit as countingBodyLimit } from 'hono/body-limit';
import { GatewayError } from '../../core/errors.ts';

/**
 * 413 PAYLOAD_TOO_LARGE before the body is read. A body with a Content-Length is judged by that
 * header — Node's HTTP parser never hands on more than it declares — and left for the handler to
 * read on the server's direct path; a chunked body, which declares nothing, is counted as it
 * streams. (Hono's bodyLimit alone turns every request into a web Request with a stream, the
 * slowest way to read a 1 KB document: it cost more CPU than signing the receipt.)
 */
export function bodyLimit(maxBytes: number): MiddlewareHandler {
  const tooLarge = (): never => {
    throw new GatewayError('PAYLOAD_TOO_LARGE', `the body is larger than ${maxBytes} bytes`);
  };
  const counting = countingBodyLimit({ maxSize: maxBytes, onError: tooLarge });
  return async (c, next) => {
    if (c.req.method === 'GET' || c.req.method === 'HEAD') return next();
    const length = c.req.header('content-length');
    if (length === undefined || c.req.header('transfer-encoding') !== undefined) {
      return counting(c, next);
    }
    if (Number(length) > maxBytes) tooLarge();
    return next();
  };
}
