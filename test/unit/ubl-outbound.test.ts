/**
 * The UBL documents added for the rest of the flows, field by field: the item feed as a
 * Catalogue (a line per offer, read back as items with their offers), payment advices and the
 * buyer's payment notice as RemittanceAdvices, the transport tender as a
 * TransportExecutionPlanRequest, the carrier's plan read as TransportTerms and the commission
 * as the accepted TransportExecutionPlan, tender results and e-check refusals as
 * ApplicationResponses, the distribution instruction ⇄ ForwardingInstructions and the delivery
 * schedule ⇄ TransportationStatus both ways. Each document written keeps the declared UBL 2.1
 * structure (checked again on the text), and a partner's identifier alias is written as its
 * EndpointID without taking away what reads the party back.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { aliasDirectory, parseAliasFile } from '../../adapters/ubl/alias-file.ts';
import {
  decodeWithMapping,
  partyIdentifiers,
  type EngineContext,
} from '../../adapters/ubl/engine.ts';
import { structureProblems } from '../../adapters/ubl/structure.ts';
import { createUblAdapter } from '../../adapters/ubl/ubl-adapter.ts';
import { compilePath, readValue, selectAll, textOf } from '../../adapters/ubl/ubl-path.ts';
import { parseUbl, type UblElement } from '../../adapters/ubl/ubl-xml.ts';
import type { CanonicalDocument } from '../../gateway/core/document.ts';
import type {
  PartnerDirectory,
  PartyIdentifier,
} from '../../gateway/core/partners/identification.ts';
import { createSchemaRegistry } from '../../schemas/registry.ts';

const SCHEMA_EXAMPLES = fileURLToPath(new URL('../../schemas/examples/', import.meta.url));
const UBL = 'urn:oasis:names:specification:ubl:schema:xsd:';
const CAC = `${UBL}CommonAggregateComponents-2`;
const CBC = `${UBL}CommonBasicComponents-2`;

const registry = createSchemaRegistry();
const ubl = createUblAdapter(registry);

/** Knows the gateway's own scheme and catalogue ids only: what reads outbound UBL back. */
const gatewayIds: PartnerDirectory = {
  findParty: (ids) => Promise.resolve(ids.find((i) => i.scheme === 'NAKADACHI')?.value),
  findItem: ({ itemIds }) =>
    Promise.resolve(itemIds[0] === undefined ? undefined : { itemId: itemIds[0] }),
};

/** Partners known by their GLN and a seller's own item ids: what a UBL partner's documents carry. */
const partnerAliases = aliasDirectory(
  parseAliasFile({
    partners: [
      { id: 'CARRIER-U', identifiers: [{ scheme: 'GLN', value: '5790000000035' }] },
      { id: 'SELLER-B', identifiers: [{ scheme: 'GLN', value: '5790000000042' }] },
    ],
    items: [
      { itemId: 'ITM-000317', seller: 'SELLER-B', sellerItemId: 'NLE-4711-093' },
      { itemId: 'ITM-000322', seller: 'SELLER-B', sellerItemId: 'NLE-4711-094' },
    ],
  }),
);

/** A schema example as the outbox sends it: from the gateway, to `recipient`. */
function asSent(type: string, recipient: string): CanonicalDocument {
  const doc = JSON.parse(
    readFileSync(join(SCHEMA_EXAMPLES, `${type}.json`), 'utf8'),
  ) as CanonicalDocument;
  return { ...doc, header: { ...doc.header, sender: 'NAKADACHI', recipient } };
}

/** The UBL the gateway writes for `doc`, parsed back, after checking it names the right root. */
function written(
  doc: CanonicalDocument,
  root: string,
  aliases?: ReadonlyMap<string, PartyIdentifier>,
): UblElement {
  const text = ubl.encode(doc, { aliases });
  if (text === undefined) throw new Error(`${doc.header.type} has no UBL form`);
  const parsed = parseUbl(text);
  if (!parsed.ok) throw new Error(parsed.error.message);
  expect(parsed.root.name).toBe(root);
  expect(parsed.root.ns).toBe(`${UBL}${root}-2`);
  expect(text).toContain(`xmlns:cac="${CAC}"`);
  expect(text).toContain(`xmlns:cbc="${CBC}"`);
  // The text itself keeps the declared structure: order, required elements, cardinality.
  expect(structureProblems(parsed.root)).toEqual([]);
  return parsed.root;
}

/** The value at a mapping-style path (`cac:X/cbc:Y`, `…/@attr`) from `node`. */
function at(node: UblElement, path: string): string | undefined {
  return readValue(node, node, compilePath(path));
}

/** Every element's text at a path. */
function all(node: UblElement, path: string): string[] {
  return selectAll(node, node, compilePath(path)).map(textOf);
}

/** The elements at a path. */
function elements(node: UblElement, path: string): UblElement[] {
  return selectAll(node, node, compilePath(path));
}

/** A party as the gateway writes it without aliases: its id in the gateway's scheme, twice. */
function gatewayParty(node: UblElement, path: string): Record<string, string | undefined> {
  return {
    endpoint: at(node, `${path}/cbc:EndpointID`),
    endpointScheme: at(node, `${path}/cbc:EndpointID/@schemeID`),
    id: at(node, `${path}/cac:PartyIdentification/cbc:ID`),
    idScheme: at(node, `${path}/cac:PartyIdentification/cbc:ID/@schemeID`),
  };
}

