/**
 * The static migration index: every migration, in order, by name. A new migration is a new file
 * and one line here; names sort in the order they run and are never renamed once released.
 */
import type { Migration } from 'kysely';
import * as partners from './0001-partners.ts';
import * as messages from './0002-messages.ts';
import * as outboxAndJobs from './0003-outbox-and-jobs.ts';
import * as pipeline from './0004-pipeline.ts';
import * as delivery from './0010-delivery.ts';
import * as trading from './0011-trading.ts';
import * as ledger from './0020-ledger.ts';
import * as checks from './0021-checks.ts';
import * as audit from './0030-audit.ts';
import * as partnerFormats from './0050-partner-formats.ts';

export const migrations: Readonly<Record<string, Migration>> = {
  '0001-partners': partners,
  '0002-messages': messages,
  '0003-outbox-and-jobs': outboxAndJobs,
  '0004-pipeline': pipeline,
  '0010-delivery': delivery,
  '0011-trading': trading,
  '0020-ledger': ledger,
  '0021-checks': checks,
  '0030-audit': audit,
  '0050-partner-formats': partnerFormats,
};
