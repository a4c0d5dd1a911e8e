/**
 * `nakadachi convert`, the onboarding tool: a partner's UBL document shown as the canonical
 * document it becomes, offline with an alias file or with the aliases an operator registered
 * (partner alias-add), precise errors and exit codes; and canonical documents shown in UBL.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../gateway/config.ts';
import { createLogger } from '../../gateway/logger.ts';
import { startGateway } from '../../gateway/main.ts';
import { runCaptured } from '../support/cli.ts';
import { onPostgres } from '../support/database.ts';
import { UBL_EXAMPLES } from '../support/ubl.ts';

const dirs: string[] = [];
function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nakadachi-convert-'));
  dirs.push(dir);
  return dir;
}
afterAll(() => {
  for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
});

const ALIASES = path.join(import.meta.dirname, '../fixtures/ubl/example-aliases.json');
const example = (name: string) => path.join(UBL_EXAMPLES, name);

function cli(argv: string[], env: Record<string, string> = { DATA_DIR: tempDir() }) {
  return runCaptured(argv, env);
}

/** convert --from ubl of an OASIS example, with the example aliases. */
function fromUbl(name: string, to: 'json' | 'xml', ...extra: string[]) {
  return cli([
    'convert',
    '--from',
    'ubl',
    '--to',
    to,
    example(name),
    '--aliases',
    ALIASES,
    ...extra,
  ]);
}

