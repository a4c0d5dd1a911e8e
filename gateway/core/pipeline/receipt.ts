/**
 * Receipts: the gateway's signed functional acknowledgement of each inbound document — what was
 * received (SHA-256 of the exact bytes), when, from whom, and whether it was accepted. The
 * signature is a compact JWS whose payload is the JSON of the receipt body without `signature`,
 * so it verifies the same whatever wire form the receipt travels in.
 */
import type { CanonicalDocument } from '../document.ts';
import type { ErrorDetail } from '../errors.ts';
import { newId } from '../ids.ts';
import type { Signer } from '../signing/signer.ts';

export type ReceiptStatus = 'accepted' | 'rejected';

export interface ReceiptInput {
  gatewayId: string;
  messageId: string;
  sender: string;
  status: ReceiptStatus;
  digest: string;
  receivedAt: Date;
  assigned: Record<string, string>;
  errors: readonly ErrorDetail[];
}

/** The receipt, signed on the signing worker (see signer.ts). */
export async function buildReceipt(
  input: ReceiptInput,
  signer: Signer,
): Promise<CanonicalDocument> {
  const receiptId = newId(`${input.gatewayId}-R`);
  const receivedAt = input.receivedAt.toISOString();
  const unsigned = {
    receiptId,
    messageId: input.messageId,
    sender: input.sender,
    status: input.status,
    digest: input.digest,
    receivedAt,
    assigned: Object.entries(input.assigned).map(([name, value]) => ({ name, value })),
    errors: input.errors.map(({ path, code, message }) => ({ path, code, message })),
    keyId: signer.keyId,
  };
  const signature = await signer.signOffThread(JSON.stringify(unsigned));
  return {
    header: {
      messageId: receiptId,
      type: 'Receipt',
      sender: input.gatewayId,
      sentAt: receivedAt,
      recipient: input.sender,
      inReplyTo: input.messageId,
    },
    body: { ...unsigned, signature },
  };
}
