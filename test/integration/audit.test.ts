/**
 * The tamper-evident log: the append-only trigger, sealing with its watermark, and verification
 * catching each kind of tampering a superuser can do in the database directly — an altered body,
 * an altered digest, a deleted entry, reordered entries, an inserted entry, a forged or altered
 * seal, a deleted seal — naming the first broken seal and entry. Each tampering happens inside a
 * transaction that is rolled back, so the cases stay independent. Then the export and its offline
 * verification, and the seal-audit job.
 */
import { generateKeyPairSync } from 'node:crypto';
import { sql, type Kysely, type RawBuilder } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  entryDigest,
  merkleTree,
  packLeaves,
  sealHash,
  sealPayload,
  unpackLeaves,
} from '../../gateway/core/audit/audit.ts';
import { entriesForSealing } from '../../gateway/core/audit/audit.repository.ts';
import { exportPage, type ExportRecord } from '../../gateway/core/audit/export.service.ts';
import { verifyExport } from '../../gateway/core/audit/export-verify.ts';
import { sealPending } from '../../gateway/core/audit/seal.service.ts';
import type { AuditReport } from '../../gateway/core/audit/verification.ts';
import { auditStatus, verifyAuditLog } from '../../gateway/core/audit/verify.service.ts';
import { createSigner } from '../../gateway/core/signing/signer.ts';
import type { Database } from '../../gateway/db/tables.ts';
import { createLogger } from '../../gateway/logger.ts';
import { startGatewayJobs } from '../../gateway/main.ts';
import { SEAL_AUDIT } from '../../jobs/seal-audit.ts';
import { onPostgres } from '../support/database.ts';
import { enqueueOutboundMany } from '../../gateway/core/delivery/outbox.ts';
import { sealEverything } from '../support/audit.ts';
import { eventually, enqueueNoAwards, noAward, testOutboxDeps } from '../support/delivery.ts';
import { exampleDocument, postDocument } from '../support/documents.ts';
import {
  registerPartner,
  startTestGateway,
  type RegisteredPartner,
  type TestGateway,
} from '../support/gateway.ts';

let gateway: TestGateway;
let db: Kysely<Database>;
let seller: RegisteredPartner;
let buyer: RegisteredPartner;
/** Entry ids of the first and the second batch of documents, and each entry's seal. */
let first: string[];
let second: string[];
const sealOf = new Map<string, string>();

async function sendSome(): Promise<void> {
  for (let i = 0; i < 3; i++) {
    const doc = exampleDocument('ItemNotice', seller.id, {
      sellerItemId: `AUDIT-${Math.random().toString(36).slice(2, 9)}`,
      gtin: undefined,
    });
    expect((await postDocument(gateway.app, seller.apiKey, doc)).status).toBe(200);
  }
  // a rejection (the buyer may not send an ItemNotice), and outbound documents
  const refused = exampleDocument('ItemNotice', buyer.id, {});
  expect((await postDocument(gateway.app, buyer.apiKey, refused)).status).toBe(403);
  await enqueueNoAwards(db, testOutboxDeps(), buyer.id, 2);
}

async function logIds(): Promise<string[]> {
  const rows = await db.selectFrom('message_log').select('id').orderBy('id').execute();
  return rows.map((r) => r.id.toString());
}

beforeAll(async () => {
  gateway = await startTestGateway();
  db = gateway.database.db;
  seller = await registerPartner(gateway, { id: 'SELLER-A', roles: ['seller'] });
  buyer = await registerPartner(gateway, { id: 'BUYER-A', roles: ['buyer'] });
  await sendSome();
  await sealEverything(gateway);
  first = await logIds();
  await sendSome();
  await sealEverything(gateway);
  second = (await logIds()).filter((id) => !first.includes(id));
  for (const seal of await db.selectFrom('audit_seals').select(['seq', 'leaves']).execute()) {
    for (const leaf of unpackLeaves(seal.leaves)!) sealOf.set(leaf.id, seal.seq.toString());
  }
}, 60_000);
afterAll(async () => {
  await gateway.close();
});

function sealedEntryIds(seals: { leaves: Uint8Array }[]): string[] {
  return seals.flatMap((s) => unpackLeaves(s.leaves)!.map((l) => l.id));
}

class Rollback extends Error {}