const party = (id: string) => ({
  endpoint: id,
  endpointScheme: 'NAKADACHI',
  id,
  idScheme: 'NAKADACHI',
});

/** Reads UBL back with the mapping that wrote (or reads) `type`. */
async function readBack(
  root: UblElement,
  type: string,
  context: EngineContext = { directory: gatewayIds, partnerId: 'NAKADACHI' },
) {
  const mapping =
    ubl.mappings.outboundFor(type) ?? ubl.mappings.all.find((m) => m.canonical === type);
  const binding = registry.binding(type);
  if (mapping === undefined || binding === undefined) throw new Error(`no mapping for ${type}`);
  return decodeWithMapping(root, mapping, binding, context);
}

async function readBackDocument(root: UblElement, type: string): Promise<CanonicalDocument> {
  const back = await readBack(root, type);
  if (!back.ok) throw new Error(JSON.stringify(back.errors));
  const [document] = back.documents;
  if (document === undefined) throw new Error('nothing read');
  return document;
}

describe('ItemFeed → Catalogue', () => {
  const feed = asSent('ItemFeed', 'BUYER-B');

  it('writes one catalogue line per offer, each with its seller, price, quantity and regions', () => {
    const catalogue = written(feed, 'Catalogue');
    expect(at(catalogue, '/cbc:UBLVersionID')).toBe('2.1');
    expect(at(catalogue, '/cbc:ID')).toBe('FEED-0031877');
    expect(at(catalogue, '/cbc:UUID')).toBe(feed.header.messageId);
    expect([at(catalogue, '/cbc:IssueDate'), at(catalogue, '/cbc:IssueTime')]).toEqual([
      '2035-11-05',
      '06:00:00+01:00',
    ]);
    expect(gatewayParty(catalogue, '/cac:ProviderParty')).toEqual(party('NAKADACHI'));
    expect(gatewayParty(catalogue, '/cac:ReceiverParty')).toEqual(party('BUYER-B'));

    const lines = elements(catalogue, '/cac:CatalogueLine');
    expect(lines.map((l) => at(l, 'cbc:ID'))).toEqual(['1', '2', '3']);
    expect(lines.map((l) => at(l, 'cac:Item/cac:CatalogueItemIdentification/cbc:ID'))).toEqual([
      'ITM-000317',
      'ITM-000317',
      'ITM-000322',
    ]);
    expect(
      lines.map((l) => at(l, 'cac:SellerSupplierParty/cac:Party/cac:PartyIdentification/cbc:ID')),
    ).toEqual(['SELLER-A', 'SELLER-B', 'SELLER-B']);
    const [first, second, third] = lines as [UblElement, UblElement, UblElement];
    expect({
      sellerItemId: at(first, 'cac:Item/cac:SellersItemIdentification/cbc:ID'),
      gtin: at(first, 'cac:Item/cac:StandardItemIdentification/cbc:ID'),
      gtinScheme: at(first, 'cac:Item/cac:StandardItemIdentification/cbc:ID/@schemeID'),
      name: at(first, 'cac:Item/cbc:Name'),
      category: at(first, 'cac:Item/cac:CommodityClassification/cbc:ItemClassificationCode'),
      categoryList: at(
        first,
        'cac:Item/cac:CommodityClassification/cbc:ItemClassificationCode/@listID',
      ),
      attributes: all(first, 'cac:Item/cac:AdditionalItemProperty/cbc:Name').map((name, i) => [
        name,
        all(first, 'cac:Item/cac:AdditionalItemProperty/cbc:Value')[i],
      ]),
      releasedFrom: at(first, 'cac:LineValidityPeriod/cbc:StartDate'),
      available: at(first, 'cbc:MaximumOrderQuantity'),
      availableUnit: at(first, 'cbc:MaximumOrderQuantity/@unitCode'),
      price: at(first, 'cac:RequiredItemLocationQuantity/cac:Price/cbc:PriceAmount'),
      currency: at(first, 'cac:RequiredItemLocationQuantity/cac:Price/cbc:PriceAmount/@currencyID'),
      regions: all(
        first,
        'cac:RequiredItemLocationQuantity/cac:ApplicableTerritoryAddress/cac:Country/cbc:IdentificationCode',
      ),
    }).toEqual({
      sellerItemId: 'KA-HX9-BLK',
      gtin: '4901234567894',
      gtinScheme: 'GTIN',
      name: 'Aozora HX-9 Wireless ANC Headphones (Midnight Black)',
      category: 'audio/headphones',
      categoryList: 'NAKADACHI',
      attributes: [
        ['colour', 'Midnight Black'],
        ['batteryLifeHours', '40'],
      ],
      releasedFrom: '2036-03-20',
      available: '5000',
      availableUnit: 'C62',
      price: '32800',
      currency: 'JPY',
      regions: ['JP', 'DE', 'FR'],
    });
    // The second seller's offer of the same item: its own id, price and regions.
    expect(at(second, 'cac:Item/cac:SellersItemIdentification/cbc:ID')).toBe('NLE-4711-093');
    expect(at(second, 'cac:RequiredItemLocationQuantity/cac:Price/cbc:PriceAmount')).toBe('219.00');
    expect(at(second, 'cbc:MaximumOrderQuantity')).toBe('800');
    // An item without GTIN or regions writes neither.
    expect(at(third, 'cac:Item/cac:StandardItemIdentification/cbc:ID')).toBeUndefined();
    expect(
      elements(third, 'cac:RequiredItemLocationQuantity/cac:ApplicableTerritoryAddress'),
    ).toEqual([]);
  });

  it('writes a subdivision region as its country and its ISO 3166-2 code', () => {
    const withSubdivision = structuredClone(feed);
    const items = withSubdivision.body.items as { offers: { regions?: string[] }[] }[];
    items[0]!.offers[0]!.regions = ['JP-13', 'DE'];
    const line = elements(written(withSubdivision, 'Catalogue'), '/cac:CatalogueLine')[0]!;
    const territories = elements(
      line,
      'cac:RequiredItemLocationQuantity/cac:ApplicableTerritoryAddress',
    );
    expect(
      territories.map((t) => [
        at(t, 'cac:Country/cbc:IdentificationCode'),
        at(t, 'cbc:CountrySubentityCode'),
      ]),
    ).toEqual([
      ['JP', 'JP-13'],
      ['DE', undefined],
    ]);
  });

  it('reads back consecutive lines of an item as that item with all its offers', async () => {
    const back = await readBackDocument(written(feed, 'Catalogue'), 'ItemFeed');
    expect(back.body).toEqual(feed.body);
    expect(back.header).toMatchObject({
      messageId: feed.header.messageId,
      sentAt: feed.header.sentAt,
      sender: 'NAKADACHI',
      recipient: 'BUYER-B',
    });
  });

  it('leaves an empty feed to the gateway XML: a catalogue needs a line', () => {
    expect(ubl.encode({ ...feed, body: { ...feed.body, items: [] } })).toBeUndefined();
  });
});

