/**
 * File drop (DESIGN §6): partners that cannot call HTTPS drop files into `<root>/<partner>/inbox`;
 * each document in a file goes through the core path of `POST /v1/documents`, authenticated as
 * the folder's partner, and the partner collects a receipt file per input from receipts/.
 *
 * Life of a file, and what a crash at any point leaves:
 *
 *   1. inbox/<name>: taken once complete — not a temporary name (`.part`, `.tmp`, dot files), and
 *      the same size and mtime on two looks FILE_DROP_STABLE_MS apart.
 *   2. claim: renamed to processing/<base> (base = the name made safe, made unique against the
 *      names already used so that a file dropped again under the same name keeps its own
 *      receipt). rename is atomic: of two processes, one gets the file, the other ENOENT. Claims
 *      are made under the scan job's cluster lease, so no two claimers pick the same base.
 *   3. documents in order through receiveBatch (the pipeline's idempotency; consecutive
 *      documents share transactions, committed in file order), each position appended to the
 *      journal processing/.<base>.journal after its commit. A file left in processing/ (crash,
 *      shutdown, lost lease) is resumed by the next scan: positions in the journal are read
 *      past, the rest processed.
 *   4. receipts/<base>.receipt.<xml|json|ndjson> written from the journal atomically (temporary
 *      dot file, fsync, rename, fsync of the folder) — only then
 *   5. the input moved to processed/<base>, and the journal removed.
 *   A file that cannot be read at all (unknown type, not a regular file, broken before its first
 *   document) gets a receipt file with one rejection and moves to failed/ with
 *   failed/<base>.reason.txt, in the same order (receipt and reason, then the move).
 *
 * So: a crash before 4 redoes the unjournaled tail (harmless, see journal.ts); between 4 and 5
 * rewrites the same receipt file from the same journal; after 5 only a stale journal is left,
 * removed on the next scan. Nothing is lost, and no document takes effect twice. The same file
 * dropped again is judged by its documents' messageIds (replayed receipts), never by its name.
 */
import { constants } from 'node:fs';
import { lstat, open, readdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import type { BatchEntry } from '../../gateway/core/batches/batches.service.ts';
import { receiveBatch, rejection } from '../../gateway/core/batches/batches.service.ts';
import type { ErrorCode } from '../../gateway/core/errors.ts';
import type { Partner } from '../../gateway/core/partners/partners.ts';
import type { PipelineDeps } from '../../gateway/core/pipeline/pipeline.service.ts';
import { isStorageUnavailable } from '../../gateway/db/database.ts';
import type { Logger } from '../../gateway/logger.ts';
import type { SchemaRegistry } from '../../schemas/registry.ts';
import { entryJson, receiptsLayout, type EntryJson } from '../codec/batch-receipts.ts';
import { batchDocumentFormat, splitBatch, type BatchFormat } from '../codec/batch-split.ts';
import { syncDirectory, writeFileAtomically } from '../transport/file-outbox.ts';
import {
  createFileDropPreparer,
  isTemporaryName,
  partnerFolders,
  safeFileName,
  type FileDropFolder,
} from './folders.ts';
import { bufferedWriter, journalLines, openJournal } from './journal.ts';
import { createStabilityTracker } from './stability.ts';

export interface FileDropDeps {
  root: string;
  /** FILE_DROP_STABLE_MS. */
  stableMs: number;
  pipeline: PipelineDeps;
  registry: SchemaRegistry;
  logger: Logger;
}

export interface ScanResult {
  files: number;
  documents: number;
  failed: number;
  /** Files seen but not yet stable: look again after stableMs. */
  waiting: number;
  /** The inboxes scanned (for the watcher). */
  inboxes: string[];
}

export interface FileDropScanner {
  /** Resumes claimed files and takes the complete ones of each partner's inbox. */
  scan(partners: readonly Partner[], signal: AbortSignal): Promise<ScanResult>;
}

type Folders = Record<FileDropFolder, string>;
type Outcome = 'processed' | 'failed' | 'interrupted';

const READ_CHUNK_BYTES = 64 * 1024;

/** The format a file's extension names; anything else is refused (never guessed). */
export function batchFormatOfName(name: string): BatchFormat | undefined {
  const extension = path.extname(name).toLowerCase();
  if (extension === '.xml') return 'xml';
  if (extension === '.json') return 'json';
  if (extension === '.ndjson' || extension === '.jsonl') return 'ndjson';
  if (extension === '.csv') return 'csv';
  return undefined;
}

/** `<base>.receipt.<xml|json|ndjson>`: a CSV catalogue's receipts are NDJSON, line n for row n. */
export function receiptFileName(base: string): string {
  const format = batchFormatOfName(base) ?? 'json';
  return `${base}.receipt.${format === 'csv' ? 'ndjson' : format}`;
}

function journalPath(folders: Folders, base: string): string {
  return path.join(folders.processing, `.${base}.journal`);
}

function errnoOf(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | undefined)?.code;
}

