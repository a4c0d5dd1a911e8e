/**
 * File drop with the jobs running (scan-file-drops and its inbox watcher): folders made at
 * registration, every format, a mixed batch's receipt file, what is not picked up (temporaries,
 * files still being written), files that fail as a whole, the same name dropped again, and the
 * resume of a file left in processing/ — its journal read past, its lost tail replayed, a half
 * written receipt replaced.
 */
import fs from 'node:fs';
import path from 'node:path';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BatchFormat } from '../../adapters/codec/batch-split.ts';
import { createFileDropScanner, receiptFileName } from '../../adapters/filedrop/file-drop.ts';
import { createFileDropPreparer } from '../../adapters/filedrop/folders.ts';
import { getPartner } from '../../gateway/core/partners/partners.service.ts';
import { createLogger } from '../../gateway/logger.ts';
import { startGatewayJobs } from '../../gateway/main.ts';
import type { RunningJobs } from '../../jobs/index.ts';
import {
  expectEntries,
  itemNotice,
  itemNoticeXml,
  mixedJsonBatch,
  readReceipts,
  sha256,
} from '../support/batches.ts';
import { eventually } from '../support/delivery.ts';
import { post } from '../support/documents.ts';
import { dropFile, folder, listFolder, receiptOfFile, tempRoot } from '../support/file-drop.ts';
import {
  registerPartner,
  startTestGateway,
  type RegisteredPartner,
  type TestGateway,
} from '../support/gateway.ts';

// Long enough that a test's own appends (every STABLE_MS / 10) never look finished.
const STABLE_MS = 300;
let root: string;
let gateway: TestGateway;
let jobs: RunningJobs;
let dropper: RegisteredPartner;

beforeAll(async () => {
  root = tempRoot();
  gateway = await startTestGateway({
    FILE_DROP_ROOT: root,
    FILE_DROP_STABLE_MS: String(STABLE_MS),
    FILE_DROP_SCAN_INTERVAL_S: '1',
    SHUTDOWN_TIMEOUT_MS: '2000',
  });
  jobs = await startGatewayJobs(
    gateway.config,
    gateway.database,
    createLogger('silent'),
    gateway.services.pipeline,
    { pipeline: gateway.services.pipeline, registry: gateway.services.registry },
  );
  dropper = await registerPartner(gateway, {
    id: 'DROPPER',
    roles: ['seller'],
    deliveryMode: 'file',
  });
});
afterAll(async () => {
  await jobs.stop();
  await gateway.close();
  fs.rmSync(root, { recursive: true, force: true });
});

const lines = (documents: readonly string[]) => `${documents.join('\n')}\n`;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('folders', () => {
  it('are made when a file-mode partner is registered or switched to file mode', async () => {
    expect(fs.readdirSync(path.join(root, 'DROPPER')).sort()).toEqual(
      ['failed', 'inbox', 'outbox', 'processed', 'processing', 'receipts'].sort(),
    );
    await registerPartner(gateway, { id: 'LATER', roles: ['buyer'] });
    expect(fs.existsSync(path.join(root, 'LATER'))).toBe(false);
    const patched = await gateway.admin('PATCH', '/admin/v1/partners/LATER', {
      deliveryMode: 'file',
    });
    expect(patched.status).toBe(200);
    expect(fs.existsSync(folder(root, 'LATER', 'inbox'))).toBe(true);
  });
});

describe('every format', () => {
  const docs = () => [itemNotice(dropper.id), itemNotice(dropper.id)].map((d) => JSON.stringify(d));
  const xmls = () => [itemNoticeXml(dropper.id, { inherit: true }), itemNoticeXml(dropper.id)];
  const cases: [string, BatchFormat, () => string][] = [
    ['lines.ndjson', 'ndjson', () => lines(docs())],
    ['lines.jsonl', 'ndjson', () => lines(docs())],
    ['array.json', 'json', () => `[${docs().join(',\n')}]`],
    ['one.json', 'json', () => `${docs()[0]}\n`],
    ['batch.xml', 'xml', () => `<Batch xmlns="urn:nakadachi:1">${xmls().join('')}</Batch>`],
    ['one.xml', 'xml', () => `<?xml version="1.0"?>\n${xmls()[1]}`],
  ];

  it.each(cases)('%s is read and answered as %s', async (name, format, make) => {
    const content = make();
    const documents = splitForCheck(name, content);
    dropFile(root, dropper.id, name, content);
    const receipt = await receiptOfFile(root, dropper.id, name);
    expect(receiptFileName(name).endsWith(`.receipt.${format}`)).toBe(true);
    const entries = readReceipts(receipt, format);
    expectEntries(
      entries,
      documents,
      documents.map(() => ({ status: 'accepted', receipt: true })),
    );
    // The input is kept as it came, beside its receipt.
    expect(fs.readFileSync(path.join(folder(root, dropper.id, 'processed'), name), 'utf8')).toBe(
      content,
    );
  });

  /** The documents' exact bytes, as the test built them (not as the splitter would cut them). */
  function splitForCheck(name: string, content: string): string[] {
    if (name.startsWith('one.')) return [content];
    if (name.endsWith('.xml')) {
      return [...content.matchAll(/<ItemNotice[\s>][\s\S]*?<\/ItemNotice>/g)].map((m) => m[0]);
    }
    if (name.endsWith('.json')) return content.slice(1, -1).split(',\n');
    return content.trimEnd().split('\n');
  }
});