describe('PaymentAdvice and PaymentNotice → RemittanceAdvice', () => {
  it('advises the payment of an order by its e-check, with the commission deducted', async () => {
    const advice = asSent('PaymentAdvice', 'SELLER-B');
    const remittance = written(advice, 'RemittanceAdvice');
    expect({
      id: at(remittance, '/cbc:ID'),
      issued: [at(remittance, '/cbc:IssueDate'), at(remittance, '/cbc:IssueTime')],
      total: at(remittance, '/cbc:TotalPaymentAmount'),
      currency: at(remittance, '/cbc:TotalPaymentAmount/@currencyID'),
      check: at(remittance, "/cac:AdditionalDocumentReference[cbc:DocumentType='ECheck']/cbc:ID"),
      checkStatus: at(
        remittance,
        "/cac:AdditionalDocumentReference[cbc:DocumentType='ECheck']/cbc:DocumentStatusCode",
      ),
      means: at(remittance, '/cac:PaymentMeans/cbc:PaymentMeansCode'),
      paymentId: at(remittance, '/cac:PaymentMeans/cbc:PaymentID'),
      line: at(remittance, '/cac:RemittanceAdviceLine/cbc:ID'),
      order: at(
        remittance,
        "/cac:RemittanceAdviceLine/cac:DocumentReference[cbc:DocumentType='Order']/cbc:ID",
      ),
      credited: at(remittance, '/cac:RemittanceAdviceLine/cbc:CreditLineAmount'),
      commission: at(remittance, '/cac:RemittanceAdviceLine/cbc:DebitLineAmount'),
      commissionCurrency: at(
        remittance,
        '/cac:RemittanceAdviceLine/cbc:DebitLineAmount/@currencyID',
      ),
    }).toEqual({
      id: advice.header.messageId,
      issued: ['2036-04-14', '16:30:01+02:00'], // when the funds moved (body.at)
      total: '2775.00',
      currency: 'EUR',
      check: 'CHK-000958',
      checkStatus: 'paid',
      means: 'ZZZ',
      paymentId: 'CHK-000958',
      line: '1',
      order: 'ORD-001377',
      credited: '2775.00',
      commission: '33.30',
      commissionCurrency: 'EUR',
    });
    expect(gatewayParty(remittance, '/cac:AccountingCustomerParty/cac:Party')).toEqual(
      party('BUYER-B'),
    );
    expect(gatewayParty(remittance, '/cac:AccountingSupplierParty/cac:Party')).toEqual(
      party('SELLER-B'),
    );
    expect(gatewayParty(remittance, '/cac:PayeeParty')).toEqual(party('SELLER-B'));

    expect((await readBackDocument(remittance, 'PaymentAdvice')).body).toEqual(advice.body);
  });

  it('says an escrowed payment is escrowed', async () => {
    const advice = asSent('PaymentAdvice', 'BUYER-B');
    const escrowed = { ...advice, body: { ...advice.body, status: 'escrowed' } };
    const remittance = written(escrowed, 'RemittanceAdvice');
    expect(
      at(
        remittance,
        "/cac:AdditionalDocumentReference[cbc:DocumentType='ECheck']/cbc:DocumentStatusCode",
      ),
    ).toBe('escrowed');
    expect((await readBackDocument(remittance, 'PaymentAdvice')).body.status).toBe('escrowed');
  });

  it("forwards the buyer's payment notice to the seller as the payer's remittance advice", async () => {
    const notice = asSent('PaymentNotice', 'SELLER-B');
    const remittance = written(notice, 'RemittanceAdvice');
    expect({
      id: at(remittance, '/cbc:ID'),
      issued: [at(remittance, '/cbc:IssueDate'), at(remittance, '/cbc:IssueTime')],
      total: at(remittance, '/cbc:TotalPaymentAmount'),
      check: at(remittance, "/cac:AdditionalDocumentReference[cbc:DocumentType='ECheck']/cbc:ID"),
      paymentId: at(remittance, '/cac:PaymentMeans/cbc:PaymentID'),
      order: at(
        remittance,
        "/cac:RemittanceAdviceLine/cac:DocumentReference[cbc:DocumentType='Order']/cbc:ID",
      ),
      customer: elements(remittance, '/cac:AccountingCustomerParty').length,
    }).toEqual({
      id: notice.header.messageId,
      issued: ['2036-04-14', '16:05:00+02:00'],
      total: '2775.00',
      check: 'CHK-000958',
      paymentId: 'CHK-000958',
      order: 'ORD-001377',
      customer: 1, // required by UBL, left empty: the notice names no buyer
    });
    expect(gatewayParty(remittance, '/cac:AccountingSupplierParty/cac:Party')).toEqual(
      party('SELLER-B'),
    );
    const back = await readBackDocument(remittance, 'PaymentNotice');
    expect(back.body).toEqual({
      orderId: 'ORD-001377',
      checkNumber: 'CHK-000958',
      amount: { amount: '2775.00', currency: 'EUR' },
    });
    const withNote = { ...notice, body: { ...notice.body, note: 'paid in full' } };
    expect(at(written(withNote, 'RemittanceAdvice'), '/cbc:Note')).toBe('paid in full');
  });
});