async function exists(file: string): Promise<boolean> {
  try {
    await lstat(file);
    return true;
  } catch (error) {
    if (errnoOf(error) === 'ENOENT') return false;
    throw error;
  }
}

export function createFileDropScanner(deps: FileDropDeps): FileDropScanner {
  const stability = createStabilityTracker(deps.stableMs);
  const prepare = createFileDropPreparer(deps.root);
  const log = deps.logger.child({ component: 'file-drop' });

  async function scanPartner(
    partner: Partner,
    folders: Folders,
    signal: AbortSignal,
    result: ScanResult,
  ): Promise<void> {
    const count = (outcome: Outcome) => {
      if (outcome !== 'interrupted') result.files += 1;
      if (outcome === 'failed') result.failed += 1;
    };
    // Claimed earlier and not finished (a crash, a shutdown): resumed first, oldest first.
    for (const base of await leftovers(folders)) {
      if (signal.aborted) return;
      count(await processFile(partner, folders, base, signal, result));
    }
    const prefix = `${partner.id}/`;
    for (const entry of await inboxFiles(folders.inbox)) {
      if (signal.aborted) break;
      const key = prefix + entry.name;
      if (entry.regular && !stability.isStable(key, entry.size, entry.mtimeMs)) {
        result.waiting += 1;
        continue;
      }
      const base = await claim(folders, entry.name);
      if (base === undefined) continue; // another process took it
      count(
        entry.regular
          ? await processFile(partner, folders, base, signal, result)
          : await fail(folders, base, 'not a regular file (links, devices and pipes are not read)'),
      );
    }
    stability.sweep(prefix);
  }

  async function processFile(
    partner: Partner,
    folders: Folders,
    base: string,
    signal: AbortSignal,
    result: ScanResult,
  ): Promise<Outcome> {
    const format = batchFormatOfName(base);
    if (format === undefined) {
      return fail(
        folders,
        base,
        'unknown file type: name files *.xml, *.json, *.ndjson, *.jsonl or (catalogues) *.csv',
      );
    }
    const documents = batchDocumentFormat(format, partner);
    if (documents === undefined) {
      return fail(
        folders,
        base,
        `${partner.id} is not registered to send CSV catalogues (its inbound format is ${partner.inboundFormat})`,
        'UNSUPPORTED_MEDIA_TYPE',
      );
    }
    let handle;
    try {
      // O_NOFOLLOW: a link swapped in after the listing is refused, never followed out of the root.
      handle = await open(
        path.join(folders.processing, base),
        constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK,
      );
    } catch (error) {
      if (errnoOf(error) === 'ELOOP') return fail(folders, base, 'not a regular file');
      throw error;
    }
    const journalFile = journalPath(folders, base);
    let broken: BatchEntry | undefined;
    try {
      if (!(await handle.stat()).isFile()) return await fail(folders, base, 'not a regular file');
      const journal = await openJournal(journalFile);
      try {
        const entries = receiveBatch(deps.pipeline, {
          sender: partner,
          items: splitBatch(
            handle.createReadStream({ autoClose: false, highWaterMark: READ_CHUNK_BYTES }),
            format,
          ),
          format: documents.format,
          contentType: documents.contentType,
          requestId: `file:${partner.id}/${base}`,
          skip: journal.count,
          onInternalError: (error, position) =>
            log.error({ err: error, partner: partner.id, file: base, position }, 'document failed'),
          // Stopping: the documents already taken are answered and journaled, then we stop.
          stop: signal,
        });
        for await (const entry of entries) {
          if (entry.position === 1 && entry.kind === 'rejection' && entry.endOfInput) {
            broken = entry; // nothing could be read: the file fails as a whole
            break;
          }
          await journal.append(JSON.stringify(entryJson(entry)));
          result.documents += 1;
        }
        await journal.sync();
        if (signal.aborted) return 'interrupted';
      } finally {
        await journal.close();
      }
    } finally {
      await handle.close();
    }
    if (broken?.kind === 'rejection') {
      return fail(folders, base, broken.errors[0]?.message ?? broken.code, broken.code);
    }
    await writeReceipts(folders, base, parseLines(journalLines(journalFile)));
    await moveInput(folders, base, 'processed');
    await rm(journalFile, { force: true });
    log.info({ partner: partner.id, file: base }, 'file processed');
    return 'processed';
  }

  /** A file that could not be read at all: a receipt with one rejection, the reason, failed/. */
  async function fail(
    folders: Folders,
    base: string,
    reason: string,
    code: ErrorCode = 'MALFORMED_DOCUMENT',
  ): Promise<Outcome> {
    await writeReceipts(folders, base, [entryJson(rejection(1, code, reason))]);
    const written = await writeFileAtomically(folders.failed, `${base}.reason.txt`, `${reason}\n`);
    if (!written.ok) throw new Error(written.error.message);
    await moveInput(folders, base, 'failed');
    await rm(journalPath(folders, base), { force: true });
    log.warn({ file: base, folder: folders.failed, reason }, 'file failed');
    return 'failed';
  }

  /** The receipt file, complete or not at all (temporary dot file, fsync, rename, fsync folder). */
  async function writeReceipts(
    folders: Folders,
    base: string,
    entries: AsyncIterable<EntryJson> | Iterable<EntryJson>,
  ): Promise<void> {
    const name = receiptFileName(base);
    const temporary = path.join(folders.receipts, `.${name}.tmp`);
    const layout = receiptsLayout(batchFormatOfName(base) ?? 'json', deps.registry);
    const file = await open(
      temporary,
      constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_NOFOLLOW,
      0o640,
    );
    try {
      const out = bufferedWriter(file);
      await out.write(layout.open);
      let first = true;
      for await (const entry of entries) {
        await out.write(layout.entry(entry, first));
        first = false;
      }
      await out.write(layout.close);
      await out.flush();
      await file.sync();
    } finally {
      await file.close();
    }
    await rename(temporary, path.join(folders.receipts, name));
    await syncDirectory(folders.receipts);
  }

  return {
    async scan(partners, signal) {
      const result: ScanResult = { files: 0, documents: 0, failed: 0, waiting: 0, inboxes: [] };
      for (const partner of partners) {
        if (signal.aborted) break;
        try {
          const folders = partnerFolders(deps.root, partner.id);
          // A partner in another mode takes part only when its folders exist (made by hand).
          if (partner.deliveryMode !== 'file' && !(await exists(folders.inbox))) continue;
          // Before creating anything: mkdir -p would follow a link where a folder belongs.
          await checkRealFolders(folders);
          // Idempotent: brings back folders an operator removed, or a new FILE_DROP_ROOT.
          const prepared = await prepare(partner.id);
          if (!prepared.ok) throw new Error(prepared.error.message);
          result.inboxes.push(folders.inbox);
          await scanPartner(partner, folders, signal, result);
        } catch (error) {
          // Storage trouble stops the run (the next one resumes where this one stopped); the
          // folders of one partner must not stop the others.
          if (isStorageUnavailable(error)) throw error;
          log.error({ err: error, partner: partner.id }, 'file-drop scan failed for a partner');
        }
      }
      return result;
    },
  };
}