describe('convert --from ubl', () => {
  it('shows the canonical documents a UBL document becomes, offline', async () => {
    const result = await fromUbl('UBL-Quotation-2.1-Example.xml', 'json', '--json');
    expect(result.code, result.stderr).toBe(0);
    const shown = JSON.parse(result.stdout) as {
      converted: boolean;
      documents: { header: Record<string, string>; body: Record<string, unknown> }[];
    };
    expect(shown.converted).toBe(true);
    expect(shown.documents.map((d) => [d.header.sender, d.body.note, d.body.unitPrice])).toEqual([
      ['DELCOMPUTER', 'Computer', { amount: '4300.00', currency: 'DKK' }],
      ['DELCOMPUTER', 'Skærm', { amount: '1250.00', currency: 'DKK' }],
      ['DELCOMPUTER', 'Mus', { amount: '50.00', currency: 'DKK' }],
      ['DELCOMPUTER', 'Tastatur', { amount: '50.00', currency: 'DKK' }],
    ]);
  });

  it('writes the gateway XML, and notes what only the gateway fills in', async () => {
    const result = await fromUbl(
      'UBL-TransportationStatus-2.1-Example.xml',
      'xml',
      '--as',
      'CARRIER-X',
    );
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain('<DeliveryStatus xmlns="urn:nakadachi:1">');
    expect(result.stdout).toContain('<Status>in-transit</Status>');
    const despatch = await fromUbl('UBL-DespatchAdvice-2.0-Example.xml', 'json');
    expect(despatch.code).toBe(0);
    expect(despatch.stderr).toBe(
      '/body/carrier: note: not in the document: the gateway takes it from order AEG012345',
    );
  });

  it('fails with each problem at its path and the UBL path expected', async () => {
    const dir = tempDir();
    const broken = path.join(dir, 'rfq.xml');
    fs.writeFileSync(
      broken,
      fs
        .readFileSync(example('UBL-RequestForQuotation-2.1-Example.xml'), 'utf8')
        .replace(/<cbc:SubmissionDueDate>[^<]*<\/cbc:SubmissionDueDate>/, '')
        .replace('5798000416604</cbc:EndpointID>', '5798000000000</cbc:EndpointID>')
        .replace('5798000416604</cbc:ID>', '5798000000000</cbc:ID>'),
    );
    const result = await cli([
      'convert',
      '--from',
      'ubl',
      '--to',
      'json',
      broken,
      '--aliases',
      ALIASES,
    ]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(
      '/header/sender: UNKNOWN_PARTY: no registered partner is known by GLN 5798000000000',
    );
    expect(result.stderr).toContain(
      '/body/biddingDeadline: UBL_FIELD_MISSING: PurchaseReservation needs body/biddingDeadline: expected cbc:SubmissionDueDate',
    );
    expect(result.stderr).toContain('not converted');
  });

  it("shows a carrier's transport execution plan as the TransportTerms it becomes", async () => {
    const plan = path.join(tempDir(), 'plan.xml');
    const ubl = 'urn:oasis:names:specification:ubl:schema:xsd:';
    fs.writeFileSync(
      plan,
      `<TransportExecutionPlan xmlns="${ubl}TransportExecutionPlan-2" xmlns:cac="${ubl}CommonAggregateComponents-2" xmlns:cbc="${ubl}CommonBasicComponents-2">
  <cbc:ID>TEP-9</cbc:ID><cbc:IssueDate>2036-02-23</cbc:IssueDate>
  <cac:TransportUserParty/>
  <cac:TransportServiceProviderParty><cbc:EndpointID schemeID="NAKADACHI">CARRIER-X</cbc:EndpointID></cac:TransportServiceProviderParty>
  <cac:TransportExecutionPlanRequestDocumentReference><cbc:ID>TND-1</cbc:ID></cac:TransportExecutionPlanRequestDocumentReference>
  <cac:ServiceStartTimePeriod><cbc:StartDate>2036-04-01</cbc:StartDate></cac:ServiceStartTimePeriod>
  <cac:ServiceEndTimePeriod><cbc:EndDate>2036-04-03</cbc:EndDate></cac:ServiceEndTimePeriod>
  <cac:Consignment><cbc:ID>1</cbc:ID><cac:FreightAllowanceCharge><cbc:ChargeIndicator>true</cbc:ChargeIndicator><cbc:Amount currencyID="JPY">88000</cbc:Amount></cac:FreightAllowanceCharge></cac:Consignment>
</TransportExecutionPlan>`,
    );
    const result = await cli([
      'convert',
      '--from',
      'ubl',
      '--to',
      'json',
      plan,
      '--aliases',
      ALIASES,
    ]);
    expect(result.code, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({
      header: {
        type: 'TransportTerms',
        messageId: 'TEP-9',
        sentAt: '2036-02-23T00:00:00Z',
        sender: 'CARRIER-X',
      },
      body: {
        tenderId: 'TND-1',
        fee: { amount: '88000', currency: 'JPY' },
        pickupDate: '2036-04-01',
        deliveryDate: '2036-04-03',
      },
    });
  });

  it('refuses bad usage with exit code 2', async () => {
    for (const argv of [
      ['convert', '--from', 'ubl', '--to', 'json'],
      [
        'convert',
        '--from',
        'edifact',
        '--to',
        'json',
        example('UBL-Order-2.1-Example.xml'),
        '--aliases',
        ALIASES,
      ],
      ['convert', '--from', 'ubl', '--to', 'json', '/nonexistent.xml', '--aliases', ALIASES],
    ]) {
      expect((await cli(argv)).code, argv.join(' ')).toBe(2);
    }
  });
});

describe('convert --to ubl', () => {
  it('shows a canonical document as the gateway writes it in UBL', async () => {
    const award = path.join(import.meta.dirname, '../../schemas/examples/Award.json');
    const result = await cli(['convert', '--from', 'json', '--to', 'ubl', award]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain(
      '<OrderResponse xmlns="urn:oasis:names:specification:ubl:schema:xsd:OrderResponse-2"',
    );
    expect(result.stdout).toContain('<cbc:SalesOrderID>DEAL-002204</cbc:SalesOrderID>');
    const echeck = path.join(import.meta.dirname, '../../schemas/examples/ECheck.xml');
    const none = await cli(['convert', '--from', 'xml', '--to', 'ubl', echeck]);
    expect(none.code).toBe(1);
    expect(none.stderr).toContain('UBL has no document for ECheck');
  });

  it('writes the item feed as a catalogue, and has no UBL for settlement instructions', async () => {
    const examples = path.join(import.meta.dirname, '../../schemas/examples');
    const feed = await cli([
      'convert',
      '--from',
      'json',
      '--to',
      'ubl',
      `${examples}/ItemFeed.json`,
    ]);
    expect(feed.code, feed.stderr).toBe(0);
    expect(feed.stdout).toContain(
      '<Catalogue xmlns="urn:oasis:names:specification:ubl:schema:xsd:Catalogue-2"',
    );
    expect(feed.stdout.match(/<cac:CatalogueLine>/g)).toHaveLength(3);
    const instruction = await cli([
      'convert',
      '--from',
      'xml',
      '--to',
      'ubl',
      `${examples}/SettlementInstruction.xml`,
    ]);
    expect(instruction.code).toBe(1);
    expect(instruction.stderr).toContain('UBL has no document for SettlementInstruction');
  });

  it('says why an empty feed has no UBL form instead of failing', async () => {
    const example = JSON.parse(
      fs.readFileSync(
        path.join(import.meta.dirname, '../../schemas/examples/ItemFeed.json'),
        'utf8',
      ),
    ) as { body: { items: unknown[] } };
    example.body.items = [];
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'convert-')), 'empty.json');
    fs.writeFileSync(file, JSON.stringify(example));
    const empty = await cli(['convert', '--from', 'json', '--to', 'ubl', file]);
    expect(empty.code).toBe(1);
    expect(empty.stderr).toContain('this ItemFeed has no UBL form');
    expect(empty.stderr).not.toContain('internal');
  });
});