describe('the transport tender', () => {
  it('asks every carrier for a TransportExecutionPlan for the deal', async () => {
    const request = asSent('TransportRequest', 'CARRIER-A');
    const tepr = written(request, 'TransportExecutionPlanRequest');
    expect({
      id: at(tepr, '/cbc:ID'),
      uuid: at(tepr, '/cbc:UUID'),
      issued: [at(tepr, '/cbc:IssueDate'), at(tepr, '/cbc:IssueTime')],
      deadline: [
        at(tepr, '/cac:TransportServiceProviderResponseDeadlinePeriod/cbc:EndDate'),
        at(tepr, '/cac:TransportServiceProviderResponseDeadlinePeriod/cbc:EndTime'),
      ],
      neededBy: at(tepr, '/cac:ServiceEndTimePeriod/cbc:EndDate'),
      country: at(tepr, '/cac:ToLocation/cac:Address/cac:Country/cbc:IdentificationCode'),
      region: at(tepr, '/cac:ToLocation/cac:Address/cbc:CountrySubentityCode'),
      consignment: at(tepr, '/cac:Consignment/cbc:ID'),
      goods: elements(tepr, '/cac:Consignment/cac:ConsolidatedShipment/cac:GoodsItem').map((g) => [
        at(g, 'cbc:ID'),
        at(g, 'cac:Item/cac:CatalogueItemIdentification/cbc:ID'),
        at(g, 'cac:Item/cbc:Name'),
        at(g, 'cbc:Quantity'),
      ]),
    }).toEqual({
      id: 'TND-006611',
      uuid: request.header.messageId,
      issued: ['2036-02-21', '11:20:02+09:00'],
      deadline: ['2036-02-25', '12:00:00+09:00'],
      neededBy: '2036-04-10',
      country: 'JP',
      region: 'JP-27',
      consignment: 'DEAL-002204',
      goods: [['1', 'ITM-000317', 'Aozora HX-9 Wireless ANC Headphones (Midnight Black)', '200']],
    });
    expect(gatewayParty(tepr, '/cac:TransportUserParty')).toEqual(party('NAKADACHI'));
    expect(gatewayParty(tepr, '/cac:TransportServiceProviderParty')).toEqual(party('CARRIER-A'));
    expect(gatewayParty(tepr, '/cac:Consignment/cac:ConsignorParty')).toEqual(party('SELLER-A'));

    const back = await readBackDocument(tepr, 'TransportRequest');
    expect(back.body).toEqual(request.body);
  });

  /** What a UBL carrier answers: its own GLN, the gateway's request by its ID. */
  const carriersPlan = (tenderId: string) => `<?xml version="1.0" encoding="UTF-8"?>
<tep:TransportExecutionPlan xmlns:tep="${UBL}TransportExecutionPlan-2" xmlns:a="${CAC}" xmlns:b="${CBC}">
  <b:UBLVersionID>2.1</b:UBLVersionID>
  <b:ID>TEP-CU-7</b:ID>
  <b:IssueDate>2036-02-23</b:IssueDate>
  <b:IssueTime>16:05:00+09:00</b:IssueTime>
  <b:TransportServiceProviderRemarks>One pallet truck, tail lift.</b:TransportServiceProviderRemarks>
  <a:TransportUserParty><a:PartyIdentification><b:ID schemeID="NAKADACHI">NAKADACHI</b:ID></a:PartyIdentification></a:TransportUserParty>
  <a:TransportServiceProviderParty><b:EndpointID schemeID="GLN">5790000000035</b:EndpointID></a:TransportServiceProviderParty>
  <a:TransportExecutionPlanRequestDocumentReference><b:ID>${tenderId}</b:ID></a:TransportExecutionPlanRequestDocumentReference>
  <a:ServiceStartTimePeriod><b:StartDate>2036-04-01</b:StartDate></a:ServiceStartTimePeriod>
  <a:ServiceEndTimePeriod><b:EndDate>2036-04-03</b:EndDate></a:ServiceEndTimePeriod>
  <a:TransportExecutionTerms><a:ServiceChargePaymentTerms><b:Amount currencyID="JPY">88000</b:Amount></a:ServiceChargePaymentTerms></a:TransportExecutionTerms>
  <a:Consignment><b:ID>DEAL-002204</b:ID></a:Consignment>
</tep:TransportExecutionPlan>`;

  it("reads a carrier's TransportExecutionPlan as its TransportTerms for the tender", async () => {
    const context = { directory: partnerAliases, partnerId: 'CARRIER-U' };
    const result = await ubl.decode(carriersPlan('TND-006611'), context);
    expect(result).toMatchObject({ ok: true });
    if (!result.ok) return;
    expect(result.document).toEqual({
      header: {
        type: 'TransportTerms',
        messageId: 'TEP-CU-7',
        sentAt: '2036-02-23T16:05:00+09:00',
        sender: 'CARRIER-U',
      },
      body: {
        tenderId: 'TND-006611',
        fee: { amount: '88000', currency: 'JPY' },
        pickupDate: '2036-04-01',
        deliveryDate: '2036-04-03',
        note: 'One pallet truck, tail lift.',
      },
    });
    // UBL → canonical → UBL keeps every mapped field.
    const mapping = ubl.mappings.inboundFor('TransportExecutionPlan', undefined)[0];
    if (mapping === undefined) throw new Error('no inbound mapping');
    const again = await ubl.decode(ubl.encodeWith(result.document, mapping), {
      directory: gatewayIds,
      partnerId: 'CARRIER-U',
    });
    expect(again).toMatchObject({ ok: true, document: result.document });
  });

  it('names the UBL path of the tender a plan does not refer to', async () => {
    const noRequest = carriersPlan('TND-1').replace(
      /<a:TransportExecutionPlanRequestDocumentReference>.*<\/a:TransportExecutionPlanRequestDocumentReference>/,
      '',
    );
    const result = await ubl.decode(noRequest, {
      directory: partnerAliases,
      partnerId: 'CARRIER-U',
    });
    expect(result).toMatchObject({ ok: false, code: 'SCHEMA_VIOLATION' });
    expect(!result.ok && result.errors).toEqual([
      {
        path: '/body/tenderId',
        code: 'UBL_FIELD_MISSING',
        message:
          'TransportTerms needs body/tenderId: expected cac:TransportExecutionPlanRequestDocumentReference/cbc:ID',
      },
    ]);
  });

  it("commissions the winner by accepting its plan: the request's tender and the carrier's own plan", async () => {
    const commission = asSent('TransportCommission', 'CARRIER-A');
    const tep = written(commission, 'TransportExecutionPlan');
    expect({
      id: at(tep, '/cbc:ID'),
      status: at(tep, '/cbc:DocumentStatusCode'),
      request: at(tep, '/cac:TransportExecutionPlanRequestDocumentReference/cbc:ID'),
      plan: at(tep, '/cac:TransportExecutionPlanDocumentReference/cbc:ID'),
      pickup: at(tep, '/cac:ServiceStartTimePeriod/cbc:StartDate'),
      delivery: at(tep, '/cac:ServiceEndTimePeriod/cbc:EndDate'),
      fee: at(tep, '/cac:TransportExecutionTerms/cac:ServiceChargePaymentTerms/cbc:Amount'),
      feeCurrency: at(
        tep,
        '/cac:TransportExecutionTerms/cac:ServiceChargePaymentTerms/cbc:Amount/@currencyID',
      ),
      consignment: at(tep, '/cac:Consignment/cbc:ID'),
    }).toEqual({
      id: commission.header.messageId,
      status: '29',
      request: 'TND-006611',
      plan: 'CARRIER-A-Q-88120',
      pickup: '2036-04-01',
      delivery: '2036-04-03',
      fee: '88000',
      feeCurrency: 'JPY',
      consignment: 'DEAL-002204',
    });
    expect(gatewayParty(tep, '/cac:TransportUserParty')).toEqual(party('NAKADACHI'));
    expect(gatewayParty(tep, '/cac:TransportServiceProviderParty')).toEqual(party('CARRIER-A'));
    expect((await readBackDocument(tep, 'TransportCommission')).body).toEqual(commission.body);
  });

  it('tells the other organs their terms were not selected, naming the tender and the deal', async () => {
    const result = asSent('TenderResult', 'CARRIER-A');
    const response = written(result, 'ApplicationResponse');
    expect({
      code: at(response, '/cac:DocumentResponse/cac:Response/cbc:ResponseCode'),
      outcome: at(response, '/cac:DocumentResponse/cac:Response/cbc:ReferenceID'),
      reason: at(response, '/cac:DocumentResponse/cac:Response/cbc:Description'),
      references: elements(response, '/cac:DocumentResponse/cac:DocumentReference').map((r) => [
        at(r, 'cbc:DocumentType'),
        at(r, 'cbc:ID'),
      ]),
    }).toEqual({
      code: 'RE',
      outcome: 'not-selected',
      reason: 'Other terms were cheaper for the buyer.',
      references: [
        ['Tender', 'TND-006655'],
        ['Deal', 'DEAL-002219'],
      ],
    });
    expect(gatewayParty(response, '/cac:ReceiverParty')).toEqual(party('CARRIER-A'));
    expect((await readBackDocument(response, 'TenderResult')).body).toEqual(result.body);
  });
});

