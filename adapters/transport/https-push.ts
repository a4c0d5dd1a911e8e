/**
 * @module Outbound HTTPS push (DESIGN §3 "Outbound push", §6). One signed POST per attempt,
 * classified into delivered / retryable / permanent / gone; retry timing and dead-lettering are
 * the outbox worker's business (see backoff.ts).
 *
 * node:http(s) rather than fetch: the agent's `lookup` is the only hook that sees the address
 * actually connected to, so the SSRF guard checks what DNS returned at connect time, not what it
 * returned when the endpoint was configured (DNS rebinding). Keep-alive agents, one per
 * protocol, carry the bench's thousands of pushes per second over a few sockets.
 */

import { isUtf8 } from 'node:buffer';
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import {
  Agent as HttpAgent,
  request as httpRequest,
  type ClientRequest,
  type IncomingMessage,
  type OutgoingHttpHeaders,
} from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import { RETRY_AFTER_CEILING_MS } from './backoff.ts';
import { checkEndpointUrl, hostOf, isLocalhostName, isPublicAddress } from './endpoint-guard.ts';
import { webhookHmac, webhookKey } from './webhook-signature.ts';

export interface PushClientOptions {
  /** Allows http and loopback / private addresses: local tests and benches only. */
  allowInsecure: boolean;
  /** Per attempt: DNS, connect, TLS, response headers and body. */
  timeoutMs: number;
  /** Concurrent sockets per partner host (default 64); requests beyond it queue inside the timeout. */
  maxSockets?: number;
  /** Name resolution, default `dns.lookup`; the guard wraps it. A seam for tests. */
  dnsLookup?: LookupFunction;
}

export interface PushRequest {
  url: string;
  body: string | Uint8Array;
  contentType: string;
  /** The stable outbound message id, the same on every retry: the partner dedupes on it. */
  messageId: string;
  /** Standard Webhooks secret, `whsec_<base64>`. */
  secret: string;
  signal?: AbortSignal;
}

export type RetryableReason =
  | 'SERVER_ERROR' // 5xx
  | 'RATE_LIMITED' // 429
  | 'REQUEST_TIMEOUT' // 408
  | 'TOO_EARLY' // 425
  | 'UNEXPECTED_STATUS' // 1xx as final, or ≥ 600
  | 'TIMEOUT'
  | 'CONNECTION_REFUSED'
  | 'CONNECTION_RESET'
  | 'DNS_FAILURE'
  | 'NETWORK_UNREACHABLE'
  | 'TLS_ERROR'
  | 'PROTOCOL_ERROR'
  | 'NETWORK_ERROR'
  | 'ABORTED'
  | 'CLIENT_CLOSED';

export type PermanentReason =
  | 'ENDPOINT_REFUSED' // SSRF guard, at configuration or connect time
  | 'REDIRECT' // 3xx, never followed
  | 'CLIENT_ERROR' // 4xx other than 408, 410, 425, 429
  | 'INVALID_REQUEST'; // unusable message id, secret, body or header on our side

/** `detail` is for the log: up to 1 KiB of the response body, or the error message. */
export type PushOutcome =
  | { kind: 'delivered'; status: number }
  | {
      kind: 'retryable';
      status?: number;
      reason: RetryableReason;
      retryAfterMs?: number;
      detail?: string;
    }
  | { kind: 'permanent'; status?: number; reason: PermanentReason; detail?: string }
  | { kind: 'gone'; status: 410; detail?: string };

export interface PushClient {
  push(request: PushRequest): Promise<PushOutcome>;
  /** Closes pooled sockets; later pushes answer retryable CLIENT_CLOSED. */
  close(): void;
}

const USER_AGENT = 'nakadachi';
const DEFAULT_MAX_SOCKETS = 64;
/** Bytes of a response body kept for the log. */
const DETAIL_LIMIT = 1024;
/** Bytes of a response body read (to keep the socket reusable) before the socket is dropped. */
const DISCARD_LIMIT = 64 * 1024;
/**
 * Standard Webhooks signs `id.timestamp.body`, so the id must not contain '.', and it travels in
 * a header: visible ASCII only.
 */
const MESSAGE_ID = /^[\x21-\x2d\x2f-\x7e]{1,256}$/;