// The CLI uses its own embedded database either way: once is enough.
describe.skipIf(onPostgres)('aliases from the gateway', () => {
  // Starts a gateway on a fresh embedded database (migrations included): slow on a busy machine.
  it(
    'are registered with partner alias-add and used by convert without a file',
    { timeout: 90_000 },
    async () => {
      const env = { DATA_DIR: tempDir() };
      // A running gateway holds the database: the CLI goes through its admin API (one open).
      const gateway = await startGateway(
        loadConfig({ ...env, PORT: '0', HOST: '127.0.0.1', ROLE: 'api', LOG_LEVEL: 'silent' }),
        { logger: createLogger('silent') },
      );
      try {
        for (const argv of [
          [
            'partner',
            'add',
            '--id',
            'MODERNA',
            '--name',
            'Moderna',
            '--roles',
            'seller',
            '--format',
            'ubl',
          ],
          [
            'partner',
            'alias-add',
            '--id',
            'MODERNA',
            '--scheme',
            'gln',
            '--value',
            '7302347231111',
          ],
        ]) {
          const result = await cli(argv, env);
          expect(result.code, result.stderr).toBe(0);
        }
        expect((await cli(['partner', 'aliases', '--id', 'MODERNA'], env)).stdout).toContain(
          'GLN     7302347231111',
        );
        expect((await cli(['partner', 'show', '--id', 'MODERNA'], env)).stdout).toMatch(
          /sends\s+ubl/,
        );
        const result = await cli(
          [
            'convert',
            '--from',
            'ubl',
            '--to',
            'json',
            example('UBL-OrderResponse-2.1-Example.xml'),
          ],
          env,
        );
        expect(result.code, result.stderr).toBe(0);
        expect(JSON.parse(result.stdout)).toMatchObject({
          header: { sender: 'MODERNA', messageId: '7' },
          body: { dealId: '34' },
        });
        const removed = await cli(
          [
            'partner',
            'alias-remove',
            '--id',
            'MODERNA',
            '--scheme',
            'GLN',
            '--value',
            '7302347231111',
          ],
          env,
        );
        expect(removed.stdout).toBe('GLN 7302347231111 no longer names partner MODERNA');
      } finally {
        await gateway.stop();
      }
    },
  );
});
