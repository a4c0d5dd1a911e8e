/**
 * Low latency for file drops: fs.watch on each inbox wakes the scan job (debounced) when a file
 * appears or changes. It only wakes: the scan decides what is complete, and the job's schedule
 * covers what a watcher misses (network file systems often report nothing).
 */
import { watch, type FSWatcher } from 'node:fs';
import { isTemporaryName } from './folders.ts';

export interface InboxWatcher {
  /** Watches exactly these folders from now on (new ones added, gone ones dropped). */
  watch(folders: readonly string[]): void;
  close(): void;
}

export function createInboxWatcher(wake: () => void, debounceMs = 50): InboxWatcher {
  const watchers = new Map<string, FSWatcher>();
  let timer: NodeJS.Timeout | undefined;
  let closed = false;

  function changed(name: string | Buffer | null): void {
    // A temporary growing is not news; its rename to the final name is.
    if (closed || (typeof name === 'string' && isTemporaryName(name)) || timer !== undefined)
      return;
    timer = setTimeout(() => {
      timer = undefined;
      if (!closed) wake();
    }, debounceMs);
    timer.unref();
  }

  function drop(folder: string): void {
    watchers.get(folder)?.close();
    watchers.delete(folder);
  }

  return {
    watch(folders) {
      if (closed) return;
      const wanted = new Set(folders);
      for (const folder of watchers.keys()) if (!wanted.has(folder)) drop(folder);
      for (const folder of wanted) {
        if (watchers.has(folder)) continue;
        try {
          const watcher = watch(folder, { persistent: false }, (_event, name) => changed(name));
          // A removed folder or a watch limit: the scan's schedule still covers it.
          watcher.on('error', () => drop(folder));
          watchers.set(folder, watcher);
        } catch {
          // ENOENT, ENOSPC (inotify watches exhausted): left to the schedule.
        }
      }
    },
    close() {
      closed = true;
      clearTimeout(timer);
      for (const folder of [...watchers.keys()]) drop(folder);
    },
  };
}
