/**
 * `nakadachi demo`, run in-process as the CLI runs it: a gateway of its own on a temporary
 * embedded database, both flows end to end over real sockets. The demo ignores DATABASE_URL, so
 * the PostgreSQL run (TEST_DATABASE_URL) would only repeat the embedded run of the suite's longest
 * file: it is skipped there.
 */
import { existsSync, rmSync } from 'node:fs';
import { expect, it } from 'vitest';
import { loadConfig } from '../../gateway/config.ts';
import { runDemo } from '../../gateway/demo/demo.ts';
import type { DemoEvent } from '../../gateway/demo/timeline.ts';
import { createLogger } from '../../gateway/logger.ts';
import { startGateway } from '../../gateway/main.ts';
import { INBOUND_TYPES, OUTBOUND_TYPES } from '../../schemas/document-types.ts';
import { onPostgres } from '../support/database.ts';

const EVERY_TYPE = [...INBOUND_TYPES, ...OUTBOUND_TYPES].filter((t) => t !== 'Receipt');

function documents(events: DemoEvent[]) {
  return events.flatMap((e) => (e.kind === 'document' ? [e] : []));
}

it.skipIf(onPostgres)(
  'plays both seeds from item notice to delivery complete and payment, then removes its data',
  { timeout: 60_000 },
  async () => {
    const lines: string[] = [];
    const result = await runDemo({ out: (line) => lines.push(line) });
    const text = lines.join('\n');

    // Every document type of both flows went over the wire, in the lifecycle's order.
    const docs = documents(result.events);
    const types = docs.map((d) => d.type);
    for (const type of EVERY_TYPE) expect(types, type).toContain(type);
    expect(types[0]).toBe('ItemNotice');
    expect(types.at(-1)).toBe('DeliveryComplete');
    expect(types.lastIndexOf('OrderBid')).toBeLessThan(types.indexOf('Award'));
    expect(types.indexOf('TransportTerms')).toBeLessThan(types.indexOf('TransportCommission'));
    expect(types.indexOf('ECheckRefusal')).toBeLessThan(types.indexOf('ECheck'));
    expect(types.indexOf('PaymentDemand')).toBeLessThan(types.indexOf('SettlementInstruction'));
    // Pushes come from the gateway to the partner concerned; documents in go to the gateway.
    expect(docs.find((d) => d.type === 'Award')).toMatchObject({ from: 'G', to: 'BUYER-A' });
    expect(docs.find((d) => d.type === 'PaymentDemand')).toMatchObject({
      from: 'SELLER-A',
      to: 'G',
    });
    expect(result.events.filter((e) => e.kind === 'phase').map((e) => e.phase)).toEqual([
      'A',
      'B',
      'C',
      'D',
    ]);
    // The demo said so while it waited for the judges' deadlines.
    expect(result.events.filter((e) => e.kind === 'wait').length).toBeGreaterThanOrEqual(2);

    // The balances add up: 200 × ¥29,800, 2.5 % commission.
    const { deal } = result;
    expect(deal.total).toEqual({ minor: 5_960_000n, currency: 'JPY' });
    expect(deal.commission).toEqual({ minor: 149_000n, currency: 'JPY' });
    const balance = (owner: string, kind = 'partner') =>
      result.balances.find((b) => b.owner === owner && b.kind === kind)?.balance.minor;
    expect(balance('BUYER-A')).toBe(deal.funded.minor - deal.total.minor);
    expect(balance('SELLER-A')).toBe(deal.total.minor - deal.commission.minor);
    expect(balance('NAKADACHI', 'revenue')).toBe(deal.commission.minor);
    expect(balance('NAKADACHI', 'external')).toBe(-deal.funded.minor);
    expect(result.balances.reduce((sum, b) => sum + b.balance.minor, 0n)).toBe(0n);

    expect(result.audit).toMatchObject({ ok: true, problem: null });
    expect(result.audit.entries).toBeGreaterThan(docs.length);

    // What a newcomer reads.
    for (const heading of [
      'A. Catalogue',
      'B. Reservation and seller selection',
      'C. Settlement and transport tenders',
      'D. Electronic check order',
      'Final balances',
      'Audit verification: OK',
    ]) {
      expect(text).toContain(heading);
    }
    expect(text).toMatch(/BUYER-A → G +PurchaseReservation +wants 200 × Aozora HX-9 headphones/);
    expect(text).toMatch(/G → BUYER-A +Award +the gateway selects SELLER-A/);
    expect(text).toMatch(
      /SELLER-A +¥5,811,000 +the deal’s ¥5,960,000 less the ¥149,000 commission/,
    );
    expect(text).toContain('has been removed');
    expect(existsSync(result.dataDir)).toBe(false);
  },
);

it.skipIf(onPostgres)(
  'with --json prints JSON lines, and with --keep leaves a data directory a gateway can serve',
  { timeout: 60_000 },
  async () => {
    const lines: string[] = [];
    const result = await runDemo({ out: (line) => lines.push(line), json: true, keep: true });
    try {
      const parsed = lines.map((line) => JSON.parse(line) as { kind: string });
      expect(parsed[0]?.kind).toBe('start');
      expect(parsed.at(-1)).toMatchObject({ kind: 'end', kept: true, dataDir: result.dataDir });
      expect(parsed.filter((p) => p.kind === 'document')).toHaveLength(
        documents(result.events).length,
      );
      expect(parsed.find((p) => p.kind === 'balances')).toMatchObject({
        sum: { amount: '0', currency: 'JPY' },
      });

      // What `DATA_DIR=… npx nakadachi serve` would find: the deal's whole timeline.
      const token = 'demo-test-admin-token-0123456789';
      const gateway = await startGateway(
        loadConfig({ DATA_DIR: result.dataDir, PORT: '0', HOST: '127.0.0.1', ADMIN_TOKEN: token }),
        { logger: createLogger('silent') },
      );
      try {
        const response = await fetch(`${gateway.url}/admin/v1/timeline/${result.deal.dealId}`, {
          headers: { authorization: `Bearer ${token}` },
        });
        const timeline = (await response.json()) as { documents: { documentType: string }[] };
        expect(response.status).toBe(200);
        expect(timeline.documents.map((d) => d.documentType)).toContain('DeliveryComplete');
      } finally {
        await gateway.stop();
      }
    } finally {
      rmSync(result.dataDir, { recursive: true, force: true });
    }
  },
);
