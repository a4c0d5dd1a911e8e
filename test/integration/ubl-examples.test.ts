/**
 * The OASIS UBL examples, unmodified, sent by the partners they name (registered with format
 * ubl and only the aliases the examples use): through POST /v1/documents each is answered with
 * a signed UBL ApplicationResponse, and dropped as a file each gets a receipt file entry — and
 * every one is either accepted or refused for a business reason (the examples date from
 * 2005–2010 and refer to orders, deals and RFQs this gateway never saw), never for a mapping or
 * namespace error. The log keeps the bytes as sent, the canonical form beside them.
 */
import fs from 'node:fs';
import { compactVerify, createLocalJWKSet } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listPublicKeys } from '../../gateway/core/signing/signing-keys.repository.ts';
import { readReceipts, sha256 } from '../support/batches.ts';
import { post } from '../support/documents.ts';
import {
  dropFile,
  prepareDropFolders,
  receiptOfFile,
  scanDropFolders,
  tempRoot,
} from '../support/file-drop.ts';
import { startTestGateway, type RegisteredPartner, type TestGateway } from '../support/gateway.ts';
import {
  EXAMPLE_SENDERS,
  registerExampleParties,
  rootOf,
  UBL_EXAMPLES,
  ublExample,
  ublReceipt,
} from '../support/ubl.ts';

let gateway: TestGateway;
let root: string;
let partners: Record<string, RegisteredPartner>;

beforeAll(async () => {
  root = tempRoot();
  gateway = await startTestGateway({ FILE_DROP_ROOT: root });
  partners = await registerExampleParties(gateway);
});

afterAll(async () => {
  await gateway.close();
  fs.rmSync(root, { recursive: true, force: true });
});

/** Why each example is refused: the business reason, as the receipt states it. */
const REFUSALS: Record<string, { status: number; code: string; path: string; message: RegExp }> = {
  'UBL-RequestForQuotation-2.1-Example.xml': {
    status: 422,
    code: 'BUSINESS_RULE',
    path: '/body/biddingDeadline',
    message: /bidding deadline must be in the future/,
  },
  'UBL-Quotation-2.1-Example.xml': {
    status: 404,
    code: 'NOT_FOUND',
    path: '/body/reservationId',
    message: /no reservation G867B/,
  },
  'UBL-Order-2.1-Example.xml': {
    status: 422,
    code: 'ECHECK_MISSING',
    path: '/body/checkNumber',
    message: /not paid by an e-check/,
  },
  'UBL-OrderResponse-2.1-Example.xml': {
    status: 404,
    code: 'NOT_FOUND',
    path: '/body/dealId',
    message: /no deal 34/,
  },
  'UBL-DespatchAdvice-2.0-Example.xml': {
    status: 404,
    code: 'NOT_FOUND',
    path: '/body/orderId',
    message: /no order AEG012345 of yours/,
  },
  'UBL-ReceiptAdvice-2.0-Example.xml': {
    status: 404,
    code: 'NOT_FOUND',
    path: '/body/orderId',
    message: /no order AEG012345/,
  },
  'UBL-TransportationStatus-2.1-Example.xml': {
    status: 404,
    code: 'NOT_FOUND',
    path: '/body/orderId',
    message: /no order XYZ987/,
  },
};

/** Codes that would mean the adapter failed to read the document: never acceptable here. */
const READING_FAILURES = [
  'SCHEMA_VIOLATION',
  'MALFORMED_DOCUMENT',
  'UBL_FIELD_MISSING',
  'UBL_VALUE_INVALID',
  'UNSUPPORTED_DOCUMENT_TYPE',
  'UNKNOWN_PARTY',
  'UNKNOWN_ITEM',
  'SENDER_MISMATCH',
  'ROLE_NOT_ALLOWED',
];