/** Tampers as a superuser would (triggers off), verifies, and rolls everything back. */
async function verifyTampered(
  ...statements: (RawBuilder<unknown> | ((trx: Kysely<Database>) => Promise<void>))[]
): Promise<AuditReport> {
  let report: AuditReport | undefined;
  try {
    await db.transaction().execute(async (trx) => {
      await sql`alter table message_log disable trigger message_log_append_only`.execute(trx);
      await sql`alter table audit_seals disable trigger audit_seals_append_only`.execute(trx);
      for (const statement of statements) {
        if (typeof statement === 'function') await statement(trx);
        else await statement.execute(trx);
      }
      report = await verifyAuditLog(trx);
      throw new Rollback();
    });
  } catch (error) {
    if (!(error instanceof Rollback)) throw error;
  }
  return report!;
}

const at = (ids: string[], i: number) => BigInt(ids[i]!);
/** What verification should report for entry i of a batch. */
const broken = (ids: string[], i: number) => ({ seal: sealOf.get(ids[i]!), entry: ids[i] });

describe('the append-only log', () => {
  it('refuses UPDATE, DELETE and TRUNCATE of the message log and the seals', async () => {
    for (const statement of [
      sql`update message_log set status = 'accepted'`,
      sql`delete from message_log`,
      sql`truncate message_log`,
      sql`update audit_seals set merkle_root = ''`,
      sql`delete from audit_seals`,
      sql`truncate audit_seals`,
    ]) {
      await expect(statement.execute(db)).rejects.toThrow(/append-only/);
    }
    expect(await logIds()).toEqual([...first, ...second]);
  });
});

describe('sealing', () => {
  it('chains seals that together cover every entry exactly once', async () => {
    const seals = await db.selectFrom('audit_seals').selectAll().orderBy('seq').execute();
    expect(seals.length).toBeGreaterThanOrEqual(2);
    expect(sealedEntryIds(seals)).toEqual([...first, ...second]);
    expect(seals[0]!.prev_hash).toBe('0'.repeat(64));
    for (let i = 1; i < seals.length; i++) {
      expect(seals[i]!.prev_hash).toBe(seals[i - 1]!.seal_hash);
    }
    // the next run has nothing to do
    expect(await sealPending({ db, signer: gateway.services.pipeline.signer })).toEqual({
      seals: 0,
      entries: 0,
    });
  });

  it('verifies an untouched log', async () => {
    const report = await verifyAuditLog(db);
    expect(report).toMatchObject({
      ok: true,
      entries: first.length + second.length,
      unsealed: 0,
      problem: null,
    });
    expect(report.head?.hash).toMatch(/^[0-9a-f]{64}$/);
  });

  it.runIf(onPostgres)(
    'never skips an entry whose transaction commits after a later one was sealed',
    async () => {
      const signer = gateway.services.pipeline.signer;
      let release = (): void => undefined;
      const held = new Promise<void>((resolve) => (release = resolve));
      let inserted = (): void => undefined;
      const insertedEarly = new Promise<void>((resolve) => (inserted = resolve));
      const slow = db.transaction().execute(async (trx) => {
        await enqueueOutboundMany(trx, testOutboxDeps(), [noAward(buyer.id)]); // draws the lower ids
        inserted();
        await held;
      });
      try {
        await insertedEarly;
        const [later] = await enqueueNoAwards(db, testOutboxDeps(), buyer.id, 1); // committed
        await sealPending({ db, signer });
        // The committed later entry waits behind the open transaction: nothing sealed past it.
        const laterIds = await db
          .selectFrom('message_log')
          .select('id')
          .where('message_id', '=', later!)
          .execute();
        const sealedIds = new Set(
          sealedEntryIds(await db.selectFrom('audit_seals').select('leaves').execute()),
        );
        expect(laterIds.length).toBe(1);
        expect(sealedIds.has(laterIds[0]!.id.toString())).toBe(false);
      } finally {
        release();
        await slow;
      }
      await sealEverything(gateway);
      expect(await verifyAuditLog(db)).toMatchObject({ ok: true, unsealed: 0 });
      const status = await auditStatus(db);
      expect(status.sealedEntries).toBe((await logIds()).length);
    },
  );
});