describe('a batch mixing valid, invalid and duplicate documents', () => {
  it('gets one receipt per document, in order, in its receipt file', async () => {
    const batch = mixedJsonBatch(dropper.id);
    expect((await post(gateway.app, dropper.apiKey, batch.earlier)).status).toBe(200);
    dropFile(root, dropper.id, 'mixed.ndjson', lines(batch.documents));
    const entries = readReceipts(await receiptOfFile(root, dropper.id, 'mixed.ndjson'), 'ndjson');
    expectEntries(entries, batch.documents, batch.expected);
    const logged = await gateway.database.db
      .selectFrom('message_log')
      .select(['request_id', 'content_type'])
      .where('message_id', '=', entries[0]!.messageId!)
      .executeTakeFirstOrThrow();
    expect(logged).toEqual({
      request_id: 'file:DROPPER/mixed.ndjson',
      content_type: 'application/json',
    });
  });
});

describe('what is not picked up', () => {
  it('leaves temporaries and dot files alone', async () => {
    const inbox = folder(root, dropper.id, 'inbox');
    for (const name of ['upload.ndjson.part', 'upload.ndjson.TMP', '.hidden.ndjson']) {
      fs.writeFileSync(path.join(inbox, name), `${JSON.stringify(itemNotice(dropper.id))}\n`);
    }
    dropFile(root, dropper.id, 'marker.ndjson', lines([JSON.stringify(itemNotice(dropper.id))]));
    await receiptOfFile(root, dropper.id, 'marker.ndjson');
    await sleep(2 * STABLE_MS);
    expect(listFolder(root, dropper.id, 'inbox')).toEqual(
      ['.hidden.ndjson', 'upload.ndjson.TMP', 'upload.ndjson.part'].sort(),
    );
    for (const name of fs.readdirSync(inbox)) fs.rmSync(path.join(inbox, name));
  });

  it('waits for a file that is still being written', async () => {
    const file = path.join(folder(root, dropper.id, 'inbox'), 'growing.ndjson');
    const documents: string[] = [];
    for (let i = 0; i < 10; i++) {
      documents.push(JSON.stringify(itemNotice(dropper.id)));
      fs.appendFileSync(file, `${documents[i]}\n`);
      await sleep(STABLE_MS / 10);
      // Still growing: never taken, whatever the watcher and the schedule do meanwhile.
      expect(fs.existsSync(file)).toBe(true);
    }
    const entries = readReceipts(await receiptOfFile(root, dropper.id, 'growing.ndjson'), 'ndjson');
    expectEntries(
      entries,
      documents,
      documents.map(() => ({ status: 'accepted', receipt: true })),
    );
  });
});

