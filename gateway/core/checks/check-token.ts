/**
 * The e-check as a token: a compact JWS (EdDSA) signed with the gateway key, so that anyone
 * holding the JWKS (`/.well-known/jwks.json`) can verify a check offline. The database stays the
 * authority on the check's state; the token carries what the check says (seed 004 cl.6).
 */
import { compactVerify, createLocalJWKSet } from 'jose';
import type { Kysely, Transaction } from 'kysely';
import type { Database } from '../../db/tables.ts';
import type { WireMoney } from '../money.ts';
import type { Signer } from '../signing/signer.ts';
import { listPublicKeys } from '../signing/signing-keys.repository.ts';

export interface CheckClaims {
  /** The issuer: the gateway's party id. */
  iss: string;
  checkNumber: string;
  amount: WireMoney;
  /** The drawer. */
  buyer: string;
  /** The payee. */
  seller: string;
  carrier: string;
  dealId?: string;
  /** Issue and expiry, seconds since the epoch. */
  iat: number;
  exp: number;
}

export function signCheck(signer: Signer, claims: CheckClaims): string {
  return signer.sign(JSON.stringify(claims));
}

function isClaims(value: unknown): value is CheckClaims {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  const amount = v.amount as Record<string, unknown> | null | undefined;
  return (
    ['iss', 'checkNumber', 'buyer', 'seller', 'carrier'].every((k) => typeof v[k] === 'string') &&
    (v.dealId === undefined || typeof v.dealId === 'string') &&
    typeof v.iat === 'number' &&
    typeof v.exp === 'number' &&
    typeof amount === 'object' &&
    amount !== null &&
    typeof amount.amount === 'string' &&
    typeof amount.currency === 'string'
  );
}

/**
 * The claims of a check whose signature verifies with one of the gateway's published keys, or
 * undefined for anything else: a forged or altered token, another key, another kind of payload.
 */
export async function verifyCheck(
  db: Kysely<Database> | Transaction<Database>,
  jws: string,
): Promise<CheckClaims | undefined> {
  const keys = createLocalJWKSet({ keys: await listPublicKeys(db) });
  try {
    const { payload } = await compactVerify(jws, keys, { algorithms: ['EdDSA'] });
    const claims: unknown = JSON.parse(new TextDecoder().decode(payload));
    return isClaims(claims) ? claims : undefined;
  } catch {
    return undefined;
  }
}