describe('verification catches tampering in the database', () => {
  it('an altered body: the entry, and that its bytes no longer match its digest', async () => {
    const report = await verifyTampered(
      sql`update message_log set body = convert_to('{"forged":true}', 'UTF8') where id = ${at(second, 1)}`,
    );
    expect(report.problem).toMatchObject({ code: 'entry-altered', ...broken(second, 1) });
    expect(report.problem?.message).toMatch(/body no longer matches its digest/);
    expect(report.seals).toBe(Number(sealOf.get(second[1]!)) - 1); // the seals before were fine
  });

  it('an altered body with a matching new digest', async () => {
    const report = await verifyTampered(
      sql`update message_log set body = convert_to('{}', 'UTF8'), digest = encode(sha256(convert_to('{}', 'UTF8')), 'hex') where id = ${at(first, 0)}`,
    );
    expect(report.problem).toMatchObject({ code: 'entry-altered', ...broken(first, 0) });
  });

  it('an altered digest', async () => {
    const report = await verifyTampered(
      sql`update message_log set digest = repeat('0', 64) where id = ${at(first, 2)}`,
    );
    expect(report.problem).toMatchObject({ code: 'entry-altered', ...broken(first, 2) });
  });

  it('a time moved by one microsecond, a status rewritten', async () => {
    expect(
      (
        await verifyTampered(
          sql`update message_log set logged_at = logged_at + interval '1 microsecond' where id = ${at(second, 0)}`,
        )
      ).problem,
    ).toMatchObject({ code: 'entry-altered', ...broken(second, 0) });
    const refusals = await db
      .selectFrom('message_log')
      .select('id')
      .where('status', '=', 'rejected')
      .execute();
    const rejected = second.findIndex((id) => refusals.some((r) => r.id.toString() === id));
    expect(
      (
        await verifyTampered(
          sql`update message_log set status = 'accepted' where status = 'rejected' and id = ${at(second, rejected)}`,
        )
      ).problem,
    ).toMatchObject({ code: 'entry-altered', ...broken(second, rejected) });
  });

  it('a deleted entry', async () => {
    const report = await verifyTampered(sql`delete from message_log where id = ${at(second, 2)}`);
    expect(report.problem).toMatchObject({ code: 'entry-missing', ...broken(second, 2) });
  });

  it('reordered entries: two rows swap their contents', async () => {
    const [a, b] = [at(first, 1), at(first, 3)];
    const report = await verifyTampered(sql`
      update message_log m set
        (logged_at, direction, event, partner_id, message_id, document_type, status,
         content_type, body, digest, refs, detail, request_id, txid) =
        (select logged_at, direction, event, partner_id, message_id, document_type, status,
                content_type, body, digest, refs, detail, request_id, txid
           from message_log o where o.id = case when m.id = ${a} then ${b}::bigint else ${a}::bigint end)
      where m.id in (${a}, ${b})`);
    expect(report.problem).toMatchObject({ code: 'entry-moved', ...broken(first, 1) });
    expect(report.problem?.message).toContain(`sealed as entry ${first[3]}`);
  });

  it('an entry inserted into a sealed range', async () => {
    const report = await verifyTampered(sql`
      insert into message_log (id, direction, event, partner_id, status, txid)
      overriding system value
      select ${at(first, 0) + 1_000_000n}, 'inbound', 'received', 'BUYER-A', 'accepted', txid
      from message_log where id = ${at(first, 0)}`);
    expect(report.problem).toMatchObject({
      code: 'entry-unexpected',
      seal: sealOf.get(first[0]!),
      entry: String(at(first, 0) + 1_000_000n),
    });
  });

  it('an entry moved into another seal by its transaction id', async () => {
    const report = await verifyTampered(
      sql`update message_log set txid = (select txid from message_log where id = ${at(second, 0)}) where id = ${at(first, 4)}`,
    );
    expect(report.problem).toMatchObject({ code: 'entry-missing', ...broken(first, 4) });
  });

  it('a seal whose root was replaced (it no longer matches its signature)', async () => {
    const report = await verifyTampered(
      sql`update audit_seals set merkle_root = repeat('a', 64) where seq = 2`,
    );
    expect(report.problem).toMatchObject({ code: 'seal-altered', seal: '2', entry: null });
  });

  it("a seal carrying another seal's signature", async () => {
    const report = await verifyTampered(
      sql`update audit_seals set signature = (select signature from audit_seals where seq = 2) where seq = 1`,
    );
    expect(report.problem).toMatchObject({ code: 'seal-altered', seal: '1' });
  });

  it('a seal forged over altered entries, signed with a key that is not the gateway’s', async () => {
    const forger = await createSigner(generateKeyPairSync('ed25519').privateKey);
    const report = await verifyTampered(
      sql`update message_log set status = 'forged' where id = ${at(second, 0)}`,
      async (trx) => {
        // Recompute everything as the sealer would, for the seal over the altered entry.
        const seal = await trx
          .selectFrom('audit_seals')
          .select([
            sql<string>`from_txid::text`.as('from'),
            sql<string>`to_txid::text`.as('to'),
            'prev_hash',
            'first_id',
            'last_id',
            'sealed_at',
          ])
          .where('seq', '=', 2n)
          .executeTakeFirstOrThrow();
        const entries = await entriesForSealing(trx, { fromTxid: seal.from, toTxid: seal.to });
        const leaves = entries.map((e) => ({ id: e.id, digest: entryDigest(e) }));
        const fields = {
          seq: '2',
          fromTxid: seal.from,
          toTxid: seal.to,
          firstId: seal.first_id.toString(),
          lastId: seal.last_id.toString(),
          count: leaves.length,
          merkleRoot: merkleTree(leaves.map((l) => l.digest)).root,
          prevHash: seal.prev_hash,
          sealedAt: seal.sealed_at.toISOString(),
          keyId: forger.keyId,
        };
        await trx
          .updateTable('audit_seals')
          .set({
            merkle_root: fields.merkleRoot,
            key_id: fields.keyId,
            seal_hash: sealHash(fields),
            signature: forger.sign(sealPayload(fields)),
            leaves: packLeaves(leaves),
          })
          .where('seq', '=', 2n)
          .execute();
      },
    );
    expect(report.problem).toMatchObject({ code: 'seal-signature', seal: '2', entry: null });
  });

  it("a seal's entry list rewritten", async () => {
    const report = await verifyTampered(
      sql`update audit_seals set leaves = substring(leaves from 41) where seq = 1`,
    );
    expect(report.problem).toMatchObject({ code: 'seal-entries', seal: '1' });
  });

  it('a deleted seal: the chain breaks at the next one', async () => {
    expect(
      (await verifyTampered(sql`delete from audit_seals where seq = 1`)).problem,
    ).toMatchObject({ code: 'seal-chain', seal: '2' });
  });

  it('names the first broken seal when several are broken', async () => {
    const report = await verifyTampered(
      sql`delete from message_log where id = ${at(second, 0)}`,
      sql`update message_log set digest = repeat('1', 64) where id = ${at(first, 3)}`,
    );
    expect(report.problem).toMatchObject({ code: 'entry-altered', ...broken(first, 3) });
  });

  it('leaves the log as it was after each case', async () => {
    expect((await verifyAuditLog(db)).ok).toBe(true);
  });
});

