/**
 * A real gateway process killed (SIGKILL) in the middle of a dropped file, on PGlite and on
 * PostgreSQL: the restarted gateway finishes the file, its receipt file lists every document once
 * and in order, and every document took effect exactly once.
 */
import fs from 'node:fs';
import path from 'node:path';
import { sql } from 'kysely';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createFileDropPreparer } from '../../adapters/filedrop/folders.ts';
import { createPartner } from '../../gateway/core/partners/partners.service.ts';
import { expectEntries, itemNotice, readReceipts } from '../support/batches.ts';
import { openSharedStore, spawnGateway, type SharedStore } from '../support/child-gateway.ts';
import { eventually } from '../support/delivery.ts';
import { dropFile, folder, receiptOfFile, tempRoot } from '../support/file-drop.ts';

let store: SharedStore;
let root: string;

beforeAll(async () => {
  store = await openSharedStore();
  root = tempRoot();
});
afterAll(async () => {
  await store.close();
  fs.rmSync(root, { recursive: true, force: true });
});

const PARTNER = 'CRASH-DROP';
// Journal lines show at its first sync (after a second) or 256 KiB (about 200 receipts),
// whichever comes first: the kill lands inside the file at any speed this machine has.
const COUNT = 400;

function journaledLines(): number {
  const journal = path.join(folder(root, PARTNER, 'processing'), '.bulk.ndjson.journal');
  if (!fs.existsSync(journal)) return 0;
  return fs.readFileSync(journal, 'utf8').split('\n').length - 1;
}

it(
  'finishes a file after a crash in the middle of it, nothing lost or done twice',
  { timeout: 120_000 },
  async () => {
    await store.use((db) =>
      createPartner(
        {
          db,
          checkEndpoint: () => ({ ok: true }),
          prepareFileDrop: createFileDropPreparer(root),
        },
        { id: PARTNER, name: 'Crash drop', roles: ['seller'], deliveryMode: 'file' },
      ),
    );
    const documents = Array.from({ length: COUNT }, () => JSON.stringify(itemNotice(PARTNER)));
    dropFile(root, PARTNER, 'bulk.ndjson', `${documents.join('\n')}\n`);
    const env = {
      ...store.env,
      ROLE: 'jobs',
      FILE_DROP_ROOT: root,
      FILE_DROP_STABLE_MS: '20',
    };

    const first = await spawnGateway(env);
    // Killed as soon as the journal shows its first positions.
    await eventually(() => journaledLines() > 0, 'the first journal lines', 60_000, 5);
    first.kill('SIGKILL');
    expect(await first.exited).toBeNull();
    const journaled = journaledLines();
    expect(journaled).toBeGreaterThan(0);
    expect(journaled).toBeLessThan(COUNT);
    expect(fs.existsSync(path.join(folder(root, PARTNER, 'processing'), 'bulk.ndjson'))).toBe(true);

    // The dead process still holds the job's lease, which expires after 30 s (the scheduler's
    // own tests cover that); releasing it lets the restarted gateway resume at once.
    await store.use((db) =>
      db.deleteFrom('job_leases').where('job', '=', 'scan-file-drops').execute(),
    );
    const second = await spawnGateway(env);
    const receipt = await receiptOfFile(root, PARTNER, 'bulk.ndjson', 90_000);
    second.kill('SIGTERM');
    expect(await second.exited).toBe(0);

    expectEntries(
      readReceipts(receipt, 'ndjson'),
      documents,
      documents.map(() => ({ status: 'accepted', receipt: true })),
    );
    const effects = await store.use(async (db) => ({
      offers: await db
        .selectFrom('offers')
        .select(sql<string>`count(*)`.as('n'))
        .where('seller_id', '=', PARTNER)
        .executeTakeFirstOrThrow(),
      // Accepted once each: a replayed document is answered from its receipt, not logged again.
      logged: await db
        .selectFrom('message_log')
        .select(['message_id', sql<string>`count(*)`.as('n')])
        .where('partner_id', '=', PARTNER)
        .where('direction', '=', 'inbound')
        .groupBy('message_id')
        .execute(),
    }));
    expect(Number(effects.offers.n)).toBe(COUNT);
    expect(effects.logged).toHaveLength(COUNT);
    expect(effects.logged.every((row) => Number(row.n) === 1)).toBe(true);
    expect(fs.readdirSync(folder(root, PARTNER, 'processing'))).toEqual([]);
  },
);