describe('files that cannot be read at all', () => {
  it.each([
    ['notes.txt', 'json', 'a,b\n', 'unknown file type'],
    ['empty.ndjson', 'ndjson', '', 'the batch is empty'],
    ['doctype.xml', 'xml', '<!DOCTYPE x [<!ENTITY e "e">]><x>&e;</x>', 'not allowed'],
  ] as const)('%s fails with its reason', async (name, format, content, reason) => {
    dropFile(root, dropper.id, name, content);
    const entries = readReceipts(await receiptOfFile(root, dropper.id, name), format);
    expect(entries).toEqual([
      expect.objectContaining({ kind: 'rejection', position: 1, codes: ['MALFORMED_DOCUMENT'] }),
    ]);
    const failed = folder(root, dropper.id, 'failed');
    expect(fs.readFileSync(path.join(failed, name), 'utf8')).toBe(content);
    expect(fs.readFileSync(path.join(failed, `${name}.reason.txt`), 'utf8')).toContain(reason);
  });

  it('never follows a link out of the folder', async () => {
    const secret = path.join(root, 'secret.ndjson');
    fs.writeFileSync(secret, `${JSON.stringify(itemNotice(dropper.id))}\n`);
    fs.symlinkSync(secret, path.join(folder(root, dropper.id, 'inbox'), 'link.ndjson'));
    await receiptOfFile(root, dropper.id, 'link.ndjson');
    const failed = path.join(folder(root, dropper.id, 'failed'), 'link.ndjson');
    expect(fs.lstatSync(failed).isSymbolicLink()).toBe(true);
    expect(fs.readFileSync(`${failed}.reason.txt`, 'utf8')).toContain('not a regular file');
    const logged = await gateway.database.db
      .selectFrom('message_log')
      .select('id')
      .where('request_id', '=', 'file:DROPPER/link.ndjson')
      .execute();
    expect(logged).toHaveLength(0);
  });

  it('does not scan a partner whose folder was replaced by a link', async () => {
    await registerPartner(gateway, { id: 'LINKER', roles: ['seller'], deliveryMode: 'file' });
    const outside = tempRoot();
    const receipts = folder(root, 'LINKER', 'receipts');
    fs.rmSync(receipts, { recursive: true });
    fs.symlinkSync(outside, receipts);
    // A dangling link too: creating the missing folder must not create its target.
    fs.rmSync(folder(root, 'LINKER', 'failed'), { recursive: true });
    fs.symlinkSync(path.join(outside, 'made'), folder(root, 'LINKER', 'failed'));
    dropFile(root, 'LINKER', 'x.ndjson', lines([JSON.stringify(itemNotice('LINKER'))]));
    // Scans happen meanwhile (another partner's file is taken), this one's file stays put.
    dropFile(
      root,
      dropper.id,
      'while-linked.ndjson',
      lines([JSON.stringify(itemNotice(dropper.id))]),
    );
    await receiptOfFile(root, dropper.id, 'while-linked.ndjson');
    await sleep(2 * STABLE_MS);
    expect(listFolder(root, 'LINKER', 'inbox')).toEqual(['x.ndjson']);
    expect(fs.readdirSync(outside)).toEqual([]);
    fs.rmSync(outside, { recursive: true });
  });

  it('makes names safe and keeps them inside the folders', async () => {
    dropFile(
      root,
      dropper.id,
      'we ird..name é.ndjson',
      lines([JSON.stringify(itemNotice(dropper.id))]),
    );
    const entries = readReceipts(
      await receiptOfFile(root, dropper.id, 'we_ird.name__.ndjson'),
      'ndjson',
    );
    expect(entries.map((e) => e.status)).toEqual(['accepted']);
  });
});

describe('the same name dropped again', () => {
  it('is judged by its documents, and keeps its own receipt file', async () => {
    const documents = [itemNotice(dropper.id), itemNotice(dropper.id)].map((d) =>
      JSON.stringify(d),
    );
    dropFile(root, dropper.id, 'daily.ndjson', lines(documents));
    const first = readReceipts(await receiptOfFile(root, dropper.id, 'daily.ndjson'), 'ndjson');
    dropFile(root, dropper.id, 'daily.ndjson', lines(documents));
    const again = await eventually(
      () =>
        listFolder(root, dropper.id, 'processed').find((n) =>
          /^daily\.\d{8}T\d{6}Z\.ndjson$/.test(n),
        ),
      'the second daily.ndjson',
    );
    const second = readReceipts(await receiptOfFile(root, dropper.id, again), 'ndjson');
    // The original receipts: the documents took effect once.
    expect(second.map((e) => e.receiptId)).toEqual(first.map((e) => e.receiptId));
    expect(listFolder(root, dropper.id, 'receipts')).toEqual(
      expect.arrayContaining(['daily.ndjson.receipt.ndjson', `${again}.receipt.ndjson`]),
    );
  });
});

