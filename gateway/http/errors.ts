/**
 * The one place where error codes become HTTP statuses, and the one error envelope:
 * `{ "error": { "code", "message", "requestId", "details"? } }`, or the same as XML when the
 * client speaks XML. Never a stack trace.
 */
import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { create } from 'xmlbuilder2';
import type { GatewayError } from '../core/errors.ts';
import { type ErrorCode, type ErrorDetail } from '../core/errors.ts';
import type { AppEnv } from './env.ts';

export function statusFor(code: ErrorCode): ContentfulStatusCode {
  switch (code) {
    case 'BAD_REQUEST':
    case 'MALFORMED_DOCUMENT':
      return 400;
    case 'UNAUTHENTICATED':
    case 'BAD_SIGNATURE':
      return 401;
    case 'FORBIDDEN':
    case 'ROLE_NOT_ALLOWED':
    case 'SENDER_MISMATCH':
      return 403;
    case 'NOT_FOUND':
    case 'ADMIN_API_DISABLED':
      return 404;
    case 'CONFLICT':
    case 'MESSAGE_ID_REUSED':
      return 409;
    case 'PAYLOAD_TOO_LARGE':
      return 413;
    case 'UNSUPPORTED_MEDIA_TYPE':
      return 415;
    case 'SCHEMA_VIOLATION':
    case 'UNSUPPORTED_DOCUMENT_TYPE':
    case 'UNKNOWN_CURRENCY':
    case 'AMOUNT_PRECISION':
    case 'BUSINESS_RULE':
      return 422;
    case 'RATE_LIMITED':
      return 429;
    case 'STORAGE_UNAVAILABLE':
      return 503;
    case 'CONFIG_INVALID':
    case 'MIGRATION_FAILED':
    case 'INTERNAL':
      return 500;
  }
}

/** Does the client speak XML? Then errors are XML too. */
export function prefersXml(c: Context): boolean {
  const type = c.req.header('content-type') ?? '';
  const accept = c.req.header('accept') ?? '';
  return /xml/i.test(type) || (/xml/i.test(accept) && !/json/i.test(accept));
}

export function errorResponse(c: Context<AppEnv>, error: GatewayError): Response {
  const status = statusFor(error.code);
  const requestId = c.get('requestId');
  // Internal errors say nothing of their cause to the client; the log has it.
  const message = status === 500 ? 'internal error' : error.message;
  if (prefersXml(c)) {
    return c.body(errorXml(error.code, message, requestId, error.details), status, {
      'content-type': 'application/xml; charset=utf-8',
    });
  }
  return c.json(
    {
      error: {
        code: error.code,
        message,
        requestId,
        ...(error.details.length > 0 ? { details: error.details } : {}),
      },
    },
    status,
  );
}

function errorXml(
  code: string,
  message: string,
  requestId: string,
  details: readonly ErrorDetail[],
): string {
  const root = create({ version: '1.0', encoding: 'UTF-8' }).ele('urn:nakadachi:1', 'Error');
  root.ele('Code').txt(code);
  root.ele('Message').txt(message);
  root.ele('RequestId').txt(requestId);
  if (details.length > 0) {
    const list = root.ele('Details');
    for (const d of details) {
      const item = list.ele('Detail');
      item.ele('Path').txt(d.path);
      item.ele('Code').txt(d.code);
      item.ele('Message').txt(d.message);
    }
  }
  return root.end();
}
