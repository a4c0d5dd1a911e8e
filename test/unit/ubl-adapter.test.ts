/**
 * The UBL adapter against the real OASIS examples (../shared/ubl-examples, unmodified): each
 * converts, with only the example's party and item aliases, to the canonical documents written
 * out here field by field; every inbound and outbound mapping round-trips and writes documents
 * that keep the declared UBL 2.1 structure; every document the gateway sends has a UBL form but
 * the four UBL has no document for; namespaces are resolved, not matched as prefixes; and what
 * cannot be read is refused with the UBL path that was expected.
 */
import { mkdtempSync, readdirSync, readFileSync, writeFileSync, cpSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { aliasDirectory, parseAliasFile } from '../../adapters/ubl/alias-file.ts';
import { decodeWithMapping, type EngineContext } from '../../adapters/ubl/engine.ts';
import { DEFAULT_MAPPINGS_DIR, loadMappings } from '../../adapters/ubl/mapping.ts';
import { createUblAdapter } from '../../adapters/ubl/ubl-adapter.ts';
import { structureProblems } from '../../adapters/ubl/structure.ts';
import { parseUbl } from '../../adapters/ubl/ubl-xml.ts';
import type { CanonicalDocument } from '../../gateway/core/document.ts';
import type { PartnerDirectory } from '../../gateway/core/partners/identification.ts';
import { OUTBOUND_TYPES } from '../../schemas/document-types.ts';
import { createSchemaRegistry } from '../../schemas/registry.ts';

export const UBL_EXAMPLES = fileURLToPath(
  new URL('../../../shared/ubl-examples/', import.meta.url),
);
const FIXTURES = fileURLToPath(new URL('../fixtures/ubl/', import.meta.url));
const SCHEMA_EXAMPLES = fileURLToPath(new URL('../../schemas/examples/', import.meta.url));

const registry = createSchemaRegistry();
const ubl = createUblAdapter(registry);
const aliases = aliasDirectory(
  parseAliasFile(JSON.parse(readFileSync(join(FIXTURES, 'example-aliases.json'), 'utf8'))),
);
const context: EngineContext = { directory: aliases, partnerId: 'CARRIER-X' };

function example(name: string): string {
  return readFileSync(join(UBL_EXAMPLES, name), 'utf8');
}

const reservation = (itemId: string, maxUnitPrice: string) => ({
  header: {
    type: 'PurchaseReservation',
    messageId: 'G867B',
    sentAt: '2008-04-19T11:32:26.0Z',
    sender: 'GENTOFTE',
  },
  body: {
    itemId,
    quantity: 35,
    maxUnitPrice: { amount: maxUnitPrice, currency: 'DKK' },
    neededBy: '2008-05-10',
    biddingDeadline: '2008-04-24T23:59:59Z',
    deliveryRegion: 'DK',
    buyerReference: 'G867B',
  },
});

const bid = (unitPrice: string, note: string) => ({
  header: {
    type: 'OrderBid',
    messageId: 'QIY7655',
    sentAt: '2008-05-01T11:32:26.0Z',
    sender: 'DELCOMPUTER',
  },
  body: {
    reservationId: 'G867B',
    action: 'submit',
    quantity: 35,
    unitPrice: { amount: unitPrice, currency: 'DKK' },
    promisedDeliveryDate: '2008-05-10',
    note,
  },
});

/** What each example is, as canonical documents; or, where the example itself lacks what the
 * canonical form needs, what it is so far and why the gateway refuses it. */
const EXPECTED: Record<string, { documents: unknown[] } | { partial: unknown; errors: unknown[] }> =
  {
    'UBL-RequestForQuotation-2.1-Example.xml': {
      documents: [
        reservation('ITM-DELL-T3400', '4500.00'),
        reservation('ITM-DELL-1908WFP', '1300.00'),
        reservation('ITM-DELL-MOUSE', '60.00'),
        reservation('ITM-DELL-KEYBOARD', '60.00'),
      ],
    },
    'UBL-Quotation-2.1-Example.xml': {
      documents: [
        bid('4300.00', 'Computer'),
        bid('1250.00', 'Skærm'),
        bid('50.00', 'Mus'),
        bid('50.00', 'Tastatur'),
      ],
    },
    'UBL-OrderResponse-2.1-Example.xml': {
      documents: [
        {
          header: {
            type: 'OrderConfirmation',
            messageId: '7',
            sentAt: '2010-01-21T12:30:00Z',
            sender: 'MODERNA',
          },
          body: {
            dealId: '34',
            decision: 'accept',
            reason: 'Information text for the whole order response',
          },
        },
      ],
    },
    'UBL-Order-2.1-Example.xml': {
      partial: {
        header: {
          type: 'CommodityOrder',
          messageId: '34',
          sentAt: '2010-01-20T12:30:00Z',
          sender: 'JOHNSSONS',
        },
        body: {
          orderReference: '34',
          seller: 'MODERNA',
          lines: [
            { itemId: 'ITM-FALU-RED', quantity: 120, unitPrice: { amount: '50', currency: 'SEK' } },
            { itemId: 'ITM-BRUSH-20', quantity: 15, unitPrice: { amount: '15', currency: 'SEK' } },
          ],
          total: { amount: '6225', currency: 'SEK' },
          distributionAddress: {
            name: 'Swedish trucking',
            line1: 'Rådhusgatan 5',
            line2: '2nd floor',
            city: 'Stockholm',
            region: 'RegionX',
            postalCode: '11000',
            country: 'SE',
          },
        },
      },
      errors: [
        expect.objectContaining({ path: '/body/checkNumber', code: 'ECHECK_MISSING' }),
        expect.objectContaining({ path: '/body/echeck', code: 'ECHECK_MISSING' }),
      ],
    },
    'UBL-DespatchAdvice-2.0-Example.xml': {
      partial: {
        header: {
          type: 'DistributionNotice',
          messageId: '565899',
          sentAt: '2005-06-20T00:00:00Z',
          sender: 'CONSORTIAL',
        },
        body: { orderId: 'AEG012345', expectedShipDate: '2005-06-20', note: 'sample' },
      },
      errors: [
        {
          path: '/body/carrier',
          code: 'RESOLVED_BY_GATEWAY',
          message: 'not in the document: the gateway takes it from order AEG012345',
        },
      ],
    },
    'UBL-ReceiptAdvice-2.0-Example.xml': {
      documents: [
        {
          header: {
            type: 'DeliveryComplete',
            messageId: '658398',
            sentAt: '2005-06-21T00:00:00Z',
            sender: 'IYT',
          },
          body: {
            orderId: 'AEG012345',
            deliveredAt: '2005-06-20T11:30:00.0Z',
            receivedBy: 'Mr Fred Churchill',
            note: 'sample',
          },
        },
      ],
    },
    'UBL-TransportationStatus-2.1-Example.xml': {
      documents: [
        {
          header: {
            type: 'DeliveryStatus',
            messageId: '1234',
            sentAt: '2010-08-12T20:22:00.0Z',
            sender: 'CARRIER-X',
          },
          body: { orderId: 'XYZ987', status: 'in-transit', at: '2010-08-12T20:22:00.0Z' },
        },
      ],
    },
  };

describe('the OASIS examples', () => {
  it('are all covered here', () => {
    const files = readdirSync(UBL_EXAMPLES).filter((f) => f.endsWith('.xml'));
    expect(files.sort()).toEqual(Object.keys(EXPECTED).sort());
  });

  it.each(Object.entries(EXPECTED))('%s converts field by field', async (file, expected) => {
    const result = await ubl.decode(example(file), context);
    if ('documents' in expected) {
      expect(result).toMatchObject({ ok: true });
      if (!result.ok) return;
      expect(result.derived).toEqual(expected.documents);
      expect(result.document).toEqual(expected.documents[0]);
    } else {
      expect(result.ok).toBe(false);
      if (result.ok) return;
      expect(result.decoded).toEqual(expected.partial);
      expect(result.errors).toEqual(expected.errors);
      // Never a mapping or namespace problem: the gateway would refuse these for business reasons.
      expect(result.code).not.toBe('SCHEMA_VIOLATION');
    }
  });

  it.each(Object.keys(EXPECTED).filter((f) => 'documents' in EXPECTED[f]!))(
    '%s round-trips: UBL → canonical → UBL keeps every mapped field',
    async (file) => {
      const first = await ubl.decode(example(file), context);
      if (!first.ok) throw new Error(JSON.stringify(first.errors));
      const root = parseUbl(example(file));
      if (!root.ok) throw new Error('unparseable example');
      for (const document of first.derived ?? []) {
        const mapping = ubl.mappings
          .inboundFor(root.root.name, 'OIOUBL-2.1')
          .find((m) => m.canonical === document.header.type);
        if (mapping === undefined) throw new Error('no mapping');
        const again = await ubl.decode(
          ubl.encodeWith(document, mapping, { pretty: true }),
          context,
        );
        expect(again).toMatchObject({ ok: true, document });
      }
    },
  );
});

describe('namespaces', () => {
  const order = example('UBL-OrderResponse-2.1-Example.xml');

  it('resolves prefixes from the declarations, whatever they are called', async () => {
    const renamed = order
      .replaceAll('xmlns:cbc=', 'xmlns:ns2=')
      .replaceAll('<cbc:', '<ns2:')
      .replaceAll('</cbc:', '</ns2:')
      .replace('<OrderResponse xmlns=', '<ubl:OrderResponse xmlns:ubl=')
      .replace('</OrderResponse>', '</ubl:OrderResponse>');
    const expected = await ubl.decode(order, context);
    expect(await ubl.decode(renamed, context)).toEqual(expected);
  });

  it('reads basic components in a default namespace declared on the element', async () => {
    const defaulted = order.replace(
      '<cbc:Note>Information text for the whole order response</cbc:Note>',
      '<Note xmlns="urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2">Information text for the whole order response</Note>',
    );
    const result = await ubl.decode(defaulted, context);
    expect(result).toMatchObject({
      ok: true,
      document: { body: { reason: 'Information text for the whole order response' } },
    });
  });

  it('does not take an element of another namespace for a UBL one', async () => {
    const foreign = order
      .replace('<cbc:Note>', '<x:Note xmlns:x="urn:example:other">')
      .replace('</cbc:Note>', '</x:Note>');
    const result = await ubl.decode(foreign, context);
    expect(result).toMatchObject({ ok: true });
    expect(result.ok && result.document.body.reason).toBeUndefined();
  });

  it('refuses a root outside its UBL namespace, and an undeclared prefix', async () => {
    const wrong = order.replace(
      'xmlns="urn:oasis:names:specification:ubl:schema:xsd:OrderResponse-2"',
      'xmlns="urn:oasis:names:specification:ubl:schema:xsd:Order-2"',
    );
    expect(await ubl.decode(wrong, context)).toMatchObject({
      ok: false,
      code: 'MALFORMED_DOCUMENT',
    });
    const undeclared = order.replace('<cbc:Note>', '<q:Note>').replace('</cbc:Note>', '</q:Note>');
    expect(await ubl.decode(undeclared, context)).toMatchObject({
      ok: false,
      code: 'MALFORMED_DOCUMENT',
      errors: [{ message: expect.stringContaining('prefix "q"') }],
    });
  });
});

describe('what cannot be read', () => {
  it('checks UBLVersionID', async () => {
    const result = await ubl.decode(
      example('UBL-OrderResponse-2.1-Example.xml').replace(
        '<cbc:UBLVersionID>2.1<',
        '<cbc:UBLVersionID>3.0<',
      ),
      context,
    );
    expect(result).toMatchObject({
      ok: false,
      code: 'MALFORMED_DOCUMENT',
      errors: [{ message: expect.stringContaining('3.0') }],
    });
  });

  it('names the UBL documents it reads when given another', async () => {
    const invoice =
      '<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"><ID xmlns="urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2">1</ID></Invoice>';
    expect(await ubl.decode(invoice, context)).toMatchObject({
      ok: false,
      code: 'UNSUPPORTED_DOCUMENT_TYPE',
      errors: [{ message: expect.stringContaining('RequestForQuotation') }],
    });
  });

  it('keeps the codec safety: a DTD is refused before parsing', async () => {
    const doctype = example('UBL-OrderResponse-2.1-Example.xml').replace(
      '<OrderResponse',
      '<!DOCTYPE x [<!ENTITY e "e">]><OrderResponse',
    );
    expect(await ubl.decode(doctype, context)).toMatchObject({
      ok: false,
      code: 'MALFORMED_DOCUMENT',
    });
  });

  it('names the UBL path a required canonical field was expected at', async () => {
    const noDeadline = example('UBL-RequestForQuotation-2.1-Example.xml').replace(
      /<cbc:SubmissionDueDate>[^<]*<\/cbc:SubmissionDueDate>/,
      '',
    );
    const result = await ubl.decode(noDeadline, context);
    expect(result).toMatchObject({ ok: false, code: 'SCHEMA_VIOLATION' });
    expect(!result.ok && result.errors[0]).toEqual({
      path: '/body/biddingDeadline',
      code: 'UBL_FIELD_MISSING',
      message: 'PurchaseReservation needs body/biddingDeadline: expected cbc:SubmissionDueDate',
    });
  });

  it('names the line of a split document', async () => {
    const noPrice = example('UBL-Quotation-2.1-Example.xml').replace(
      '<cbc:PriceAmount currencyID="DKK">1250.00</cbc:PriceAmount>',
      '',
    );
    const result = await ubl.decode(noPrice, context);
    expect(!result.ok && result.errors).toEqual([
      expect.objectContaining({
        path: '/body/unitPrice',
        message: expect.stringContaining(
          'cac:QuotationLine[2]/cac:LineItem/cac:Price/cbc:PriceAmount',
        ),
      }),
    ]);
  });

  it('refuses an unknown party with the identifiers that failed', async () => {
    const stranger = example('UBL-OrderResponse-2.1-Example.xml').replaceAll(
      '7302347231111',
      '7302347239999',
    );
    expect(await ubl.decode(stranger, context)).toMatchObject({
      ok: false,
      code: 'NOT_FOUND',
      errors: [
        {
          path: '/header/sender',
          code: 'UNKNOWN_PARTY',
          message: expect.stringContaining('GLN 7302347239999'),
        },
      ],
    });
  });

  it('refuses an unknown item with the identifiers that failed', async () => {
    const unknown = example('UBL-Order-2.1-Example.xml')
      .replace('SItemNo011', 'SItemNo999')
      .replace('123452340123', '99999999');
    const result = await ubl.decode(unknown, context);
    expect(!result.ok && result.errors).toContainEqual({
      path: '/body/lines/1/itemId',
      code: 'UNKNOWN_ITEM',
      message: expect.stringContaining("MODERNA's item SItemNo999, GTIN 99999999"),
    });
  });

  it('reads a line item id as the seller item only in the OIOUBL dialect', async () => {
    const standard = example('UBL-RequestForQuotation-2.1-Example.xml').replace(
      '<cbc:CustomizationID>OIOUBL-2.1</cbc:CustomizationID>',
      '',
    );
    const result = await ubl.decode(standard, context);
    expect(!result.ok && result.errors[0]).toMatchObject({
      path: '/body/itemId',
      code: 'UBL_FIELD_MISSING',
      message: expect.stringContaining('carries no item identifier'),
    });
  });

  it('converts units and refuses a part of one', async () => {
    const dozens = example('UBL-Order-2.1-Example.xml').replace(
      'unitCode="C62">15<',
      'unitCode="DZN">15<',
    );
    const result = await ubl.decode(dozens, context);
    expect(!result.ok && result.decoded).toMatchObject({
      body: { lines: [{ quantity: 120 }, { quantity: 180 }] },
    });
    const half = example('UBL-Order-2.1-Example.xml').replace(
      'unitCode="C62">15<',
      'unitCode="C62">15.5<',
    );
    const refused = await ubl.decode(half, context);
    expect(!refused.ok && refused.errors).toContainEqual(
      expect.objectContaining({ path: '/body/lines/1/quantity', code: 'UBL_VALUE_INVALID' }),
    );
  });
});

/** Knows every gateway-scheme party and every catalogue item id: what outbound documents carry. */
const gatewayIds: PartnerDirectory = {
  findParty: (ids) => Promise.resolve(ids.find((i) => i.scheme === 'NAKADACHI')?.value),
  findItem: ({ itemIds }) =>
    Promise.resolve(itemIds[0] === undefined ? undefined : { itemId: itemIds[0] }),
};

function schemaExample(type: string): CanonicalDocument {
  return JSON.parse(
    readFileSync(join(SCHEMA_EXAMPLES, `${type}.json`), 'utf8'),
  ) as CanonicalDocument;
}

/**
 * The documents the gateway sends: its outbound types and the partners' documents it forwards
 * re-addressed (sender the gateway, header.recipient the partner).
 */
const FORWARDED = [
  'CommodityOrder',
  'DistributionNotice',
  'DistributionInstruction',
  'DeliverySchedule',
  'PaymentNotice',
  'DeliveryStatus',
  'DeliveryComplete',
] as const;

/** No UBL 2.1 document fits these (README, "The mappings"): they reach UBL partners as XML. */
const WITHOUT_UBL = [
  'ECheck',
  'SettlementRequest',
  'SettlementCommission',
  'SettlementInstruction',
];

describe('outbound documents', () => {
  const outbound = ubl.mappings.all.filter((m) => m.direction !== 'inbound');

  it('cover every document the gateway sends but those UBL has no document for', () => {
    const sent = [...OUTBOUND_TYPES, ...FORWARDED];
    expect(sent.filter((type) => ubl.mappings.outboundFor(type) === undefined).sort()).toEqual(
      [...WITHOUT_UBL].sort(),
    );
  });

  it.each(outbound.map((m) => [m.canonical, m] as const))(
    '%s is written in the declared UBL structure and reads back the same',
    async (type, mapping) => {
      const example = schemaExample(type);
      const doc: CanonicalDocument = {
        ...example,
        header: { ...example.header, sender: 'NAKADACHI', recipient: 'PARTNER-R' },
      };
      const xml = ubl.encode(doc, { pretty: true });
      expect(xml).toBeDefined();
      const parsed = parseUbl(xml ?? '');
      if (!parsed.ok) throw new Error(parsed.error.message);
      expect(parsed.root.name).toBe(mapping.ubl);
      expect(parsed.root.ns).toBe(`urn:oasis:names:specification:ubl:schema:xsd:${mapping.ubl}-2`);
      expect(structureProblems(parsed.root)).toEqual([]);
      const binding = registry.binding(type);
      if (binding === undefined) throw new Error('no binding');
      const back = await decodeWithMapping(parsed.root, mapping, binding, {
        directory: gatewayIds,
        partnerId: doc.header.sender,
      });
      if (!back.ok) throw new Error(JSON.stringify(back.errors));
      expect(back.documents[0]?.body).toEqual(doc.body);
      // Every header field the mapping writes and reads at the same place comes back. (A
      // two-way mapping may read a field elsewhere than it writes it: an order read back names
      // itself by its cbc:ID, which on the seller's copy is the order id.)
      const header = back.documents[0]?.header as unknown as Record<string, unknown>;
      for (const field of mapping.fields) {
        const pointer = field.canonical[0];
        if (field.direction !== 'both' || pointer?.startsWith('/header/') !== true) continue;
        const name = pointer.slice('/header/'.length);
        expect(header[name], name).toBe((doc.header as unknown as Record<string, unknown>)[name]);
      }
    },
  );

  it('carries a receipt signature and digest unchanged', () => {
    const receipt = schemaExample('Receipt');
    const xml = ubl.encode(receipt) ?? '';
    expect(xml).toContain(`<cbc:DocumentHash>${String(receipt.body.digest)}</cbc:DocumentHash>`);
    expect(xml).toContain(
      `<cbc:EmbeddedDocumentBinaryObject mimeCode="application/jose">${Buffer.from(String(receipt.body.signature)).toString('base64')}<`,
    );
  });

  it('leaves types UBL has no document for, and empty feeds, to the gateway XML', () => {
    for (const type of WITHOUT_UBL) expect(ubl.encode(schemaExample(type))).toBeUndefined();
    const feed = schemaExample('ReservationFeed');
    expect(ubl.encode({ ...feed, body: { ...feed.body, reservations: [] } })).toBeUndefined();
    const items = schemaExample('ItemFeed');
    expect(ubl.encode({ ...items, body: { ...items.body, items: [] } })).toBeUndefined();
  });
});

describe('mapping files', () => {
  function brokenDir(edit: (name: string, text: string) => string): string {
    const dir = mkdtempSync(join(tmpdir(), 'nakadachi-mappings-'));
    cpSync(DEFAULT_MAPPINGS_DIR, dir, { recursive: true });
    for (const name of readdirSync(dir)) {
      writeFileSync(join(dir, name), edit(name, readFileSync(join(dir, name), 'utf8')));
    }
    return dir;
  }

  it('are checked against the UBL structure at start-up', () => {
    const dir = brokenDir((name, text) =>
      name === 'Quotation-OrderBid.json'
        ? text.replace('cac:LineItem/cbc:Quantity', 'cac:LineItem/cac:Quantity')
        : text,
    );
    expect(() => loadMappings(registry, dir)).toThrow(
      /cac:Quantity is not declared under LineItem/,
    );
  });

  it('must fill every required canonical field', () => {
    const dir = brokenDir((name, text) =>
      name === 'OrderResponse-OrderConfirmation.json'
        ? text.replace(
            '"canonical": "/body/dealId"',
            '"canonical": "/body/reason", "direction": "in", "note": "x"',
          )
        : text,
    );
    expect(() => loadMappings(registry, dir)).toThrow(
      /nothing fills the required OrderConfirmation field \/body\/dealId/,
    );
  });

  it('flatten only an array of the items, and convert values only as text or region', () => {
    const flattenName = brokenDir((name, text) =>
      name === 'ItemFeed-Catalogue.json'
        ? text.replace('"flatten": "/offers"', '"flatten": "/name"')
        : text,
    );
    expect(() => loadMappings(registry, flattenName)).toThrow(
      /ItemFeed-Catalogue: \/body\/items: flatten \/name is not an array of its items/,
    );
    const regionsAsDates = brokenDir((name, text) =>
      name === 'ItemFeed-Catalogue.json'
        ? text.replace(
            '"as": "region",\n          "note": "the regions',
            '"as": "date",\n          "note": "the regions',
          )
        : text,
    );
    expect(() => loadMappings(registry, regionsAsDates)).toThrow(
      /\/offers\/regions: an each without fields converts string values as text or region/,
    );
  });

  it('name only canonical fields that exist', () => {
    const dir = brokenDir((name, text) =>
      name === 'NoAward-ApplicationResponse.json'
        ? text.replace('/body/reason', '/body/why')
        : text,
    );
    expect(() => loadMappings(registry, dir)).toThrow(/\/body\/why is not a field of NoAward/);
  });
});