describe('ECheckRefusal → ApplicationResponse', () => {
  it("rejects the buyer's ECheckRequest with the refusal code and its explanation", async () => {
    const refusal = asSent('ECheckRefusal', 'BUYER-A');
    const response = written(refusal, 'ApplicationResponse');
    expect({
      code: at(response, '/cac:DocumentResponse/cac:Response/cbc:ResponseCode'),
      reason: at(response, '/cac:DocumentResponse/cac:Response/cbc:ReferenceID'),
      message: at(response, '/cac:DocumentResponse/cac:Response/cbc:Description'),
      request: at(response, '/cac:DocumentResponse/cac:DocumentReference/cbc:ID'),
      requestType: at(response, '/cac:DocumentResponse/cac:DocumentReference/cbc:DocumentType'),
    }).toEqual({
      code: 'RE',
      reason: 'INSUFFICIENT_CREDIT',
      message: 'Available credit 4200000 JPY is less than the requested 6100000 JPY.',
      request: 'BUYER-A-M-000158',
      requestType: 'ECheckRequest',
    });
    expect((await readBackDocument(response, 'ECheckRefusal')).body).toEqual(refusal.body);
  });
});

describe('DistributionInstruction ⇄ ForwardingInstructions', () => {
  it("forwards the seller's instruction to the carrier as forwarding instructions", async () => {
    const instruction = asSent('DistributionInstruction', 'CARRIER-A');
    const forwarding = written(instruction, 'ForwardingInstructions');
    expect({
      id: at(forwarding, '/cbc:ID'),
      order: at(forwarding, '/cbc:ShippingOrderID'),
      goods: elements(forwarding, '/cac:Shipment/cac:GoodsItem').map((g) => [
        at(g, 'cac:Item/cac:CatalogueItemIdentification/cbc:ID'),
        at(g, 'cac:Item/cbc:Name'),
        at(g, 'cbc:Quantity'),
      ]),
      deliverTo: [
        at(forwarding, '/cac:Shipment/cac:Delivery/cac:DeliveryParty/cac:PartyName/cbc:Name'),
        at(forwarding, '/cac:Shipment/cac:Delivery/cac:DeliveryAddress/cbc:StreetName'),
        at(forwarding, '/cac:Shipment/cac:Delivery/cac:DeliveryAddress/cbc:AdditionalStreetName'),
        at(forwarding, '/cac:Shipment/cac:Delivery/cac:DeliveryAddress/cbc:CityName'),
        at(forwarding, '/cac:Shipment/cac:Delivery/cac:DeliveryAddress/cbc:PostalZone'),
        at(
          forwarding,
          '/cac:Shipment/cac:Delivery/cac:DeliveryAddress/cac:Country/cbc:IdentificationCode',
        ),
      ],
      collectAt: at(
        forwarding,
        '/cac:Shipment/cac:Delivery/cac:Despatch/cac:DespatchAddress/cbc:CityName',
      ),
      collectFrom: at(
        forwarding,
        '/cac:Shipment/cac:Delivery/cac:Despatch/cac:DespatchParty/cac:PartyName/cbc:Name',
      ),
      neededBy: at(
        forwarding,
        '/cac:Shipment/cac:Delivery/cac:RequestedDeliveryPeriod/cbc:EndDate',
      ),
    }).toEqual({
      id: instruction.header.messageId,
      order: 'ORD-001377',
      goods: [
        ['ITM-000317', 'Aozora HX-9 Wireless ANC Headphones (Midnight Black)', '12'],
        ['ITM-000322', 'Aozora HX-9 Travel Case', '6'],
      ],
      deliverTo: [
        'Spreeblick Medienhaus GmbH, Wareneingang',
        'Friedrichstraße 123',
        'Hof 2, Tor B',
        'Berlin',
        '10117',
        'DE',
      ],
      collectAt: 'Hamburg',
      collectFrom: 'Nordlicht Elektronik GmbH, Lager 3',
      neededBy: '2036-04-18',
    });
    expect(gatewayParty(forwarding, '/cac:CarrierParty')).toEqual(party('CARRIER-A'));
    // canonical → UBL → canonical keeps every mapped field
    const back = await readBackDocument(forwarding, 'DistributionInstruction');
    expect(back.body).toEqual(instruction.body);
    expect(back.header).toMatchObject({
      messageId: instruction.header.messageId,
      sentAt: instruction.header.sentAt,
    });
  });

  /** A UBL seller's own instructions: its GLN, its own item ids, the gateway's order. */
  const sellersInstructions = `<?xml version="1.0" encoding="UTF-8"?>
<ForwardingInstructions xmlns="${UBL}ForwardingInstructions-2" xmlns:cac="${CAC}" xmlns:cbc="${CBC}">
  <cbc:UBLVersionID>2.1</cbc:UBLVersionID>
  <cbc:ID>FI-2036-0042</cbc:ID>
  <cbc:IssueDate>2036-04-14</cbc:IssueDate>
  <cbc:IssueTime>15:45:00+02:00</cbc:IssueTime>
  <cbc:ShippingOrderID>ORD-001377</cbc:ShippingOrderID>
  <cac:ConsignorParty><cbc:EndpointID schemeID="GLN">5790000000042</cbc:EndpointID></cac:ConsignorParty>
  <cac:Shipment>
    <cbc:ID>1</cbc:ID>
    <cac:GoodsItem><cbc:Quantity unitCode="C62">12</cbc:Quantity>
      <cac:Item><cbc:Name>Aozora HX-9</cbc:Name><cac:SellersItemIdentification><cbc:ID>NLE-4711-093</cbc:ID></cac:SellersItemIdentification></cac:Item></cac:GoodsItem>
    <cac:GoodsItem><cbc:Quantity unitCode="DZN">1</cbc:Quantity>
      <cac:Item><cbc:Name>Travel case</cbc:Name><cac:SellersItemIdentification><cbc:ID>NLE-4711-094</cbc:ID></cac:SellersItemIdentification></cac:Item></cac:GoodsItem>
    <cac:Delivery>
      <cac:DeliveryAddress><cbc:StreetName>Friedrichstraße</cbc:StreetName><cbc:BuildingNumber>123</cbc:BuildingNumber>
        <cbc:CityName>Berlin</cbc:CityName><cbc:PostalZone>10117</cbc:PostalZone>
        <cac:Country><cbc:IdentificationCode>DE</cbc:IdentificationCode></cac:Country></cac:DeliveryAddress>
      <cac:RequestedDeliveryPeriod><cbc:EndDate>2036-04-18</cbc:EndDate></cac:RequestedDeliveryPeriod>
      <cac:DeliveryParty><cac:PartyName><cbc:Name>Spreeblick Medienhaus GmbH</cbc:Name></cac:PartyName></cac:DeliveryParty>
    </cac:Delivery>
  </cac:Shipment>
</ForwardingInstructions>`;

  it("reads a seller's forwarding instructions as its DistributionInstruction", async () => {
    const result = await ubl.decode(sellersInstructions, {
      directory: partnerAliases,
      partnerId: 'SELLER-B',
    });
    expect(result).toMatchObject({ ok: true });
    if (!result.ok) return;
    expect(result.document).toEqual({
      header: {
        type: 'DistributionInstruction',
        messageId: 'FI-2036-0042',
        sentAt: '2036-04-14T15:45:00+02:00',
        sender: 'SELLER-B',
      },
      body: {
        orderId: 'ORD-001377',
        commodities: [
          { itemId: 'ITM-000317', name: 'Aozora HX-9', quantity: 12 },
          { itemId: 'ITM-000322', name: 'Travel case', quantity: 12 },
        ],
        distributionAddress: {
          name: 'Spreeblick Medienhaus GmbH',
          line1: 'Friedrichstraße 123',
          city: 'Berlin',
          postalCode: '10117',
          country: 'DE',
        },
        neededBy: '2036-04-18',
      },
    });
    // UBL → canonical → UBL → canonical keeps every mapped field.
    const mapping = ubl.mappings.outboundFor('DistributionInstruction');
    if (mapping === undefined) throw new Error('no mapping');
    const again = await ubl.decode(ubl.encodeWith(result.document, mapping), {
      directory: gatewayIds,
      partnerId: 'SELLER-B',
    });
    expect(again).toMatchObject({ ok: true, document: result.document });
  });
});

