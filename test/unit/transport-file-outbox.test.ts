import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  checkFileName,
  outboxFileName,
  writeFileAtomically,
} from '../../adapters/transport/file-outbox.ts';

let root: string;

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'nakadachi-outbox-'));
});

afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('writeFileAtomically', () => {
  it('writes the complete file and leaves no temporary file', async () => {
    const bytes = Buffer.alloc(256 * 1024, 'x');
    const result = await writeFileAtomically(root, 'M-0001.xml', bytes);
    expect(result).toEqual({ ok: true, value: join(root, 'M-0001.xml') });
    expect(await readFile(join(root, 'M-0001.xml'))).toEqual(bytes);
    expect(await readdir(root)).toEqual(['M-0001.xml']);
  });

  it('accepts a string and creates a missing folder with mode 0o750', async () => {
    const dir = join(root, 'acme', 'outbox');
    const result = await writeFileAtomically(dir, 'M-2.json', '{"a":"é"}');
    expect(result.ok).toBe(true);
    expect(await readFile(join(dir, 'M-2.json'), 'utf8')).toBe('{"a":"é"}');
    // umask can only remove bits, never add group-write or other access.
    expect((await stat(dir)).mode & 0o777 & ~0o750).toBe(0);
  });

  it('replaces an existing file of the same name', async () => {
    await writeFileAtomically(root, 'M-3.xml', 'old');
    await writeFileAtomically(root, 'M-3.xml', 'new');
    expect(await readFile(join(root, 'M-3.xml'), 'utf8')).toBe('new');
    expect(await readdir(root)).toEqual(['M-3.xml']);
  });

  it.each([
    '../escape.xml',
    'a/b.xml',
    'a\\b.xml',
    '..',
    '.',
    '.hidden.xml',
    'a..b',
    'nul\0.xml',
    '',
    'ü.xml',
    'sp ace.xml',
    'x.tmp',
    'x.PART',
    'a'.repeat(201),
  ])('refuses the name %j and writes nothing', async (name) => {
    const result = await writeFileAtomically(root, name, 'x');
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.error.code).toBe('INVALID_FILE_NAME');
      expect(result.error.retryable).toBe(false);
    }
    expect(await readdir(root)).toEqual([]);
  });

  it('cleans up the temporary file when the rename fails', async () => {
    await mkdir(join(root, 'taken.xml'));
    const result = await writeFileAtomically(root, 'taken.xml', 'x');
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.error.code).toBe('FILE_WRITE_FAILED');
      expect(result.error.retryable).toBe(false);
    }
    expect(await readdir(root)).toEqual(['taken.xml']);
  });

  it('reports a folder that is a file as not retryable', async () => {
    await writeFile(join(root, 'plain'), 'x');
    const result = await writeFileAtomically(join(root, 'plain'), 'M.xml', 'x');
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error.retryable).toBe(false);
  });
});

describe('outboxFileName', () => {
  it('joins a safe message id and the format', () => {
    expect(outboxFileName('GW-2024-000123', 'xml')).toEqual({
      ok: true,
      value: 'GW-2024-000123.xml',
    });
    expect(outboxFileName('a_b.c', 'json')).toEqual({ ok: true, value: 'a_b.c.json' });
  });

  it.each(['../x', 'a/b', '.x', '', 'a b', 'ü', 'a\0b'])('refuses the message id %j', (id) => {
    expect(outboxFileName(id, 'xml').ok).toBe(false);
  });

  it('checkFileName is the same rule', () => {
    expect(checkFileName('ok-name_1.xml').ok).toBe(true);
    expect(checkFileName('..').ok).toBe(false);
  });
});
