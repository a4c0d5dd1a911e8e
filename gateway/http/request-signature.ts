/**
 * Standard Webhooks request signatures of partners that must sign (webhook-signature.ts): over
 * the exact bytes received, within five minutes of the timestamp, with the standardwebhooks
 * library's refusal messages. A batch's body is too large to hold, so the HMAC is computed as it
 * streams past and checked before any of it is processed (the batch route spools the body to disk
 * first); `POST /v1/documents` feeds its whole body at once.
 */
import { timingSafeEqual } from 'node:crypto';
import { webhookHmac, webhookKey } from '../../adapters/transport/webhook-signature.ts';
import { GatewayError } from '../core/errors.ts';

const TOLERANCE_S = 5 * 60;

export interface RequestSignature {
  /** The webhook-id, to be remembered against replays once the signature is good. */
  readonly id: string;
  update(chunk: Uint8Array): void;
  /** Throws BAD_SIGNATURE unless one of the given v1 signatures matches. */
  verify(): void;
}

function refused(reason: string): GatewayError {
  return new GatewayError('BAD_SIGNATURE', `request signature refused: ${reason}`);
}

export function startSignatureCheck(
  secret: string,
  headers: { id: string | undefined; timestamp: string | undefined; signature: string | undefined },
  nowS = Math.floor(Date.now() / 1000),
): RequestSignature {
  const { id, timestamp, signature } = headers;
  if (!id || !timestamp || !signature) throw refused('Missing required headers');
  const seconds = Number.parseInt(timestamp, 10);
  if (Number.isNaN(seconds)) throw refused('Invalid Signature Headers');
  if (nowS - seconds > TOLERANCE_S) throw refused('Message timestamp too old');
  if (seconds > nowS + TOLERANCE_S) throw refused('Message timestamp too new');
  const key = webhookKey(secret);
  // The gateway makes every secret: one it cannot read is its own fault, not the partner's.
  if (key === undefined) throw new Error('the partner signing secret is not whsec_ and base64');
  const hmac = webhookHmac(key, id, seconds);
  return {
    id,
    update: (chunk) => void hmac.update(chunk),
    verify() {
      const expected = Buffer.from(hmac.digest('base64'));
      for (const versioned of signature.split(' ')) {
        const [version, given = ''] = versioned.split(',');
        if (version !== 'v1') continue;
        const candidate = Buffer.from(given);
        if (candidate.length === expected.length && timingSafeEqual(candidate, expected)) return;
      }
      throw refused('No matching signature found');
    },
  };
}
