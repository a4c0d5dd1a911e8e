/** File drop under test: dropping files as a partner would, and waiting for what comes back. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createFileDropScanner, receiptFileName } from '../../adapters/filedrop/file-drop.ts';
import { createFileDropPreparer } from '../../adapters/filedrop/folders.ts';
import { getPartner } from '../../gateway/core/partners/partners.service.ts';
import { createLogger } from '../../gateway/logger.ts';
import { eventually } from './delivery.ts';
import type { TestGateway } from './gateway.ts';

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

/** Makes the partners' drop folders (whatever their delivery mode). */
export async function prepareDropFolders(
  root: string,
  partnerIds: readonly string[],
): Promise<void> {
  const prepare = createFileDropPreparer(root);
  for (const id of partnerIds) {
    const prepared = await prepare(id);
    if (!prepared.ok) throw new Error(prepared.error.message);
  }
}

/**
 * Scans the partners' inboxes without the jobs: twice, since a file is taken once it looked the
 * same on two scans.
 */
export async function scanDropFolders(
  gateway: TestGateway,
  root: string,
  partnerIds: readonly string[],
): Promise<void> {
  const scanner = createFileDropScanner({
    root,
    stableMs: 0,
    pipeline: gateway.services.pipeline,
    registry: gateway.services.registry,
    logger: createLogger('silent'),
  });
  const partners = await Promise.all(partnerIds.map((id) => getPartner(gateway.database.db, id)));
  for (let i = 0; i < 2; i++) await scanner.scan(partners, new AbortController().signal);
}
