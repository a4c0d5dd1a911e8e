/**
 * The static migration index: every migration, in order, by name. A new migration is a new file
 * and one line here; names sort in the order they run and are never renamed once released.
 */
import type { Migration } from 'kysely';
import * as partners from './0001-partners.ts';
import * as messages from './0002-messages.ts';
import * as outboxAndJobs from './0003-outbox-and-jobs.ts';

export const migrations: Readonly<Record<string, Migration>> = {
  '0001-partners': partners,
  '0002-messages': messages,
  '0003-outbox-and-jobs': outboxAndJobs,
};