export function createPushClient(options: PushClientOptions): PushClient {
  if (!(options.timeoutMs > 0) || !Number.isFinite(options.timeoutMs)) {
    throw new RangeError('timeoutMs must be a positive number');
  }
  const { allowInsecure, timeoutMs } = options;
  const maxSockets = options.maxSockets ?? DEFAULT_MAX_SOCKETS;
  const lookup = allowInsecure
    ? options.dnsLookup
    : createGuardedLookup(options.dnsLookup ?? dnsLookup);
  // Agent options reach net.connect for every new socket, so the guard runs on each connection.
  const agentOptions = {
    keepAlive: true,
    maxSockets,
    maxFreeSockets: maxSockets,
    scheduling: 'lifo' as const,
    ...(lookup === undefined ? {} : { lookup }),
  };
  const httpAgent = new HttpAgent(agentOptions);
  const httpsAgent = new HttpsAgent(agentOptions);
  let closed = false;

  async function push(request: PushRequest): Promise<PushOutcome> {
    if (closed) return { kind: 'retryable', reason: 'CLIENT_CLOSED' };
    if (request.signal?.aborted) return { kind: 'retryable', reason: 'ABORTED' };
    const target = checkEndpointUrl(request.url, allowInsecure);
    if (!target.ok) {
      return { kind: 'permanent', reason: 'ENDPOINT_REFUSED', detail: target.error.message };
    }
    const prepared = prepare(request);
    if ('kind' in prepared) return prepared;
    return send(target.value, prepared.headers, prepared.body, request.signal);
  }

  function send(
    url: URL,
    headers: OutgoingHttpHeaders,
    body: Buffer,
    signal: AbortSignal | undefined,
  ): Promise<PushOutcome> {
    return new Promise<PushOutcome>((resolve) => {
      let settled = false;
      let request: ClientRequest | undefined;
      // Set once the status line arrived: from then on the status decides the outcome and a
      // timeout or a cut body only ends the read (the partner has answered).
      let finishResponse: (() => void) | undefined;

      function finish(outcome: PushOutcome): void {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        resolve(outcome);
      }
      function stop(outcome: PushOutcome): void {
        if (finishResponse) finishResponse();
        else finish(outcome);
        // Destroying (not releasing) the socket: a half-read response must not be reused.
        request?.destroy();
      }
      function onAbort(): void {
        stop({ kind: 'retryable', reason: 'ABORTED' });
      }
      const timer = setTimeout(() => {
        stop({ kind: 'retryable', reason: 'TIMEOUT', detail: `no answer within ${timeoutMs} ms` });
      }, timeoutMs);
      signal?.addEventListener('abort', onAbort, { once: true });

      const isHttps = url.protocol === 'https:';
      try {
        request = (isHttps ? httpsRequest : httpRequest)({
          method: 'POST',
          protocol: url.protocol,
          hostname: hostOf(url),
          port: url.port === '' ? undefined : Number(url.port),
          path: `${url.pathname}${url.search}`,
          headers,
          agent: isHttps ? httpsAgent : httpAgent,
        });
      } catch (error) {
        // Invalid header characters and the like are thrown synchronously.
        finish({ kind: 'permanent', reason: 'INVALID_REQUEST', detail: messageOf(error) });
        return;
      }
      request.on('error', (error) => {
        if (finishResponse) finishResponse();
        else finish(classifyNetworkError(error));
      });
      request.on('response', (response: IncomingMessage) => {
        const outcome = classifyStatus(
          response.statusCode ?? 0,
          header(response, 'retry-after'),
          Date.now(),
        );
        const keep = outcome.kind !== 'delivered';
        const kept: Buffer[] = [];
        let keptBytes = 0;
        let readBytes = 0;
        finishResponse = () => finish(keep ? withDetail(outcome, response, kept) : outcome);
        response.on('data', (chunk: Buffer) => {
          readBytes += chunk.length;
          if (keep && keptBytes < DETAIL_LIMIT) {
            const part = chunk.subarray(0, DETAIL_LIMIT - keptBytes);
            kept.push(part);
            keptBytes += part.length;
          }
          if (readBytes > DISCARD_LIMIT) stop(outcome);
        });
        response.on('end', finishResponse);
        response.on('error', finishResponse);
        response.on('close', finishResponse);
      });
      request.end(body);
    });
  }

  function close(): void {
    closed = true;
    httpAgent.destroy();
    httpsAgent.destroy();
  }

  return { push, close };
}

