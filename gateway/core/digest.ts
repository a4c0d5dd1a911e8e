import { createHash } from 'node:crypto';

/** SHA-256 of the exact bytes, lower-case hex: what receipts and the audit log promise. */
export function sha256Hex(bytes: Uint8Array | string): string {
  return createHash('sha256').update(bytes).digest('hex');
}
