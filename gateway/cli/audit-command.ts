/**
 * `nakadachi audit`: status, seal, verify (the database through the admin API, or an export file
 * offline — no gateway, no database), export (NDJSON, page by page through the admin API).
 */
import fs from 'node:fs';
import { createInterface } from 'node:readline';
import type { JWK } from 'jose';
import type { Config } from '../config.ts';
import type { ExportRecord } from '../core/audit/export.service.ts';
import { verifyExport } from '../core/audit/export-verify.ts';
import type { AuditReport } from '../core/audit/verification.ts';
import { AdminError, call, openAdminChannel } from './admin-channel.ts';
import { parse, UsageError, type Values } from './args.ts';
import { printJson, type Out } from './output.ts';

const SPECS = {
  status: {},
  seal: {},
  verify: { file: { type: 'string' }, jwks: { type: 'string' } },
  export: {
    from: { type: 'string' },
    to: { type: 'string' },
    partner: { type: 'string' },
    out: { type: 'string' },
  },
} as const;

function describeReport(report: AuditReport): string {
  if (report.ok) {
    const head =
      report.head === null ? 'no seals yet' : `head: seal ${report.head.seq} ${report.head.hash}`;
    return `audit log OK: ${report.seals} seals, ${report.entries} entries verified (${head}); ${report.unsealed} entries not sealed yet`;
  }
  return `audit log BROKEN: ${report.problem?.message ?? 'unknown problem'} [${report.problem?.code ?? '?'}]`;
}

/** Prints the report; a broken log is a failure (exit code 1). */
function finish(out: Out, report: AuditReport, json: boolean): void {
  if (json) printJson(out, report);
  else out(describeReport(report));
  if (!report.ok) throw new AdminError(describeReport(report));
}

function readKeys(file: string): JWK[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (error) {
    throw new UsageError(`--jwks ${file}: ${(error as Error).message}`);
  }
  const keys = Array.isArray(parsed) ? parsed : (parsed as { keys?: unknown }).keys;
  if (!Array.isArray(keys)) throw new UsageError(`--jwks ${file}: not a JWKS ({ "keys": [...] })`);
  return keys as JWK[];
}

async function verifyFile(values: Values, out: Out): Promise<void> {
  const file = values.file as string;
  if (!fs.existsSync(file)) throw new UsageError(`--file ${file}: no such file`);
  const keys = typeof values.jwks === 'string' ? readKeys(values.jwks) : undefined;
  const lines = createInterface({ input: fs.createReadStream(file), crlfDelay: Infinity });
  const report = await verifyExport(lines, keys);
  if (values.json !== true && report.keys === 'file') {
    out(
      'note: checked with the keys the file carries; pass --jwks with keys you trust to prove origin',
    );
  }
  finish(out, report, values.json === true);
}

export async function auditCommand(
  config: Readonly<Config>,
  args: string[],
  out: Out,
): Promise<void> {
  const [sub, ...rest] = args;
  const spec = sub !== undefined && sub in SPECS ? SPECS[sub as keyof typeof SPECS] : undefined;
  if (sub === undefined || spec === undefined) {
    throw new UsageError(`audit needs a subcommand: ${Object.keys(SPECS).join(', ')}`);
  }
  const values = parse(rest, spec);
  const json = values.json === true;
  if (sub === 'verify' && typeof values.file === 'string') return verifyFile(values, out);
  if (values.jwks !== undefined) throw new UsageError('--jwks goes with --file');

  const channel = await openAdminChannel(config);
  try {
    switch (sub) {
      case 'status': {
        const status = await call(channel, 'GET', '/admin/v1/audit/status');
        if (json) return printJson(out, status);
        const head = status.head as { seq: string; sealedAt: string } | null;
        out(`seals            ${String(status.seals)}`);
        out(`sealed entries   ${String(status.sealedEntries)}`);
        out(`not sealed yet   ${String(status.unsealed)}`);
        out(`last seal        ${head === null ? '-' : `${head.seq} at ${head.sealedAt}`}`);
        return;
      }
      case 'seal': {
        const result = await call(channel, 'POST', '/admin/v1/audit/seal');
        if (json) return printJson(out, result);
        out(`sealed ${String(result.entries)} entries in ${String(result.seals)} seals`);
        return;
      }
      case 'verify':
        return finish(
          out,
          (await call(channel, 'GET', '/admin/v1/audit/verify')) as unknown as AuditReport,
          json,
        );
      case 'export':
        return await exportTo(values, out, (cursor) => {
          const query = new URLSearchParams();
          for (const name of ['from', 'to', 'partner'] as const) {
            if (typeof values[name] === 'string') query.set(name, values[name]);
          }
          if (cursor !== undefined) query.set('cursor', cursor);
          return call(channel, 'GET', `/admin/v1/audit/export/pages?${query.toString()}`);
        });
    }
  } finally {
    await channel.close();
  }
}

async function exportTo(
  values: Values,
  out: Out,
  fetchPage: (cursor: string | undefined) => Promise<Record<string, unknown>>,
): Promise<void> {
  const file = typeof values.out === 'string' && values.out !== '-' ? values.out : undefined;
  // Written next to the target and renamed at the end: a failed export leaves no partial file.
  const partial = file === undefined ? undefined : `${file}.part`;
  const fd = partial === undefined ? undefined : fs.openSync(partial, 'w');
  let end: Extract<ExportRecord, { record: 'end' }> | undefined;
  let unsealed = 0;
  try {
    let cursor: string | undefined;
    do {
      const page = await fetchPage(cursor);
      const records = page.records as ExportRecord[];
      const text = records.map((r) => JSON.stringify(r));
      if (fd === undefined) text.forEach((line) => out(line));
      else fs.writeSync(fd, text.map((line) => `${line}\n`).join(''));
      for (const record of records) {
        if (record.record === 'header') unsealed = record.unsealed;
        if (record.record === 'end') end = record;
      }
      cursor = typeof page.nextCursor === 'string' ? page.nextCursor : undefined;
    } while (cursor !== undefined);
  } catch (error) {
    if (fd !== undefined) fs.closeSync(fd);
    if (partial !== undefined) fs.rmSync(partial, { force: true });
    throw error;
  }
  if (fd === undefined || file === undefined || partial === undefined) return;
  fs.fsyncSync(fd);
  fs.closeSync(fd);
  fs.renameSync(partial, file);
  const summary = {
    file,
    seals: end?.seals ?? 0,
    entries: end?.entries ?? 0,
    unsealed,
  };
  if (values.json === true) return printJson(out, summary);
  out(`wrote ${summary.entries} entries in ${summary.seals} seals to ${file}`);
  if (unsealed > 0) {
    out(
      `note: ${unsealed} entries of the period are not sealed yet (nakadachi audit seal), so not in the file`,
    );
  }
}
