/**
 * @module Atomic file writes for the file-drop outbox (DESIGN §6). A partner's picker must never
 * see a half-written file: the bytes go to a dot-prefixed `.tmp` file in the same folder (same
 * file system, so rename is atomic), are fsynced, renamed into place, and the folder is fsynced so
 * the rename itself survives a crash. Pickers skip dot files and `.tmp`/`.part` names.
 */

import { randomBytes } from 'node:crypto';
import { mkdir, open, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { OutboundFormat } from '../../gateway/core/document.ts';
import { err, ok, type Result } from '../../gateway/core/errors.ts';

/** Leaves room for the `.<name>.<random>.tmp` wrapper within the usual 255-byte name limit. */
const MAX_NAME_LENGTH = 200;
const SAFE_NAME = /^[A-Za-z0-9._-]+$/;

/** Errors where the same write may succeed later (full disk, quota, descriptor exhaustion, I/O). */
const RETRYABLE_ERRNO = new Set([
  'EAGAIN',
  'EWOULDBLOCK',
  'EBUSY',
  'EINTR',
  'EIO',
  'EMFILE',
  'ENFILE',
  'ENOMEM',
  'ENOSPC',
  'EDQUOT',
  'ETIMEDOUT',
]);

/**
 * Checks a file name for the outbox: one path segment of `[A-Za-z0-9._-]`, no leading dot (dot
 * files are temporaries), no `..`, no `.tmp`/`.part` suffix (pickers would skip it forever).
 */
export function checkFileName(fileName: string): Result<string> {
  if (fileName.length === 0 || fileName.length > MAX_NAME_LENGTH) {
    return err('INVALID_FILE_NAME', `file name must be 1–${MAX_NAME_LENGTH} characters`, false);
  }
  // The character class already excludes '/', '\\' and NUL; the other rules are spelled out.
  if (!SAFE_NAME.test(fileName)) {
    return err('INVALID_FILE_NAME', 'file name may contain only A-Z a-z 0-9 . _ -', false);
  }
  if (fileName.startsWith('.') || fileName.includes('..')) {
    return err('INVALID_FILE_NAME', 'file name may not start with a dot or contain ..', false);
  }
  if (/\.(tmp|part)$/i.test(fileName)) {
    return err('INVALID_FILE_NAME', 'file name may not end in .tmp or .part', false);
  }
  return ok(fileName);
}

/** `<messageId>.<xml|json>` (UBL is XML), refused when the message id is not a safe file name. */
export function outboxFileName(messageId: string, format: OutboundFormat): Result<string> {
  const checked = checkFileName(messageId);
  if (!checked.ok) {
    return err(
      'INVALID_FILE_NAME',
      `message id unusable as a file name: ${checked.error.message}`,
      false,
    );
  }
  return checkFileName(`${messageId}.${format === 'json' ? 'json' : 'xml'}`);
}

/**
 * Writes `bytes` to `dir/fileName` so that the file appears complete or not at all; creates `dir`
 * (mode 0o750) when missing. An existing file of that name is replaced atomically, which makes a
 * re-send of the same message after a crash harmless. Returns the final path.
 */
export async function writeFileAtomically(
  dir: string,
  fileName: string,
  bytes: string | Uint8Array,
): Promise<Result<string>> {
  const checked = checkFileName(fileName);
  if (!checked.ok) return checked;
  const finalPath = join(dir, fileName);
  const tempPath = join(dir, `.${fileName}.${randomBytes(6).toString('hex')}.tmp`);
  let stage = 'create folder';
  try {
    await mkdir(dir, { recursive: true, mode: 0o750 });
    stage = 'write temporary file';
    // 'wx': never follow or clobber something already at the temporary name.
    const file = await open(tempPath, 'wx', 0o640);
    try {
      await file.writeFile(bytes);
      await file.sync();
    } finally {
      await file.close();
    }
    stage = 'rename into place';
    await rename(tempPath, finalPath);
    stage = 'sync folder';
    await syncDirectory(dir);
    return ok(finalPath);
  } catch (error) {
    if (stage !== 'sync folder') await unlink(tempPath).catch(() => undefined);
    const code = errnoCode(error);
    const message = error instanceof Error ? error.message : String(error);
    // EEXIST on the temporary file is a name collision: the next attempt draws another suffix.
    const retryable =
      RETRYABLE_ERRNO.has(code) || (code === 'EEXIST' && stage === 'write temporary file');
    return err('FILE_WRITE_FAILED', `${stage} failed: ${message}`, retryable);
  }
}

export async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } catch (error) {
    // Some file systems cannot fsync a directory; the rename has still happened.
    if (!['EINVAL', 'ENOTSUP', 'EISDIR', 'EPERM'].includes(errnoCode(error))) throw error;
  } finally {
    await handle.close();
  }
}

function errnoCode(error: unknown): string {
  if (typeof error === 'object' && error !== null && 'code' in error) {
    return String(error.code);
  }
  return '';
}
