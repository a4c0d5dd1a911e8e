/**
 * Standard Webhooks request signatures over a body too large to hold: the HMAC-SHA256 of
 * `id.timestamp.body` is computed as the body streams past, and checked before any of it is
 * processed (the batch route spools the body to disk first). Same scheme, tolerance and messages
 * as `POST /v1/documents`, which verifies whole bodies with the standardwebhooks library.
 */
import { createHmac, timingSafeEqual, type Hmac } from 'node:crypto';
import { GatewayError } from '../core/errors.ts';

const TOLERANCE_S = 5 * 60;
const SECRET_PREFIX = 'whsec_';

export interface StreamedSignature {
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
): StreamedSignature {
  const { id, timestamp, signature } = headers;
  if (!id || !timestamp || !signature) throw refused('Missing required headers');
  const seconds = Number.parseInt(timestamp, 10);
  if (Number.isNaN(seconds)) throw refused('Invalid Signature Headers');
  if (nowS - seconds > TOLERANCE_S) throw refused('Message timestamp too old');
  if (seconds > nowS + TOLERANCE_S) throw refused('Message timestamp too new');
  const key = Buffer.from(
    secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret,
    'base64',
  );
  const hmac: Hmac = createHmac('sha256', key).update(`${id}.${seconds}.`);
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
