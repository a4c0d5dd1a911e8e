/**
 * The file-drop adapter's parts: names made safe and kept under the root, what counts as a
 * temporary, the two-look stability check, and the journal's recovery from a cut-off line.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { batchFormatOfName, receiptFileName } from '../../adapters/filedrop/file-drop.ts';
import { isTemporaryName, partnerFolder, safeFileName } from '../../adapters/filedrop/folders.ts';
import { journalLines, openJournal } from '../../adapters/filedrop/journal.ts';
import { createStabilityTracker } from '../../adapters/filedrop/stability.ts';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nakadachi-parts-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('names', () => {
  it.each([
    ['orders-2036-01-10.xml', 'orders-2036-01-10.xml'],
    ['注文 (1).ndjson', '____1_.ndjson'],
    ['a..b...json', 'a.b.json'],
    ['-ok_name.JSON', '-ok_name.JSON'],
    [`${'x'.repeat(300)}.ndjson`, `${'x'.repeat(143)}.ndjson`],
  ])('%s becomes %s', (name, safe) => {
    expect(safeFileName(name)).toBe(safe);
    expect(safeFileName(name)).toMatch(/^[A-Za-z0-9_-][A-Za-z0-9._-]*$/);
  });

  it('refuses partner folders outside the root', () => {
    for (const id of ['..', '.', 'a/b', '../x', '', 'a\0b']) {
      expect(partnerFolder('/srv/drop', id, 'inbox').ok, id).toBe(false);
    }
    expect(partnerFolder('/srv/drop', 'SELLER-A', 'inbox')).toEqual({
      ok: true,
      value: '/srv/drop/SELLER-A/inbox',
    });
  });

  it('knows temporaries, formats and receipt names', () => {
    expect(['x.part', 'x.TMP', '.x.xml', '.'].every(isTemporaryName)).toBe(true);
    expect(['x.xml', 'part', 'x.partial'].some(isTemporaryName)).toBe(false);
    expect(['a.XML', 'a.json', 'a.ndjson', 'a.jsonl', 'a.txt'].map(batchFormatOfName)).toEqual([
      'xml',
      'json',
      'ndjson',
      'ndjson',
      undefined,
    ]);
    expect(['a.xml', 'a.jsonl', 'a.txt'].map(receiptFileName)).toEqual([
      'a.xml.receipt.xml',
      'a.jsonl.receipt.ndjson',
      'a.txt.receipt.json',
    ]);
  });
});

describe('stability', () => {
  it('takes a file unchanged on two looks stableMs apart, and forgets files gone', () => {
    let now = 0;
    const tracker = createStabilityTracker(100, () => now);
    expect(tracker.isStable('p/a', 10, 1)).toBe(false); // first look
    now = 50;
    expect(tracker.isStable('p/a', 10, 1)).toBe(false); // too soon
    now = 120;
    expect(tracker.isStable('p/a', 20, 2)).toBe(false); // grew: starts again
    now = 200;
    expect(tracker.isStable('p/a', 20, 2)).toBe(false);
    now = 220;
    expect(tracker.isStable('p/a', 20, 2)).toBe(true);
    tracker.sweep('p/');
    tracker.sweep('p/'); // not looked at since: forgotten
    now = 1000;
    expect(tracker.isStable('p/a', 20, 2)).toBe(false);
  });
});

describe('journal', () => {
  it('counts what it holds and cuts off a line a crash left half written', async () => {
    const file = path.join(dir, '.a.journal');
    const journal = await openJournal(file, 60_000);
    await journal.append('{"n":1}');
    await journal.append('{"n":2}');
    expect(journal.count).toBe(2);
    await journal.sync();
    await journal.close();
    fs.appendFileSync(file, '{"n":3,"cut');

    const reopened = await openJournal(file);
    expect(reopened.count).toBe(2);
    await reopened.append('{"n":3}');
    await reopened.close();
    const lines: string[] = [];
    for await (const line of journalLines(file)) lines.push(line);
    expect(lines).toEqual(['{"n":1}', '{"n":2}', '{"n":3}']);
  });

  it('writes buffered lines on sync, in order', async () => {
    const file = path.join(dir, '.b.journal');
    const journal = await openJournal(file, 60_000);
    const many = Array.from({ length: 5000 }, (_, i) => JSON.stringify({ i, pad: 'x'.repeat(80) }));
    for (const line of many) await journal.append(line);
    await journal.sync();
    await journal.close();
    const lines: string[] = [];
    for await (const line of journalLines(file)) lines.push(line);
    expect(lines).toEqual(many);
    const reopened = await openJournal(file);
    expect(reopened.count).toBe(5000);
    await reopened.close();
  });
});