describe('DeliverySchedule ⇄ TransportationStatus', () => {
  it('forwards the schedule as a status whose delivery is scheduled in its window', async () => {
    const schedule = asSent('DeliverySchedule', 'SELLER-B');
    const status = written(schedule, 'TransportationStatus');
    expect({
      id: at(status, '/cbc:ID'),
      note: at(status, '/cbc:Note'),
      consignment: at(status, '/cac:Consignment/cbc:ID'),
      event: at(status, '/cac:TransportEvent/cac:CurrentStatus/cbc:Description'),
      day: at(status, '/cac:TransportEvent/cbc:OccurrenceDate'),
      window: [
        at(status, '/cac:TransportEvent/cac:Period/cbc:StartDate'),
        at(status, '/cac:TransportEvent/cac:Period/cbc:StartTime'),
        at(status, '/cac:TransportEvent/cac:Period/cbc:EndDate'),
        at(status, '/cac:TransportEvent/cac:Period/cbc:EndTime'),
      ],
    }).toEqual({
      id: schedule.header.messageId,
      note: 'Call the goods reception 30 minutes ahead.',
      consignment: 'ORD-001377',
      event: 'delivery scheduled',
      day: '2036-04-17',
      window: ['2036-04-17', '10:00:00+02:00', '2036-04-17', '14:00:00+02:00'],
    });
    // Read as any partner's TransportationStatus is read: a schedule, not a delivery status.
    const result = await ubl.decode(ubl.encode(schedule) ?? '', {
      directory: gatewayIds,
      partnerId: 'CARRIER-A',
    });
    expect(result).toMatchObject({
      ok: true,
      document: {
        header: {
          type: 'DeliverySchedule',
          messageId: schedule.header.messageId,
          sentAt: schedule.header.sentAt,
          sender: 'CARRIER-A',
        },
        body: schedule.body,
      },
    });
  });

  it("reads a carrier's scheduled-delivery status as its DeliverySchedule", async () => {
    const carriers = `<TransportationStatus xmlns="${UBL}TransportationStatus-2" xmlns:cac="${CAC}" xmlns:cbc="${CBC}">
  <cbc:ID>TS-CU-9</cbc:ID><cbc:IssueDate>2036-04-15</cbc:IssueDate><cbc:IssueTime>08:00:00+02:00</cbc:IssueTime>
  <cbc:Description>Delivery scheduled</cbc:Description>
  <cac:Consignment><cbc:ID>ORD-001377</cbc:ID><cac:CarrierParty><cbc:EndpointID schemeID="GLN">5790000000035</cbc:EndpointID></cac:CarrierParty></cac:Consignment>
  <cac:TransportEvent><cbc:OccurrenceDate>2036-04-17</cbc:OccurrenceDate>
    <cac:Period><cbc:StartDate>2036-04-17</cbc:StartDate><cbc:StartTime>10:00:00+02:00</cbc:StartTime><cbc:EndDate>2036-04-17</cbc:EndDate><cbc:EndTime>14:00:00+02:00</cbc:EndTime></cac:Period>
  </cac:TransportEvent>
</TransportationStatus>`;
    const result = await ubl.decode(carriers, {
      directory: partnerAliases,
      partnerId: 'CARRIER-U',
    });
    expect(result).toMatchObject({
      ok: true,
      document: {
        header: { type: 'DeliverySchedule', messageId: 'TS-CU-9', sender: 'CARRIER-U' },
        body: {
          orderId: 'ORD-001377',
          deliveryDate: '2036-04-17',
          windowStart: '2036-04-17T10:00:00+02:00',
          windowEnd: '2036-04-17T14:00:00+02:00',
        },
      },
    });
    // UBL → canonical → UBL → canonical keeps every mapped field.
    if (!result.ok) return;
    const mapping = ubl.mappings.outboundFor('DeliverySchedule');
    if (mapping === undefined) throw new Error('no mapping');
    const again = await ubl.decode(ubl.encodeWith(result.document, mapping), {
      directory: gatewayIds,
      partnerId: 'CARRIER-U',
    });
    expect(again).toMatchObject({ ok: true, document: result.document });
    // Another status of the same consignment is still a DeliveryStatus.
    const inTransit = carriers.replace('Delivery scheduled', 'In transit');
    expect(
      await ubl.decode(inTransit, { directory: partnerAliases, partnerId: 'CARRIER-U' }),
    ).toMatchObject({
      ok: true,
      document: { header: { type: 'DeliveryStatus' }, body: { status: 'in-transit' } },
    });
  });
});

