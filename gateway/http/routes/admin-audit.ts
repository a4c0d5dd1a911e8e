/**
 * `/admin/v1/audit`: what the seals cover (status), a full verification, an export of a period
 * (NDJSON stream, or JSON pages for the CLI) and sealing on demand (operators only: it writes).
 */
import { Hono } from 'hono';
import { stream } from 'hono/streaming';
import type { Kysely } from 'kysely';
import { exportPage, type ExportDeps } from '../../core/audit/export.service.ts';
import { sealPending } from '../../core/audit/seal.service.ts';
import { auditStatus, verifyAuditLog } from '../../core/audit/verify.service.ts';
import type { Signer } from '../../core/signing/signer.ts';
import type { Database } from '../../db/tables.ts';
import type { AppEnv } from '../env.ts';
import { exportFilterFrom } from '../log-filter.ts';

export function adminAuditRoutes(deps: {
  db: Kysely<Database>;
  signer: Signer;
  gatewayId: string;
}) {
  const exporter: ExportDeps = { db: deps.db, gatewayId: deps.gatewayId };
  return new Hono<AppEnv>()
    .get('/status', async (c) => c.json(await auditStatus(deps.db)))
    .get('/verify', async (c) => c.json(await verifyAuditLog(deps.db)))
    .post('/seal', async (c) => c.json(await sealPending({ db: deps.db, signer: deps.signer })))
    .get('/export/pages', async (c) => {
      const filter = exportFilterFrom((name) => c.req.query(name));
      return c.json(await exportPage(exporter, filter, c.req.query('cursor')));
    })
    .get('/export', async (c) => {
      const filter = exportFilterFrom((name) => c.req.query(name));
      // The first page runs before the response starts, so a bad request is still a clean 400.
      let page = await exportPage(exporter, filter, undefined);
      c.header('content-type', 'application/x-ndjson; charset=utf-8');
      c.header('content-disposition', 'attachment; filename="nakadachi-audit.ndjson"');
      return stream(c, async (out) => {
        for (;;) {
          await out.write(page.records.map((r) => `${JSON.stringify(r)}\n`).join(''));
          if (page.nextCursor === null || out.aborted) return;
          page = await exportPage(exporter, filter, page.nextCursor);
        }
      });
    });
}
