/**
 * The progress journal of a claimed file: one line per batch position, appended as each document
 * is processed, kept beside the file in processing/ as a dot file. After a crash the file is read
 * again from the start, the positions the journal holds are read past (not processed again), and
 * the receipt file is built from the journal at the end — so it lists every position once, in
 * order, whatever happened between.
 *
 * Invariant: a line is written only after its document's transaction has committed, so the journal
 * never claims more than the database holds. Lines are fsynced at most every `syncIntervalMs`:
 * a crash may lose the last unsynced lines, and those documents are processed again on resume —
 * an accepted one gets its original receipt back (idempotency on sender + messageId), so nothing
 * takes effect twice.
 */
import { constants } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { createInterface } from 'node:readline';

export interface Journal {
  /** Positions recorded, including those found on opening. */
  readonly count: number;
  append(line: string): Promise<void>;
  /** Writes what is buffered and fsyncs. */
  sync(): Promise<void>;
  /** Writes what is buffered (no fsync) and closes. */
  close(): Promise<void>;
}

const FLUSH_BYTES = 256 * 1024;
const READ_BYTES = 1024 * 1024;

/** Opens (or creates) a journal; a line cut short by a crash is cut off. */
export async function openJournal(file: string, syncIntervalMs = 1000): Promise<Journal> {
  const handle = await open(
    file,
    constants.O_RDWR | constants.O_CREAT | constants.O_APPEND | constants.O_NOFOLLOW,
    0o640,
  );
  let count: number;
  try {
    const { lines, complete } = await countLines(handle);
    if ((await handle.stat()).size > complete) await handle.truncate(complete);
    count = lines;
  } catch (error) {
    await handle.close();
    throw error;
  }
  const out = bufferedWriter(handle);
  let syncedAt = Date.now();

  async function sync(): Promise<void> {
    await out.flush();
    await handle.sync();
    syncedAt = Date.now();
  }

  return {
    get count() {
      return count;
    },
    async append(line) {
      await out.write(`${line}\n`);
      count += 1;
      if (Date.now() - syncedAt >= syncIntervalMs) await sync();
    },
    sync,
    async close() {
      // Written but not fsynced: kept unless the machine itself goes down.
      try {
        await out.flush();
      } finally {
        await handle.close();
      }
    },
  };
}

export interface BufferedWriter {
  write(text: string): Promise<void>;
  /** Writes what is buffered (no fsync). */
  flush(): Promise<void>;
}

/** Writes in 256 KiB pieces: a syscall per receipt would cost more than the receipt. */
export function bufferedWriter(file: FileHandle): BufferedWriter {
  let pending: string[] = [];
  let size = 0;
  async function flush(): Promise<void> {
    if (pending.length === 0) return;
    const bytes = Buffer.from(pending.join(''), 'utf8');
    pending = [];
    size = 0;
    for (let written = 0; written < bytes.length;) {
      written += (await file.write(bytes, written)).bytesWritten;
    }
  }
  return {
    async write(text) {
      pending.push(text);
      size += text.length;
      if (size >= FLUSH_BYTES) await flush();
    },
    flush,
  };
}

async function countLines(handle: FileHandle): Promise<{ lines: number; complete: number }> {
  const buffer = Buffer.allocUnsafe(READ_BYTES);
  let lines = 0;
  let complete = 0; // bytes up to and including the last newline
  for (let position = 0; ;) {
    const { bytesRead } = await handle.read(buffer, 0, READ_BYTES, position);
    if (bytesRead === 0) return { lines, complete };
    for (let i = buffer.indexOf(0x0a); i !== -1 && i < bytesRead; i = buffer.indexOf(0x0a, i + 1)) {
      lines += 1;
      complete = position + i + 1;
    }
    position += bytesRead;
  }
}

/** The journal's lines, in order (streamed). */
export async function* journalLines(file: string): AsyncGenerator<string> {
  const handle = await open(file, constants.O_RDONLY | constants.O_NOFOLLOW);
  try {
    const lines = createInterface({ input: handle.createReadStream({ autoClose: false }) });
    for await (const line of lines) if (line !== '') yield line;
  } finally {
    await handle.close();
  }
}
