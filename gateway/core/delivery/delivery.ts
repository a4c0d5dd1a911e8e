/**
 * Outbound delivery: the ports the core needs from the edges (rendering, transports, backoff),
 * the delivery policy, and the pure rule that turns an attempt's outcome into the row's next state.
 *
 * A delivery row moves   pending ─claim→ delivering ─2xx→ delivered
 *                                           │ ├─retryable→ pending (later), or dead when spent
 *                                           │ ├─permanent→ dead
 *                                           │ ├─410→ pending, endpoint disabled
 *                                           │ └─released (shutdown) or lease expired→ pending
 *                        dead ─replay→ pending;   mailbox: pending ─ack→ delivered
 * Every arrow is one compare-and-set UPDATE in outbox.repository.ts.
 */
import type { CanonicalDocument, OutboundFormat } from '../document.ts';
import type { PartyIdentifier } from '../partners/identification.ts';

/** What the outbox knows about the recipient beyond the document, for formats that use it. */
export interface RenderContext {
  /** The recipient's first registered identifier alias (never a NAME): UBL writes it as EndpointID. */
  recipientAlias?: PartyIdentifier;
}

/** Port: canonical document → the bytes a partner receives. Throws INTERNAL on an invalid one. */
export type RenderDocument = (
  doc: CanonicalDocument,
  format: OutboundFormat,
  context?: RenderContext,
) => { body: Uint8Array; contentType: string };

/**
 * What a transport reports for one attempt; `reason` names the failure (TIMEOUT, SERVER_ERROR,
 * CONNECTION_REFUSED, CLIENT_ERROR …) and `detail` is for the log only.
 */
export type TransportOutcome =
  | { kind: 'delivered'; status?: number }
  | {
      kind: 'retryable';
      status?: number;
      reason: string;
      retryAfterMs?: number;
      detail?: string;
    }
  | { kind: 'permanent'; status?: number; reason: string; detail?: string }
  | { kind: 'gone'; status: 410; detail?: string };

export interface PushAttempt {
  url: string;
  body: Uint8Array;
  contentType: string;
  /** Stable across retries: the partner dedupes on it. */
  messageId: string;
  /** The partner's Standard Webhooks secret. */
  secret: string;
  /** Aborted when the process must stop before the attempt ends. */
  signal: AbortSignal;
}

export interface FileAttempt {
  partnerId: string;
  messageId: string;
  format: OutboundFormat;
  body: Uint8Array;
}

/** Port: the transports (adapters/transport) the deliverer drives. */
export interface DeliveryTransports {
  push(attempt: PushAttempt): Promise<TransportOutcome>;
  writeFile(attempt: FileAttempt): Promise<TransportOutcome>;
}

export interface DeliveryPolicy {
  maxAttempts: number;
  maxAgeMs: number;
  leaseMs: number;
  /** Pushes in flight per process. */
  concurrency: number;
  /** Pushes in flight per process to any one partner (DELIVERY_PER_PARTNER). */
  perPartner: number;
  /** Delay before the retry after failed attempt `attempt` (1-based), honouring Retry-After. */
  retryDelayMs(attempt: number, retryAfterMs: number | undefined): number;
}

export type AttemptVerdict =
  | { next: 'delivered' }
  | { next: 'retry'; delayMs: number }
  | { next: 'dead'; why: string }
  | { next: 'gone' }
  | { next: 'released' };

/**
 * The state after an attempt. `attempts` already counts this attempt; `ageMs` is the time since
 * the delivery cycle began (queued_at). A retryable failure is retried until the attempts are
 * spent or the cycle is older than the maximum age; a permanent one goes to the dead letters at
 * once. An attempt aborted by our own shutdown says nothing about the document: released.
 */
export function judgeAttempt(
  outcome: TransportOutcome,
  attempts: number,
  ageMs: number,
  policy: Pick<DeliveryPolicy, 'maxAttempts' | 'maxAgeMs' | 'retryDelayMs'>,
): AttemptVerdict {
  switch (outcome.kind) {
    case 'delivered':
      return { next: 'delivered' };
    case 'gone':
      return { next: 'gone' };
    case 'permanent':
      return { next: 'dead', why: `permanent failure: ${describeOutcome(outcome)}` };
    case 'retryable':
      if (outcome.reason === 'ABORTED' || outcome.reason === 'CLIENT_CLOSED') {
        return { next: 'released' };
      }
      if (attempts >= policy.maxAttempts) {
        return {
          next: 'dead',
          why: `${attempts} attempts failed, last: ${describeOutcome(outcome)}`,
        };
      }
      if (ageMs >= policy.maxAgeMs) {
        return {
          next: 'dead',
          why: `undelivered after ${Math.round(ageMs / 1000)} s, last: ${describeOutcome(outcome)}`,
        };
      }
      return { next: 'retry', delayMs: policy.retryDelayMs(attempts, outcome.retryAfterMs) };
  }
}

/** One line for last_error and the log: `SERVER_ERROR (HTTP 503)`, `TIMEOUT` … */
export function describeOutcome(outcome: TransportOutcome): string {
  if (outcome.kind === 'delivered') return `delivered (HTTP ${outcome.status ?? '-'})`;
  if (outcome.kind === 'gone') return 'GONE (HTTP 410)';
  const status = outcome.status === undefined ? '' : ` (HTTP ${outcome.status})`;
  return `${outcome.reason}${status}`;
}