describe('export and offline verification', () => {
  async function exportAll(
    filter: Parameters<typeof exportPage>[1],
    pageEntries = 3,
  ): Promise<ExportRecord[]> {
    const records: ExportRecord[] = [];
    let cursor: string | undefined;
    do {
      const page = await exportPage({ db, gatewayId: 'NAKADACHI' }, filter, cursor, pageEntries);
      records.push(...page.records);
      cursor = page.nextCursor ?? undefined;
    } while (cursor !== undefined);
    return records;
  }
  const lines = (records: readonly unknown[]) => records.map((r) => JSON.stringify(r));

  it('round-trips: every entry of every seal, paged, verifies offline', async () => {
    const records = await exportAll({});
    const report = await verifyExport(lines(records));
    expect(report).toMatchObject({
      ok: true,
      complete: true,
      keys: 'file',
      entries: (await logIds()).length,
      problem: null,
    });
    expect(records[0]).toMatchObject({ record: 'header', complete: true, unsealed: 0 });
    expect(records.at(-1)).toMatchObject({ record: 'end', entries: report.entries });
  });

  it('exports one partner in a period, with the seals that cover its entries', async () => {
    const records = await exportAll({
      partnerId: seller.id,
      from: new Date(Date.now() - 3_600_000),
    });
    const entries = records.filter((r) => r.record === 'entry');
    expect(entries.length).toBeGreaterThan(0);
    expect(entries.every((r) => r.entry.partnerId === seller.id)).toBe(true);
    expect(await verifyExport(lines(records))).toMatchObject({ ok: true, complete: false });
    const none = await exportAll({ partnerId: 'NOBODY' });
    expect(none.map((r) => r.record)).toEqual(['header', 'keys', 'end']);
  });

  it('checks against keys the auditor trusts, and refuses others', async () => {
    const records = await exportAll({});
    const jwks = (await (await gateway.app.request('/.well-known/jwks.json')).json()) as {
      keys: never[];
    };
    expect(await verifyExport(lines(records), jwks.keys)).toMatchObject({
      ok: true,
      keys: 'given',
    });
    const stranger = (await createSigner(generateKeyPairSync('ed25519').privateKey)).publicJwk;
    expect((await verifyExport(lines(records), [stranger])).problem).toMatchObject({
      code: 'seal-signature',
      seal: '1',
    });
  });

  it('detects a file altered after export', async () => {
    const records = await exportAll({});
    const entryAt = records.findIndex((r) => r.record === 'entry' && r.body !== null);
    const entry = records[entryAt] as Extract<ExportRecord, { record: 'entry' }>;
    const cases: [string, unknown[], Record<string, unknown>][] = [
      [
        'a body',
        records.with(entryAt, { ...entry, body: Buffer.from('{"forged":1}').toString('base64') }),
        { code: 'entry-altered', entry: entry.entry.id },
      ],
      [
        'a field',
        records.with(entryAt, { ...entry, entry: { ...entry.entry, status: 'forged' } }),
        { code: 'entry-altered', entry: entry.entry.id },
      ],
      ['an entry left out', records.toSpliced(entryAt, 1), { code: 'entry-missing' }],
      [
        'a seal',
        records.map((r) =>
          r.record === 'seal' && r.seq === '1' ? { ...r, count: r.count + 1 } : r,
        ),
        { code: 'seal-altered', seal: '1' },
      ],
      ['the end', records.slice(0, -1), { code: 'export-format' }],
      ['the header', records.slice(1), { code: 'export-format' }],
    ];
    for (const [what, altered, problem] of cases) {
      const report = await verifyExport(lines(altered));
      expect(report.ok, what).toBe(false);
      expect(report.problem, what).toMatchObject(problem);
    }
  });

  it('exports over HTTP as NDJSON, and an export of a tampered log does not verify', async () => {
    const response = await gateway.admin('GET', '/admin/v1/audit/export');
    expect(response.headers.get('content-type')).toMatch(/application\/x-ndjson/);
    const text = await response.text();
    expect((await verifyExport(text.split('\n'))).ok).toBe(true);

    let records: ExportRecord[] = [];
    try {
      await db.transaction().execute(async (trx) => {
        await sql`alter table message_log disable trigger message_log_append_only`.execute(trx);
        await sql`update message_log set body = convert_to('x', 'UTF8') where id = ${at(first, 0)}`.execute(
          trx,
        );
        records = (await exportPage({ db: trx, gatewayId: 'NAKADACHI' }, {}, undefined, 1000))
          .records;
        throw new Rollback();
      });
    } catch (error) {
      if (!(error instanceof Rollback)) throw error;
    }
    expect((await verifyExport(lines(records))).problem).toMatchObject({
      code: 'entry-altered',
      entry: first[0],
    });
  });
});

