/**
 * The deliverer's transports (core port `DeliveryTransports`): HTTPS push through the guarded,
 * signing push client, and atomic writes into `<root>/<partner>/outbox` for file-mode partners.
 */
import { join } from 'node:path';
import type {
  DeliveryTransports,
  FileAttempt,
  TransportOutcome,
} from '../../gateway/core/delivery/delivery.ts';
import { checkFileName, outboxFileName, writeFileAtomically } from './file-outbox.ts';
import type { PushClient } from './https-push.ts';

export interface DeliveryTransportOptions {
  pushClient: PushClient;
  /** FILE_DROP_ROOT. */
  fileDropRoot: string;
}

export function createDeliveryTransports(options: DeliveryTransportOptions): DeliveryTransports {
  return {
    push: (attempt) => options.pushClient.push(attempt),
    writeFile: (attempt) => writeOutboxFile(options.fileDropRoot, attempt),
  };
}

async function writeOutboxFile(root: string, attempt: FileAttempt): Promise<TransportOutcome> {
  // The partner id names a folder: it must be one safe path segment (party ids always are).
  const folder = checkFileName(attempt.partnerId);
  if (!folder.ok) return failed(folder.error);
  const name = outboxFileName(attempt.messageId, attempt.format);
  if (!name.ok) return failed(name.error);
  const written = await writeFileAtomically(
    join(root, folder.value, 'outbox'),
    name.value,
    attempt.body,
  );
  return written.ok ? { kind: 'delivered' } : failed(written.error);
}

function failed(error: { code: string; message: string; retryable: boolean }): TransportOutcome {
  return error.retryable
    ? { kind: 'retryable', reason: error.code, detail: error.message }
    : { kind: 'permanent', reason: error.code, detail: error.message };
}