/**
 * A partner writing in its own tree could put a link where a folder belongs, and the gateway
 * would then move or write files wherever it points: such a partner is not scanned.
 */
async function checkRealFolders(folders: Folders): Promise<void> {
  for (const folder of [path.dirname(folders.inbox), ...Object.values(folders)]) {
    let isFolder: boolean;
    try {
      isFolder = (await lstat(folder)).isDirectory();
    } catch (error) {
      if (errnoOf(error) === 'ENOENT') continue; // made next, by the gateway
      throw error;
    }
    if (!isFolder) {
      throw new Error(`${folder} is not a folder (a link?): this partner is not scanned`);
    }
  }
}

/** Files left in processing/ (oldest first); stale journals of finished files removed. */
async function leftovers(folders: Folders): Promise<string[]> {
  const names = await readdir(folders.processing);
  const files = new Set(names.filter((name) => !name.startsWith('.')));
  for (const name of names) {
    const match = /^\.(.+)\.journal$/.exec(name);
    if (match !== null && !files.has(match[1]!)) {
      await rm(path.join(folders.processing, name), { force: true });
    }
  }
  return byAge(folders.processing, [...files]);
}

interface InboxFile {
  name: string;
  regular: boolean;
  size: number;
  mtimeMs: number;
}

/** Candidates in an inbox, oldest first: no temporaries, no folders (a partner's business). */
async function inboxFiles(inbox: string): Promise<InboxFile[]> {
  const found: InboxFile[] = [];
  for (const name of await readdir(inbox)) {
    if (isTemporaryName(name)) continue;
    let stat;
    try {
      stat = await lstat(path.join(inbox, name));
    } catch (error) {
      if (errnoOf(error) === 'ENOENT') continue;
      throw error;
    }
    if (stat.isDirectory()) continue;
    found.push({ name, regular: stat.isFile(), size: stat.size, mtimeMs: stat.mtimeMs });
  }
  return found.sort((a, b) => a.mtimeMs - b.mtimeMs || (a.name < b.name ? -1 : 1));
}

