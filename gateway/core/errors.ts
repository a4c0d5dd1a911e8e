/**
 * One error family for the whole gateway. Services throw `GatewayError`; adapters return
 * `Result`. Each edge (HTTP, job runner, CLI) maps a code to its own outcome in one place.
 */

export type ErrorCode =
  // the request itself
  | 'BAD_REQUEST'
  | 'MALFORMED_DOCUMENT'
  | 'UNSUPPORTED_MEDIA_TYPE'
  | 'PAYLOAD_TOO_LARGE'
  | 'SCHEMA_VIOLATION'
  | 'UNSUPPORTED_DOCUMENT_TYPE'
  | 'UNKNOWN_CURRENCY'
  | 'AMOUNT_PRECISION'
  // who is asking
  | 'UNAUTHENTICATED'
  | 'BAD_SIGNATURE'
  | 'FORBIDDEN'
  | 'ROLE_NOT_ALLOWED'
  | 'SENDER_MISMATCH'
  | 'RATE_LIMITED'
  // what it refers to
  | 'NOT_FOUND'
  | 'CONFLICT'
  | 'MESSAGE_ID_REUSED'
  | 'BUSINESS_RULE'
  // the gateway itself
  | 'CONFIG_INVALID'
  | 'MIGRATION_FAILED'
  | 'STORAGE_UNAVAILABLE'
  | 'ADMIN_API_DISABLED'
  | 'INTERNAL';

export interface ErrorDetail {
  /** JSON pointer of the problem within the document, '' for the whole document. */
  path: string;
  code: string;
  message: string;
}

export class GatewayError extends Error {
  readonly code: ErrorCode;
  readonly retryable: boolean;
  readonly details: readonly ErrorDetail[];

  constructor(
    code: ErrorCode,
    message: string,
    options: { details?: readonly ErrorDetail[]; retryable?: boolean; cause?: unknown } = {},
  ) {
    super(message, { cause: options.cause });
    this.name = 'GatewayError';
    this.code = code;
    this.retryable = options.retryable ?? code === 'STORAGE_UNAVAILABLE';
    this.details = options.details ?? [];
  }
}

export function isGatewayError(error: unknown): error is GatewayError {
  return error instanceof GatewayError;
}

/** What adapters return instead of throwing: the caller decides, knowing whether to retry. */
export type Result<T> =
  | { ok: true; value: T }
  | { ok: false; error: { code: string; message: string; retryable: boolean } };

export function ok<T>(value: T): Result<T> {
  return { ok: true, value };
}

export function err<T = never>(code: string, message: string, retryable: boolean): Result<T> {
  return { ok: false, error: { code, message, retryable } };
}
