/** File drop under test: dropping files as a partner would, and waiting for what comes back. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { receiptFileName } from '../../adapters/filedrop/file-drop.ts';
import { eventually } from './delivery.ts';

export function tempRoot(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'nakadachi-drop-'));
}

export function folder(root: string, partnerId: string, name: string): string {
  return path.join(root, partnerId, name);
}

/** Writes under a `.part` name and renames when complete, as a well-behaved uploader does. */
export function dropFile(root: string, partnerId: string, name: string, content: string): void {
  const inbox = folder(root, partnerId, 'inbox');
  fs.writeFileSync(path.join(inbox, `${name}.part`), content);
  fs.renameSync(path.join(inbox, `${name}.part`), path.join(inbox, name));
}

export function listFolder(root: string, partnerId: string, name: string): string[] {
  return fs.readdirSync(folder(root, partnerId, name)).sort();
}

/** Waits until `base` has left processing (processed/ or failed/), then reads its receipt file. */
export async function receiptOfFile(
  root: string,
  partnerId: string,
  base: string,
  timeoutMs = 15_000,
): Promise<string> {
  await eventually(
    () =>
      fs.existsSync(path.join(folder(root, partnerId, 'processed'), base)) ||
      fs.existsSync(path.join(folder(root, partnerId, 'failed'), base)),
    `${base} to be processed`,
    timeoutMs,
  );
  return fs.readFileSync(
    path.join(folder(root, partnerId, 'receipts'), receiptFileName(base)),
    'utf8',
  );
}
