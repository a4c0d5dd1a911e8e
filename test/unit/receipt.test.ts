/**
 * A receipt is valid against its own schema whatever the gateway's signing key: the key id is
 * the key's RFC 7638 thumbprint, base64url, and about one key in thirty-two has a thumbprint that
 * begins with - or _ (receipts of such a key once failed validation at the partner).
 */
import { generateKeyPairSync } from 'node:crypto';
import { compactVerify, importJWK } from 'jose';
import { describe, expect, it } from 'vitest';
import { buildReceipt } from '../../gateway/core/pipeline/receipt.ts';
import { createSigner, type Signer } from '../../gateway/core/signing/signer.ts';
import { createSchemaRegistry } from '../../schemas/registry.ts';

const registry = createSchemaRegistry();

/** A signer whose key id begins with `first`: fresh keys until one does. */
async function signerWhoseKeyIdBegins(first: string): Promise<Signer> {
  for (let attempt = 0; attempt < 5_000; attempt++) {
    const signer = await createSigner(generateKeyPairSync('ed25519').privateKey);
    if (signer.keyId.startsWith(first)) return signer;
  }
  throw new Error(`no key id beginning with ${first} in 5,000 keys`);
}

describe('receipts', () => {
  it.each(['-', '_', 'A'])(
    'are valid with a key id beginning with %s, and verify',
    async (first) => {
      const signer = await signerWhoseKeyIdBegins(first);
      const receipt = await buildReceipt(
        {
          gatewayId: 'NAKADACHI',
          messageId: 'SELLER-A-0001',
          sender: 'SELLER-A',
          status: 'accepted',
          digest: 'a'.repeat(64),
          receivedAt: new Date('2036-01-10T00:30:00Z'),
          assigned: { itemId: 'ITM-1' },
          errors: [],
        },
        signer,
      );
      expect(receipt.body.keyId).toBe(signer.keyId);
      expect(registry.validate(receipt)).toEqual({ ok: true, document: receipt });
      const key = await importJWK(signer.publicJwk, 'EdDSA');
      const { protectedHeader } = await compactVerify(String(receipt.body.signature), key);
      expect(protectedHeader.kid).toBe(signer.keyId);
    },
  );

  it('refuse a key id that is not base64url', () => {
    const receipt = {
      header: {
        messageId: 'NAKADACHI-R-1',
        type: 'Receipt',
        sender: 'NAKADACHI',
        sentAt: '2036-01-10T00:30:00Z',
        recipient: 'SELLER-A',
        inReplyTo: 'SELLER-A-0001',
      },
      body: {
        receiptId: 'NAKADACHI-R-1',
        messageId: 'SELLER-A-0001',
        sender: 'SELLER-A',
        status: 'accepted',
        digest: 'a'.repeat(64),
        receivedAt: '2036-01-10T00:30:00Z',
        assigned: [],
        errors: [],
        keyId: 'not a key id',
        signature: 'x.y.z',
      },
    };
    expect(registry.validate(receipt).ok).toBe(false);
  });
});