/** Signs the body and builds the headers; an unusable request is a permanent failure. */
function prepare(
  request: PushRequest,
): { headers: OutgoingHttpHeaders; body: Buffer } | Extract<PushOutcome, { kind: 'permanent' }> {
  if (!MESSAGE_ID.test(request.messageId)) {
    return invalid('message id must be 1–256 visible ASCII characters without "."');
  }
  const body =
    typeof request.body === 'string'
      ? Buffer.from(request.body, 'utf8')
      : Buffer.from(request.body.buffer, request.body.byteOffset, request.body.byteLength);
  // Partners verify with Standard Webhooks libraries, which take the body as a UTF-8 string; other
  // bytes would not survive their decode, and the verification would fail.
  if (typeof request.body !== 'string' && !isUtf8(body)) {
    return invalid('body is not valid UTF-8 and cannot be signed');
  }
  const key = webhookKey(request.secret);
  // Never echo the secret.
  if (key === undefined) return invalid('the partner secret is not whsec_ and base64');
  const seconds = Math.floor(Date.now() / 1000);
  const hmac = webhookHmac(key, request.messageId, seconds).update(body);
  return {
    body,
    headers: {
      'content-type': request.contentType,
      'content-length': body.byteLength,
      'user-agent': USER_AGENT,
      'webhook-id': request.messageId,
      'webhook-timestamp': String(seconds),
      'webhook-signature': `v1,${hmac.digest('base64')}`,
    },
  };
}

function invalid(detail: string): Extract<PushOutcome, { kind: 'permanent' }> {
  return { kind: 'permanent', reason: 'INVALID_REQUEST', detail };
}

/**
 * The outcome of a response status. 2xx delivered; 410 gone (the worker disables the endpoint);
 * 408, 425, 429 and 5xx retryable, honouring Retry-After; 3xx permanent (never followed: a
 * redirect could point inside our network, and the signature binds no URL anyway); other 4xx
 * permanent (the same bytes will be refused again).
 */
export function classifyStatus(
  status: number,
  retryAfter: string | undefined,
  nowMs: number,
): PushOutcome {
  if (status >= 200 && status <= 299) return { kind: 'delivered', status };
  if (status === 410) return { kind: 'gone', status: 410 };
  const retry = (reason: RetryableReason): PushOutcome => {
    const retryAfterMs = parseRetryAfter(retryAfter, nowMs);
    return retryAfterMs === undefined
      ? { kind: 'retryable', status, reason }
      : { kind: 'retryable', status, reason, retryAfterMs };
  };
  if (status === 408) return retry('REQUEST_TIMEOUT');
  if (status === 425) return retry('TOO_EARLY');
  if (status === 429) return retry('RATE_LIMITED');
  if (status >= 500 && status <= 599) return retry('SERVER_ERROR');
  if (status >= 300 && status <= 399) return { kind: 'permanent', status, reason: 'REDIRECT' };
  if (status >= 400 && status <= 499) return { kind: 'permanent', status, reason: 'CLIENT_ERROR' };
  return retry('UNEXPECTED_STATUS');
}

const HTTP_DATE_START = /^(mon|tue|wed|thu|fri|sat|sun)[a-z]*,? /i;

/**
 * Retry-After (RFC 9110 §10.2.3): delta-seconds or an HTTP-date, as milliseconds from `nowMs`.
 * A date in the past gives 0; more than 24 h gives 24 h; anything unparseable gives undefined.
 */
export function parseRetryAfter(value: string | undefined, nowMs: number): number | undefined {
  if (value === undefined) return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) {
    // A 400-digit number is still "very long", not NaN.
    const seconds = text.length > 9 ? Infinity : Number(text);
    return Math.min(seconds * 1000, RETRY_AFTER_CEILING_MS);
  }
  // Date.parse is lenient ("1.5" is a date to it); demand the day name every HTTP-date starts with.
  if (!HTTP_DATE_START.test(text)) return undefined;
  // HTTP-dates are GMT; asctime form carries no zone and Date.parse would read it as local time.
  const at = Date.parse(/\b(GMT|UTC)$/i.test(text) ? text : `${text} GMT`);
  if (Number.isNaN(at)) return undefined;
  return Math.min(Math.max(at - nowMs, 0), RETRY_AFTER_CEILING_MS);
}