describe("the receiving partner's own identifier", () => {
  const gln = { scheme: 'GLN', value: '5790000000011' };

  it('is its EndpointID, beside its id in the gateway scheme; other parties keep theirs', async () => {
    const award = asSent('Award', 'BUYER-A');
    const response = written(award, 'OrderResponse', new Map([['BUYER-A', gln]]));
    expect(gatewayParty(response, '/cac:BuyerCustomerParty/cac:Party')).toEqual({
      endpoint: '5790000000011',
      endpointScheme: 'GLN',
      id: 'BUYER-A',
      idScheme: 'NAKADACHI',
    });
    expect(gatewayParty(response, '/cac:SellerSupplierParty/cac:Party')).toEqual(
      party(String(award.body.seller)),
    );
    // Reads back by the gateway scheme alone, and by the alias alone.
    const byGatewayId = await readBackDocument(response, 'Award');
    expect(byGatewayId.header.recipient).toBe('BUYER-A');
    const aliasesOnly = aliasDirectory(
      parseAliasFile({ partners: [{ id: 'BUYER-A', identifiers: [gln] }], items: [] }),
    );
    const identifiers = partyIdentifiers(
      elements(response, '/cac:BuyerCustomerParty/cac:Party')[0]!,
    );
    expect(identifiers).toEqual([gln, { scheme: 'NAKADACHI', value: 'BUYER-A' }]);
    expect(await aliasesOnly.findParty(identifiers.filter((i) => i.scheme !== 'NAKADACHI'))).toBe(
      'BUYER-A',
    );
  });

  it('names every party of that partner so, wherever it stands in the document', () => {
    const terms = asSent('TransportCommission', 'CARRIER-U');
    const tep = written(terms, 'TransportExecutionPlan', new Map([['CARRIER-U', gln]]));
    for (const path of ['/cac:ReceiverParty', '/cac:TransportServiceProviderParty']) {
      expect(at(tep, `${path}/cbc:EndpointID/@schemeID`)).toBe('GLN');
      expect(at(tep, `${path}/cac:PartyIdentification/cbc:ID`)).toBe('CARRIER-U');
    }
    expect(at(tep, '/cac:SenderParty/cbc:EndpointID/@schemeID')).toBe('NAKADACHI');
  });
});
