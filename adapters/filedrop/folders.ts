/**
 * The file-drop layout (DESIGN §6): `<root>/<partner>/` holds
 *
 *   inbox/       the partner drops files here (upload as `.part`/`.tmp` or a dot file, then rename)
 *   processing/  a file the gateway has claimed (renamed here, so no two processes take it)
 *   processed/   inputs done, each with its receipt file in receipts/
 *   failed/      inputs that could not be read at all, each with `<name>.reason.txt`
 *   receipts/    `<name>.receipt.xml|json|ndjson`, one per input file
 *   outbox/      outbound documents for file-mode partners (adapters/transport/file-outbox.ts)
 *
 * Every path is resolved and checked to stay under the root: partner ids are one safe segment
 * already, and the gateway names files only with names it made safe itself (safeFileName).
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { err, ok, type Result } from '../../gateway/core/errors.ts';
import type { PrepareFileDrop } from '../../gateway/core/partners/partners.service.ts';
import { checkFileName } from '../transport/file-outbox.ts';

export const FILE_DROP_FOLDERS = [
  'inbox',
  'processing',
  'processed',
  'failed',
  'receipts',
  'outbox',
] as const;

export type FileDropFolder = (typeof FILE_DROP_FOLDERS)[number];

/** `<root>/<partner>/<folder>`, or an error when that would leave the root. */
export function partnerFolder(
  root: string,
  partnerId: string,
  folder: FileDropFolder,
): Result<string> {
  const segment = checkFileName(partnerId);
  if (!segment.ok) return segment;
  const base = path.resolve(root);
  const resolved = path.resolve(base, segment.value, folder);
  if (!resolved.startsWith(base + path.sep)) {
    return err('INVALID_FILE_NAME', `partner folder ${partnerId} is outside the root`, false);
  }
  return ok(resolved);
}

/** Every folder of a partner, resolved; throws when the partner id cannot name a folder. */
export function partnerFolders(root: string, partnerId: string): Record<FileDropFolder, string> {
  const folders = {} as Record<FileDropFolder, string>;
  for (const folder of FILE_DROP_FOLDERS) {
    const resolved = partnerFolder(root, partnerId, folder);
    if (!resolved.ok) throw new Error(resolved.error.message);
    folders[folder] = resolved.value;
  }
  return folders;
}

/** The core's PrepareFileDrop port: creates a file-mode partner's folders (mode 0750). */
export function createFileDropPreparer(root: string): PrepareFileDrop {
  return async (partnerId) => {
    try {
      for (const folder of Object.values(partnerFolders(root, partnerId))) {
        await mkdir(folder, { recursive: true, mode: 0o750 });
      }
      return ok(undefined);
    } catch (error) {
      return err(
        'FILE_DROP_FOLDERS',
        `cannot create the file-drop folders of ${partnerId}: ${(error as Error).message}`,
        true,
      );
    }
  };
}

/** Names the gateway never takes from an inbox: temporaries and dot files. */
export function isTemporaryName(name: string): boolean {
  return name.startsWith('.') || /\.(part|tmp)$/i.test(name);
}

const MAX_BASE_LENGTH = 150;

/**
 * A dropped file's name made safe for the gateway's own files: characters outside
 * `A-Z a-z 0-9 . _ -` become `_`, dot runs shrink to one dot, and a long name keeps its
 * extension. The partner's chosen name is kept whenever it is already safe.
 */
export function safeFileName(name: string): string {
  let safe = name.replace(/[^A-Za-z0-9._-]/g, '_').replace(/\.{2,}/g, '.');
  if (safe.startsWith('.')) safe = `_${safe.slice(1)}`;
  if (safe.length > MAX_BASE_LENGTH) {
    const extension = path.extname(safe).slice(0, 16);
    safe = safe.slice(0, MAX_BASE_LENGTH - extension.length) + extension;
  }
  return safe === '' ? '_' : safe;
}