describe('a file left in processing/', () => {
  // Its own root, scanned by the test's scanner only (the running job does not know it).
  const ownRoot = tempRoot();
  afterAll(() => fs.rmSync(ownRoot, { recursive: true, force: true }));

  async function resumer(id: string) {
    await registerPartner(gateway, { id, roles: ['seller'] });
    const prepared = await createFileDropPreparer(ownRoot)(id);
    expect(prepared.ok).toBe(true);
    return getPartner(gateway.database.db, id);
  }

  /** A scanner whose pipeline stops the scan (as a shutdown would) after `stopAt` documents. */
  function scannerStoppingAt(stopAt: number) {
    const stop = new AbortController();
    let seen = 0;
    const pipeline = gateway.services.pipeline;
    const scanner = createFileDropScanner({
      root: ownRoot,
      stableMs: 0,
      registry: gateway.services.registry,
      logger: createLogger('silent'),
      pipeline: {
        ...pipeline,
        decode: (bytes, format, sender) => {
          if (++seen === stopAt) stop.abort();
          return pipeline.decode(bytes, format, sender);
        },
      },
    });
    return { scanner, signal: stop.signal };
  }

  async function scanUntilDone(id: string, name: string) {
    const partner = await getPartner(gateway.database.db, id);
    const { scanner } = scannerStoppingAt(Infinity);
    for (let i = 0; i < 3; i++) await scanner.scan([partner], new AbortController().signal);
    expect(fs.existsSync(path.join(folder(ownRoot, id, 'processed'), name))).toBe(true);
    return fs.readFileSync(
      path.join(folder(ownRoot, id, 'receipts'), receiptFileName(name)),
      'utf8',
    );
  }

  async function acceptedLogEntries(messageIds: string[]) {
    const rows = await gateway.database.db
      .selectFrom('message_log')
      .select(['message_id', sql<string>`count(*)`.as('n')])
      .where('message_id', 'in', messageIds)
      .where('status', '=', 'accepted')
      .groupBy('message_id')
      .execute();
    return rows.map((r) => Number(r.n));
  }

  it('is finished from its journal: nothing lost, nothing processed twice', async () => {
    const partner = await resumer('RESUMER');
    const documents = Array.from({ length: 12 }, () => JSON.stringify(itemNotice(partner.id)));
    dropFile(ownRoot, partner.id, 'big.ndjson', lines(documents));
    const { scanner, signal } = scannerStoppingAt(5);
    // Two looks to be stable, then the scan stops after the fifth document.
    await scanner.scan([partner], signal);
    await scanner.scan([partner], signal);
    const processing = folder(ownRoot, partner.id, 'processing');
    expect(fs.readdirSync(processing).sort()).toEqual(['.big.ndjson.journal', 'big.ndjson']);
    const journal = fs.readFileSync(path.join(processing, '.big.ndjson.journal'), 'utf8');
    const journaled = journal
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l).body.receiptId);
    expect(journaled).toHaveLength(5);
    // A crash loses what was not yet synced: keep three lines and half of the fourth.
    const kept = journal.split('\n').slice(0, 3).join('\n');
    fs.writeFileSync(path.join(processing, '.big.ndjson.journal'), `${kept}\n{"header":{"mess`);

    const entries = readReceipts(await scanUntilDone(partner.id, 'big.ndjson'), 'ndjson');
    expectEntries(
      entries,
      documents,
      documents.map(() => ({ status: 'accepted', receipt: true })),
    );
    // The lost lines' documents were replayed: their original receipts, no second effect.
    expect(entries.slice(0, 5).map((e) => e.receiptId)).toEqual(journaled);
    expect(await acceptedLogEntries(entries.map((e) => e.messageId!))).toEqual(
      documents.map(() => 1),
    );
    expect(fs.readdirSync(processing)).toEqual([]);
  });

  it('replaces a half-written receipt file, and drops journals of finished files', async () => {
    const partner = await resumer('RESUMER-2');
    const documents = Array.from({ length: 3 }, () => JSON.stringify(itemNotice(partner.id)));
    dropFile(ownRoot, partner.id, 'last.json', `[${documents.join(',')}]`);
    const { scanner, signal } = scannerStoppingAt(3);
    await scanner.scan([partner], signal);
    await scanner.scan([partner], signal);
    const receipts = folder(ownRoot, partner.id, 'receipts');
    // Stopped after the last document: journal complete, receipt file not yet written; a
    // crash while writing it left a temporary behind.
    fs.writeFileSync(path.join(receipts, '.last.json.receipt.json.tmp'), '[{"hea');
    fs.writeFileSync(
      path.join(folder(ownRoot, partner.id, 'processing'), '.gone.json.journal'),
      '',
    );

    const entries = readReceipts(await scanUntilDone(partner.id, 'last.json'), 'json');
    expect(entries.map((e) => e.status)).toEqual(['accepted', 'accepted', 'accepted']);
    expect(entries.map((e) => e.digest)).toEqual(documents.map((d) => sha256(d)));
    expect(fs.readdirSync(receipts)).toEqual(['last.json.receipt.json']);
    expect(fs.readdirSync(folder(ownRoot, partner.id, 'processing'))).toEqual([]);
  });
});