describe('POST /v1/documents', () => {
  it('covers every example', () => {
    const files = fs.readdirSync(UBL_EXAMPLES).filter((f) => f.endsWith('.xml'));
    expect(files.sort()).toEqual(Object.keys(REFUSALS).sort());
  });

  it.each(Object.entries(REFUSALS))(
    '%s is refused for its business reason only',
    async (file, refusal) => {
      const bytes = ublExample(file);
      const sender = EXAMPLE_SENDERS[file]!;
      const response = await post(gateway.app, partners[sender]!.apiKey, bytes, 'application/xml');
      const text = await response.text();
      expect(response.status, text).toBe(refusal.status);
      expect(response.headers.get('content-type')).toMatch(/^application\/xml/);
      expect(rootOf(text).name).toBe('ApplicationResponse');

      const receipt = await ublReceipt(text);
      expect(receipt.body).toMatchObject({ status: 'rejected', sender, digest: sha256(bytes) });
      const errors = receipt.body.errors as { path: string; code: string; message: string }[];
      expect(errors[0]).toMatchObject({ code: refusal.code, path: refusal.path });
      expect(errors[0]?.message).toMatch(refusal.message);
      for (const error of errors) expect(READING_FAILURES).not.toContain(error.code);

      // The receipt's signature verifies with the published keys and covers the bytes sent.
      const jwks = createLocalJWKSet({ keys: await listPublicKeys(gateway.database.db) });
      const { payload } = await compactVerify(String(receipt.body.signature), jwks);
      expect(JSON.parse(new TextDecoder().decode(payload))).toMatchObject({
        digest: sha256(bytes),
        status: 'rejected',
      });
    },
  );

  it('logs the bytes as sent and the canonical documents beside them', async () => {
    const file = 'UBL-Quotation-2.1-Example.xml';
    const bytes = ublExample(file);
    await post(gateway.app, partners.DELCOMPUTER!.apiKey, bytes, 'application/xml');
    const entry = await gateway.database.db
      .selectFrom('message_log')
      .select(['body', 'digest', 'message_id', 'document_type', 'detail'])
      .where('partner_id', '=', 'DELCOMPUTER')
      .where('message_id', '=', 'QIY7655')
      .orderBy('id', 'desc')
      .executeTakeFirstOrThrow();
    expect(Buffer.from(entry.body!).toString('utf8')).toBe(bytes);
    expect(entry.digest).toBe(sha256(bytes));
    expect(entry.document_type).toBe('OrderBid');
    const canonical = (entry.detail as { canonical: { body: Record<string, unknown> }[] })
      .canonical;
    expect(canonical.map((d) => d.body.unitPrice)).toEqual([
      { amount: '4300.00', currency: 'DKK' },
      { amount: '1250.00', currency: 'DKK' },
      { amount: '50.00', currency: 'DKK' },
      { amount: '50.00', currency: 'DKK' },
    ]);
  });

  it('still reads the gateway XML from a UBL partner, and JSON', async () => {
    const notice = fs
      .readFileSync(new URL('../../schemas/examples/ItemNotice.xml', import.meta.url), 'utf8')
      .replaceAll('SELLER-A', 'MODERNA')
      .replace('KA-HX9-BLK', 'NATIVE-XML-1')
      .replace('4901234567894', '4901234567801');
    const response = await post(gateway.app, partners.MODERNA!.apiKey, notice, 'application/xml');
    const text = await response.text();
    expect(response.status, text).toBe(200);
    expect((await ublReceipt(text)).body).toMatchObject({ status: 'accepted' });
  });

  it('refuses a UBL document from a partner not registered for UBL', async () => {
    const patch = await gateway.admin('PATCH', '/admin/v1/partners/MODERNA', {
      inboundFormat: 'xml',
    });
    expect(patch.status).toBe(200);
    try {
      const response = await post(
        gateway.app,
        partners.MODERNA!.apiKey,
        ublExample('UBL-OrderResponse-2.1-Example.xml'),
        'application/xml',
      );
      expect(response.status).toBe(400);
      expect(await response.text()).toContain('urn:nakadachi:1');
    } finally {
      await gateway.admin('PATCH', '/admin/v1/partners/MODERNA', { inboundFormat: 'ubl' });
    }
  });
});

describe('file drop', () => {
  it('takes every example dropped by its sender, each refused for its business reason only', async () => {
    const senders = [...new Set(Object.values(EXAMPLE_SENDERS))];
    await prepareDropFolders(root, senders);
    for (const [file, sender] of Object.entries(EXAMPLE_SENDERS)) {
      dropFile(root, sender, file, ublExample(file));
    }
    await scanDropFolders(gateway, root, senders);
    for (const [file, sender] of Object.entries(EXAMPLE_SENDERS)) {
      const entries = readReceipts(await receiptOfFile(root, sender, file, 2000), 'xml');
      expect(entries, file).toHaveLength(1);
      expect(entries[0], file).toMatchObject({
        kind: 'receipt',
        status: 'rejected',
        digest: sha256(ublExample(file)),
      });
      expect(entries[0]?.codes[0], file).toBe(REFUSALS[file]?.code);
      for (const code of entries[0]?.codes ?? []) expect(READING_FAILURES).not.toContain(code);
    }
  });
});
