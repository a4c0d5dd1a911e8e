/**
 * `scan-file-drops`: thin over the file-drop adapter. Every FILE_DROP_SCAN_INTERVAL_S (and at
 * once when the inbox watcher sees a file), one process at a time (cluster lease: it is the only
 * claimer, see adapters/filedrop/file-drop.ts) resumes claimed files and takes the complete ones
 * of every active partner. A file seen but not yet stable brings the next run forward.
 *
 * All processes with jobs must see the same FILE_DROP_ROOT (a shared volume), as for the outbox.
 */
import type { Kysely } from 'kysely';
import { createFileDropScanner, type FileDropDeps } from '../adapters/filedrop/file-drop.ts';
import { createInboxWatcher } from '../adapters/filedrop/watcher.ts';
import { listPartners } from '../gateway/core/partners/partners.service.ts';
import type { Database } from '../gateway/db/tables.ts';
import type { JobDefinition } from './scheduler.ts';

export const SCAN_FILE_DROPS = 'scan-file-drops';

export interface FileDropJobDeps extends FileDropDeps {
  db: Kysely<Database>;
  /** FILE_DROP_SCAN_INTERVAL_S (1–60). */
  scanIntervalS: number;
  /** Runs the job now (the scheduler's wake). */
  wake: () => void;
}

export function scanFileDropsJob(deps: FileDropJobDeps): { job: JobDefinition; close(): void } {
  const scanner = createFileDropScanner(deps);
  const watcher = createInboxWatcher(deps.wake);
  return {
    job: {
      name: SCAN_FILE_DROPS,
      schedule: deps.scanIntervalS >= 60 ? '0 * * * * *' : `*/${deps.scanIntervalS} * * * * *`,
      async run(ctx) {
        const partners = (await listPartners(deps.db)).filter((p) => p.status === 'active');
        const { inboxes, waiting, ...counts } = await scanner.scan(partners, ctx.signal);
        watcher.watch(inboxes);
        if (waiting > 0 && !ctx.signal.aborted) ctx.wakeIn(deps.stableMs);
        return { ...counts, waiting };
      },
    },
    close: () => watcher.close(),
  };
}