async function byAge(folder: string, names: string[]): Promise<string[]> {
  const dated = await Promise.all(
    names.map(async (name) => ({ name, at: (await lstat(path.join(folder, name))).mtimeMs })),
  );
  return dated.sort((a, b) => a.at - b.at || (a.name < b.name ? -1 : 1)).map((d) => d.name);
}

/**
 * Claims an inbox file: renames it into processing/ under a base name no earlier file of this
 * partner holds (processing, processed, failed or receipts). Undefined when it is gone.
 */
async function claim(folders: Folders, name: string): Promise<string | undefined> {
  const base = await unusedBase(folders, safeFileName(name));
  try {
    await rename(path.join(folders.inbox, name), path.join(folders.processing, base));
  } catch (error) {
    if (errnoOf(error) === 'ENOENT') return undefined;
    throw error;
  }
  await syncDirectory(folders.processing);
  return base;
}

async function unusedBase(folders: Folders, safe: string): Promise<string> {
  const extension = path.extname(safe);
  const stem = safe.slice(0, safe.length - extension.length);
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+/, '');
  for (let n = 0; ; n++) {
    const base = n === 0 ? safe : `${stem}.${stamp}${n === 1 ? '' : `-${n}`}${extension}`;
    const taken = await Promise.all([
      exists(path.join(folders.processing, base)),
      exists(path.join(folders.processed, base)),
      exists(path.join(folders.failed, base)),
      exists(path.join(folders.receipts, receiptFileName(base))),
    ]);
    if (!taken.includes(true)) return base;
  }
}

async function moveInput(folders: Folders, base: string, to: 'processed' | 'failed') {
  await rename(path.join(folders.processing, base), path.join(folders[to], base));
  await syncDirectory(folders[to]);
  await syncDirectory(folders.processing);
}

async function* parseLines(lines: AsyncIterable<string>): AsyncGenerator<EntryJson> {
  for await (const line of lines) yield JSON.parse(line) as EntryJson;
}
