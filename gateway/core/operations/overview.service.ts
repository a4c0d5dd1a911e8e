/**
 * The operator's overview: traffic per document type, rejections, the outbox, the last run of
 * every job and what the audit seals cover — each one cheap aggregate query.
 */
import type { Kysely } from 'kysely';
import type { Database } from '../../db/tables.ts';
import { auditStatus, type AuditStatus } from '../audit/verify.service.ts';
import { searchMessages, type MessageSummary } from '../messages/messages.service.ts';
import { DOCUMENT_EVENTS } from '../messages/messages.repository.ts';

export interface TrafficLine {
  documentType: string;
  inbound: number;
  outbound: number;
  rejected: number;
}

export interface JobRunLine {
  job: string;
  startedAt: Date;
  finishedAt: Date | null;
  outcome: string;
  counts: Record<string, number>;
  error: string | null;
}

export interface Overview {
  since: Date;
  traffic: TrafficLine[];
  recentRejections: MessageSummary[];
  /** Outbox rows by delivery status (pending, delivering, delivered, dead). */
  outbox: Record<string, number>;
  jobs: JobRunLine[];
  audit: AuditStatus;
}

export async function operationsOverview(
  db: Kysely<Database>,
  windowMs = 24 * 3_600_000,
): Promise<Overview> {
  const since = new Date(Date.now() - windowMs);
  const traffic = await db
    .selectFrom('message_log')
    .select(['document_type', 'direction', 'status', (eb) => eb.fn.countAll<string>().as('n')])
    .where('logged_at', '>=', since)
    .where('event', 'in', DOCUMENT_EVENTS)
    .groupBy(['document_type', 'direction', 'status'])
    .execute();
  const byType = new Map<string, TrafficLine>();
  for (const row of traffic) {
    const type = row.document_type ?? '(unreadable)';
    const line = byType.get(type) ?? { documentType: type, inbound: 0, outbound: 0, rejected: 0 };
    line[row.direction] += Number(row.n);
    if (row.status === 'rejected') line.rejected += Number(row.n);
    byType.set(type, line);
  }
  const outbox = await db
    .selectFrom('outbox')
    .select(['status', (eb) => eb.fn.countAll<string>().as('n')])
    .groupBy('status')
    .execute();
  const jobs = await db
    .selectFrom('job_runs')
    .distinctOn('job')
    .select(['job', 'started_at', 'finished_at', 'outcome', 'counts', 'error'])
    .orderBy('job')
    .orderBy('started_at', 'desc')
    .execute();
  const rejections = await searchMessages(
    db,
    { direction: 'inbound', status: 'rejected', from: since },
    { limit: 5 },
  );
  return {
    since,
    traffic: [...byType.values()].sort((a, b) => a.documentType.localeCompare(b.documentType)),
    recentRejections: rejections.messages,
    outbox: Object.fromEntries(outbox.map((row) => [row.status, Number(row.n)])),
    jobs: jobs.map((row) => ({
      job: row.job,
      startedAt: row.started_at,
      finishedAt: row.finished_at,
      outcome: row.outcome,
      counts: row.counts,
      error: row.error,
    })),
    audit: await auditStatus(db),
  };
}