describe('the admin API and the job', () => {
  it('reports status, verifies, seals on demand', async () => {
    await enqueueNoAwards(db, testOutboxDeps(), buyer.id, 1);
    const status = (await (await gateway.admin('GET', '/admin/v1/audit/status')).json()) as {
      unsealed: number;
    };
    expect(status.unsealed).toBeGreaterThanOrEqual(1);
    const sealed = await gateway.admin('POST', '/admin/v1/audit/seal');
    expect(sealed.status).toBe(200);
    const verify = await gateway.admin('GET', '/admin/v1/audit/verify');
    expect(await verify.json()).toMatchObject({ ok: true, problem: null });
  });

  it('runs as the seal-audit job of the scheduler', async () => {
    const jobs = await startGatewayJobs(
      gateway.config,
      gateway.database,
      createLogger('silent'),
      gateway.services.pipeline,
    );
    try {
      await enqueueNoAwards(db, testOutboxDeps(), buyer.id, 2);
      // Sealing stops at the oldest transaction still running on the server (its xmin): on a
      // PostgreSQL shared with other test files, one of theirs may hold it back for a while.
      // Woken again while waiting, the job seals as soon as it can.
      await eventually(
        async () => {
          jobs.scheduler.wake(SEAL_AUDIT);
          return (await auditStatus(db)).unsealed === 0;
        },
        'the job to seal',
        30_000,
        200,
      );
    } finally {
      await jobs.stop();
    }
    expect((await verifyAuditLog(db)).ok).toBe(true);
  });
});
