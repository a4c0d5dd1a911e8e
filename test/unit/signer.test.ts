/**
 * The gateway's signer: compact EdDSA JWS made here and now, or on the signing worker — the same
 * signatures either way, verified with jose.
 */
import { generateKeyPairSync } from 'node:crypto';
import { compactVerify, importJWK } from 'jose';
import { afterEach, describe, expect, it } from 'vitest';
import { createSigner, type Signer } from '../../gateway/core/signing/signer.ts';

const signers: Signer[] = [];
afterEach(async () => {
  await Promise.all(signers.splice(0).map((signer) => signer.close()));
});

async function freshSigner(): Promise<Signer> {
  const signer = await createSigner(generateKeyPairSync('ed25519').privateKey);
  signers.push(signer);
  return signer;
}

async function verified(signer: Signer, jws: string): Promise<string> {
  const { payload, protectedHeader } = await compactVerify(
    jws,
    await importJWK(signer.publicJwk, 'EdDSA'),
  );
  expect(protectedHeader).toEqual({ alg: 'EdDSA', kid: signer.keyId });
  return new TextDecoder().decode(payload);
}

describe('the signer', () => {
  it('signs off the thread what it signs here: the same JWS (Ed25519 is deterministic)', async () => {
    const signer = await freshSigner();
    const payload = JSON.stringify({ receiptId: 'R-1', status: 'accepted' });
    const offThread = await signer.signOffThread(payload);
    expect(offThread).toBe(signer.sign(payload));
    expect(await verified(signer, offThread)).toBe(payload);
  });

  it('answers each of many payloads asked for together with its own signature, in order', async () => {
    const signer = await freshSigner();
    const payloads = Array.from({ length: 300 }, (_, i) => JSON.stringify({ n: i, é: 'ü' }));
    const signatures = await Promise.all(payloads.map((p) => signer.signOffThread(p)));
    expect(signatures).toEqual(payloads.map((p) => signer.sign(p)));
    for (const [i, jws] of signatures.slice(0, 5).entries()) {
      expect(await verified(signer, jws)).toBe(payloads[i]);
    }
  });

  it('refuses the signatures still awaited when it closes, and starts a worker again after', async () => {
    const signer = await freshSigner();
    await signer.signOffThread('warm-up'); // the worker runs
    const awaited = signer.signOffThread('in flight');
    await new Promise((resolve) => setImmediate(resolve)); // sent to the worker
    await signer.close();
    await expect(awaited).rejects.toThrow('the signing worker stopped');
    expect(await verified(signer, await signer.signOffThread('again'))).toBe('again');
  });
});