const DNS_ERRORS = new Set([
  'ENOTFOUND',
  'EAI_AGAIN',
  'EAI_FAIL',
  'EAI_NODATA',
  'EAI_NONAME',
  'ENODATA',
  'ESERVFAIL',
  'ETIMEOUT',
]);
const UNREACHABLE_ERRORS = new Set([
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EHOSTDOWN',
  'ENETDOWN',
  'EADDRNOTAVAIL',
]);
const TLS_ERROR = /^(ERR_TLS_|ERR_SSL_|CERT_|UNABLE_TO_|DEPTH_ZERO_|SELF_SIGNED_|ERR_OSSL_)/;

/** A failure before any response: everything is retryable except the guard's refusal. */
export function classifyNetworkError(error: unknown): PushOutcome {
  const code = errorCode(error);
  const detail = messageOf(error);
  if (code === 'ENDPOINT_REFUSED') return { kind: 'permanent', reason: 'ENDPOINT_REFUSED', detail };
  const retryable = (reason: RetryableReason): PushOutcome => ({
    kind: 'retryable',
    reason,
    detail,
  });
  if (code === 'ECONNREFUSED') return retryable('CONNECTION_REFUSED');
  if (code === 'ECONNRESET' || code === 'EPIPE' || code === 'ECONNABORTED') {
    return retryable('CONNECTION_RESET');
  }
  if (code === 'ETIMEDOUT') return retryable('TIMEOUT');
  if (DNS_ERRORS.has(code)) return retryable('DNS_FAILURE');
  if (UNREACHABLE_ERRORS.has(code)) return retryable('NETWORK_UNREACHABLE');
  if (code === 'EPROTO' || TLS_ERROR.test(code)) return retryable('TLS_ERROR');
  if (code.startsWith('HPE_')) return retryable('PROTOCOL_ERROR');
  return retryable('NETWORK_ERROR');
}

/**
 * Wraps a resolver so every address a host name resolves to must be public; one non-public
 * address refuses the host (a name that mixes public and internal addresses is not a partner
 * endpoint). IP-literal hosts never reach a lookup, which is why checkEndpointUrl checks those.
 */
export function createGuardedLookup(resolve: LookupFunction): LookupFunction {
  return (hostname, options, callback) => {
    if (isLocalhostName(hostname)) {
      callback(refusedError(`host ${hostname} is loopback`), []);
      return;
    }
    resolve(hostname, { ...options, all: true }, (error, address, family) => {
      if (error) {
        callback(error, []);
        return;
      }
      const addresses: LookupAddress[] =
        typeof address === 'string' ? [{ address, family: family ?? isIP(address) }] : address;
      const first = addresses[0];
      if (first === undefined) {
        callback(Object.assign(new Error(`no address for ${hostname}`), { code: 'ENOTFOUND' }), []);
        return;
      }
      const refused = addresses.find((candidate) => !isPublicAddress(candidate.address));
      if (refused) {
        callback(refusedError(`${hostname} resolves to non-public address ${refused.address}`), []);
        return;
      }
      if (options.all) callback(null, addresses);
      else callback(null, first.address, first.family);
    });
  };
}

function refusedError(message: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`endpoint refused: ${message}`), { code: 'ENDPOINT_REFUSED' });
}

function withDetail(outcome: PushOutcome, response: IncomingMessage, kept: Buffer[]): PushOutcome {
  if (outcome.kind === 'delivered') return outcome;
  const location = header(response, 'location');
  const text = Buffer.concat(kept).toString('utf8');
  const detail =
    outcome.kind === 'permanent' && outcome.reason === 'REDIRECT' && location !== undefined
      ? `redirect to ${location.slice(0, DETAIL_LIMIT)}`
      : text;
  return detail === '' ? outcome : { ...outcome, detail };
}

function header(response: IncomingMessage, name: string): string | undefined {
  const value = response.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function errorCode(error: unknown): string {
  if (typeof error === 'object' && error !== null && 'code' in error) {
    return String(error.code);
  }
  return '';
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
