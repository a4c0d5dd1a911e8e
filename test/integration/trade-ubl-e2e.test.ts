/**
 * A whole trade with a UBL-speaking buyer, seller and carrier beside a JSON seller, a JSON
 * settlement organ and an XML carrier, every partner receiving by signed push at a real local
 * receiver: the item feed (a UBL Catalogue), the buyer's RFQ, the seller's quotation on the
 * gateway's RFQ line, the award and the intermediary's order, the seller's order response, the
 * transport tender (a TransportExecutionPlanRequest, the UBL carrier's plan, its tender result),
 * the e-check, the buyer's UBL order carrying it, the seller's despatch advice and forwarding
 * instructions, the carrier's schedule and status reports (TransportationStatus), the payment
 * notice and advices (RemittanceAdvice). UBL partners send and receive UBL where UBL has the
 * document (written in different namespace prefix styles) and the gateway's own forms for the
 * rest; every UBL document the gateway sends keeps the declared structure, names the receiving
 * partner by its own GLN as well as by its id, and reads back to what the other side sent.
 */
import { sql } from 'kysely';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { decodeDocument } from '../../adapters/codec/index.ts';
import { structureProblems } from '../../adapters/ubl/structure.ts';
import { compilePath, readValue } from '../../adapters/ubl/ubl-path.ts';
import { parseUbl } from '../../adapters/ubl/ubl-xml.ts';
import {
  judgeDueReservations,
  judgeDueTenders,
  type TradingDeps,
} from '../../gateway/core/trading/trading.service.ts';
import { createSchemaRegistry } from '../../schemas/registry.ts';
import { startDeliveryHarness, type DeliveryHarness } from '../support/delivery.ts';
import { post, postDocument } from '../support/documents.ts';
import { registerPartner, type RegisteredPartner } from '../support/gateway.ts';
import { startReceiver, type Receiver } from '../support/receiver.ts';
import { readOutboundUbl, rootOf, ublReceipt } from '../support/ubl.ts';

const UBL = 'urn:oasis:names:specification:ubl:schema:xsd:';
const CAC = `${UBL}CommonAggregateComponents-2`;
const CBC = `${UBL}CommonBasicComponents-2`;
const BUYER_GLN = '5790000000011';
const SELLER_GLN = '5790000000028';
const CARRIER_GLN = '5790000000035';
const GTIN = '4900000000024';

const CAST: [string, string, string][] = [
  ['BUYER-U', 'buyer', 'ubl'],
  ['SELLER-U', 'seller', 'ubl'],
  ['SELLER-J', 'seller', 'json'],
  ['SETTLE-J', 'settlement', 'json'],
  ['CARRIER-X', 'carrier', 'xml'],
  ['CARRIER-U', 'carrier', 'ubl'],
];

const registry = createSchemaRegistry();
let harness: DeliveryHarness;
let trading: TradingDeps;
const partners: Record<string, RegisteredPartner> = {};
const receivers: Record<string, Receiver> = {};

beforeAll(async () => {
  // Generous push timeouts: on a loaded machine a 1 s timeout retries a push that did arrive,
  // and at-least-once delivery then shows a partner the same document twice.
  harness = await startDeliveryHarness({
    DELIVERY_TIMEOUT_MS: '10000',
    DELIVERY_LEASE_MS: '20000',
  });
  trading = {
    db: harness.database.db,
    settings: { commissionRatePercent: '2.5', confirmWindowS: 3600, tenderWindowS: 3600 },
    enqueue: harness.services.pipeline.enqueue,
  };
  for (const [id, role, format] of CAST) {
    receivers[id] = await startReceiver();
    partners[id] = await registerPartner(harness, {
      id,
      roles: [role],
      format,
      deliveryMode: 'push',
      endpointUrl: receivers[id].url,
    });
  }
  for (const [id, value] of [
    ['BUYER-U', BUYER_GLN],
    ['SELLER-U', SELLER_GLN],
    ['CARRIER-U', CARRIER_GLN],
  ] as const) {
    const added = await harness.admin('POST', `/admin/v1/partners/${id}/aliases`, {
      scheme: 'GLN',
      value,
    });
    expect(added.status).toBe(201);
  }
  for (const seller of ['SELLER-U', 'SELLER-J']) {
    const subscribed = await harness.admin(
      'PUT',
      `/admin/v1/partners/${seller}/feeds/reservations`,
      {
        mode: 'immediate',
      },
    );
    expect(subscribed.status).toBe(200);
  }
  const items = await harness.admin('PUT', '/admin/v1/partners/BUYER-U/feeds/items', {
    mode: 'immediate',
  });
  expect(items.status).toBe(200);
});

afterAll(async () => {
  await harness.close();
  await Promise.all(Object.values(receivers).map((r) => r.close()));
});

// --- sending ---------------------------------------------------------------------------------

/** Posts a UBL document; the ApplicationResponse it gets, read back as the receipt. */
async function sendUbl(partner: string, xml: string): Promise<Record<string, string>> {
  const response = await post(harness.app, partners[partner]!.apiKey, xml, 'application/xml');
  const text = await response.text();
  expect(rootOf(text).name, text).toBe('ApplicationResponse');
  const receipt = await ublReceipt(text);
  expect(response.status, JSON.stringify(receipt.body.errors)).toBe(200);
  expect(receipt.body.status).toBe('accepted');
  return Object.fromEntries(
    (receipt.body.assigned as { name: string; value: string }[]).map((a) => [a.name, a.value]),
  );
}

let serial = 0;

async function sendJson(
  partner: string,
  type: string,
  body: Record<string, unknown>,
): Promise<Record<string, string>> {
  serial += 1;
  const response = await postDocument(harness.app, partners[partner]!.apiKey, {
    header: {
      messageId: `${partner}-E2E-${serial}`,
      type,
      sender: partner,
      sentAt: new Date().toISOString(),
    },
    body,
  });
  const text = await response.text();
  expect(response.status, text).toBe(200);
  const receipt = JSON.parse(text) as { body: { assigned: { name: string; value: string }[] } };
  return Object.fromEntries(receipt.body.assigned.map((a) => [a.name, a.value]));
}

async function sendXml(partner: string, type: string, body: string): Promise<void> {
  serial += 1;
  const xml =
    `<${type} xmlns="urn:nakadachi:1"><Header><MessageId>${partner}-E2E-${serial}</MessageId><Type>${type}</Type>` +
    `<Sender>${partner}</Sender><SentAt>${new Date().toISOString()}</SentAt></Header><Body>${body}</Body></${type}>`;
  const response = await post(harness.app, partners[partner]!.apiKey, xml, 'application/xml');
  expect(response.status, await response.text()).toBe(200);
}

// --- receiving -------------------------------------------------------------------------------

interface Received {
  /** The canonical type for JSON and the gateway's XML; `ubl:<Root>` for UBL. */
  kind: string;
  text: string;
}

function received(partner: string): Received[] {
  return receivers[partner]!.requests.map(({ body }) => {
    if (body.startsWith('{'))
      return { kind: (JSON.parse(body) as { header: { type: string } }).header.type, text: body };
    const { name, namespace } = rootOf(body);
    return { kind: namespace === 'urn:nakadachi:1' ? name : `ubl:${name}`, text: body };
  });
}

async function eventually<T>(find: () => T | undefined, what: string, ms = 10_000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const found = find();
    if (found !== undefined) return found;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** The n-th (1-based) document of a kind a partner received, once it has. */
function nth(partner: string, kind: string, n = 1): Promise<string> {
  return eventually(
    () => received(partner).filter((d) => d.kind === kind)[n - 1]?.text,
    `${kind} #${n} at ${partner}`,
  );
}

/** The n-th UBL `root` a partner received, read back as the canonical `type` it carries. */
async function ublAt(partner: string, root: string, type: string, n = 1) {
  return readOutboundUbl(await nth(partner, `ubl:${root}`, n), type);
}

/** The value at a path (mapping syntax) in a UBL text. */
function ublValue(text: string, path: string): string | undefined {
  const parsed = parseUbl(text);
  if (!parsed.ok) throw new Error(parsed.error.message);
  return readValue(parsed.root, parsed.root, compilePath(path));
}

/** How a UBL document the gateway sent names a party: its endpoint, and its id in the gateway scheme. */
function partyIn(text: string, path: string) {
  return {
    endpoint: ublValue(text, `${path}/cbc:EndpointID`),
    scheme: ublValue(text, `${path}/cbc:EndpointID/@schemeID`),
    id: ublValue(text, `${path}/cac:PartyIdentification/cbc:ID`),
  };
}

// --- the partners' UBL documents -------------------------------------------------------------

const today = new Date().toISOString().slice(0, 10);
const tomorrow = new Date(Date.now() + 86_400_000).toISOString().slice(0, 10);

/** Default-namespace document element, cac:/cbc: prefixes. */
const rfq = () => `<?xml version="1.0" encoding="UTF-8"?>
<RequestForQuotation xmlns="${UBL}RequestForQuotation-2" xmlns:cac="${CAC}" xmlns:cbc="${CBC}">
  <cbc:UBLVersionID>2.1</cbc:UBLVersionID>
  <cbc:ID>RFQ-U-1</cbc:ID>
  <cbc:IssueDate>${today}</cbc:IssueDate>
  <cbc:IssueTime>09:00:00Z</cbc:IssueTime>
  <cbc:SubmissionDueDate>${tomorrow}</cbc:SubmissionDueDate>
  <cac:SellerSupplierParty><cac:Party><cbc:EndpointID schemeID="GLN">${SELLER_GLN}</cbc:EndpointID></cac:Party></cac:SellerSupplierParty>
  <cac:BuyerCustomerParty><cac:Party><cbc:EndpointID schemeID="GLN">${BUYER_GLN}</cbc:EndpointID></cac:Party></cac:BuyerCustomerParty>
  <cac:Delivery>
    <cac:DeliveryAddress><cac:Country><cbc:IdentificationCode>JP</cbc:IdentificationCode></cac:Country></cac:DeliveryAddress>
    <cac:RequestedDeliveryPeriod><cbc:EndDate>2036-08-31</cbc:EndDate></cac:RequestedDeliveryPeriod>
  </cac:Delivery>
  <cac:RequestForQuotationLine>
    <cac:LineItem>
      <cbc:ID>1</cbc:ID>
      <cbc:Quantity unitCode="C62">100</cbc:Quantity>
      <cac:Price><cbc:PriceAmount currencyID="JPY">31000</cbc:PriceAmount></cac:Price>
      <cac:Item><cac:StandardItemIdentification><cbc:ID schemeID="GTIN">${GTIN}</cbc:ID></cac:StandardItemIdentification></cac:Item>
    </cac:LineItem>
  </cac:RequestForQuotationLine>
</RequestForQuotation>`;

/** Every element prefixed, with prefixes of its own choosing. */
const quotation = (reservationId: string) => `<?xml version="1.0" encoding="UTF-8"?>
<q:Quotation xmlns:q="${UBL}Quotation-2" xmlns:agg="${CAC}" xmlns:basic="${CBC}">
  <basic:UBLVersionID>2.1</basic:UBLVersionID>
  <basic:ID>QT-U-1</basic:ID>
  <basic:IssueDate>${today}</basic:IssueDate>
  <basic:IssueTime>10:00:00+09:00</basic:IssueTime>
  <agg:SellerSupplierParty><agg:Party><agg:PartyIdentification><basic:ID schemeID="GLN">${SELLER_GLN}</basic:ID></agg:PartyIdentification></agg:Party></agg:SellerSupplierParty>
  <agg:QuotedMonetaryTotal><basic:PayableAmount currencyID="JPY">2980000</basic:PayableAmount></agg:QuotedMonetaryTotal>
  <agg:QuotationLine>
    <basic:RequestForQuotationLineID>${reservationId}</basic:RequestForQuotationLineID>
    <agg:LineItem>
      <basic:ID>1</basic:ID>
      <basic:Quantity unitCode="C62">100</basic:Quantity>
      <agg:Delivery><agg:PromisedDeliveryPeriod><basic:EndDate>2036-08-20</basic:EndDate></agg:PromisedDeliveryPeriod></agg:Delivery>
      <agg:Price><basic:PriceAmount currencyID="JPY">29800</basic:PriceAmount></agg:Price>
      <agg:Item/>
    </agg:LineItem>
  </agg:QuotationLine>
</q:Quotation>`;

/** Basic components in a default namespace redeclared on each element. */
const orderResponse = (
  dealId: string,
) => `<OrderResponse xmlns="${UBL}OrderResponse-2" xmlns:cac="${CAC}">
  <ID xmlns="${CBC}">OR-U-1</ID>
  <IssueDate xmlns="${CBC}">${today}</IssueDate>
  <OrderResponseCode xmlns="${CBC}">AP</OrderResponseCode>
  <cac:OrderReference><ID xmlns="${CBC}">${dealId}</ID></cac:OrderReference>
  <cac:SellerSupplierParty><cac:Party><EndpointID xmlns="${CBC}" schemeID="GLN">${SELLER_GLN}</EndpointID></cac:Party></cac:SellerSupplierParty>
  <cac:BuyerCustomerParty/>
  <cac:OrderLine><cac:LineItem><ID xmlns="${CBC}">1</ID><cac:Item/></cac:LineItem></cac:OrderLine>
</OrderResponse>`;

const order = (o: {
  dealId: string;
  checkNumber: string;
  echeck: string;
  itemId: string;
}) => `<?xml version="1.0" encoding="UTF-8"?>
<Order xmlns="${UBL}Order-2" xmlns:cac="${CAC}" xmlns:cbc="${CBC}">
  <cbc:UBLVersionID>2.1</cbc:UBLVersionID>
  <cbc:ID>PO-U-1</cbc:ID>
  <cbc:IssueDate>${today}</cbc:IssueDate>
  <cac:AdditionalDocumentReference>
    <cbc:ID>${o.checkNumber}</cbc:ID>
    <cbc:DocumentType>ECheck</cbc:DocumentType>
    <cac:Attachment><cbc:EmbeddedDocumentBinaryObject mimeCode="application/jose">${Buffer.from(o.echeck).toString('base64')}</cbc:EmbeddedDocumentBinaryObject></cac:Attachment>
  </cac:AdditionalDocumentReference>
  <cac:Contract><cbc:ID>${o.dealId}</cbc:ID><cbc:ContractType>deal</cbc:ContractType></cac:Contract>
  <cac:BuyerCustomerParty><cac:Party><cbc:EndpointID schemeID="GLN">${BUYER_GLN}</cbc:EndpointID><cac:PartyName><cbc:Name>Umeda Trading</cbc:Name></cac:PartyName></cac:Party></cac:BuyerCustomerParty>
  <cac:SellerSupplierParty><cac:Party><cbc:EndpointID schemeID="GLN">${SELLER_GLN}</cbc:EndpointID></cac:Party></cac:SellerSupplierParty>
  <cac:Delivery>
    <cac:DeliveryLocation><cac:Address>
      <cbc:StreetName>Umeda</cbc:StreetName><cbc:BuildingNumber>3-1-1</cbc:BuildingNumber>
      <cbc:CityName>Osaka</cbc:CityName><cbc:PostalZone>530-0001</cbc:PostalZone>
      <cac:Country><cbc:IdentificationCode>JP</cbc:IdentificationCode></cac:Country>
    </cac:Address></cac:DeliveryLocation>
  </cac:Delivery>
  <cac:PaymentMeans><cbc:PaymentMeansCode>ZZZ</cbc:PaymentMeansCode><cbc:PaymentID>${o.checkNumber}</cbc:PaymentID></cac:PaymentMeans>
  <cac:AnticipatedMonetaryTotal><cbc:PayableAmount currencyID="JPY">2980000</cbc:PayableAmount></cac:AnticipatedMonetaryTotal>
  <cac:OrderLine><cac:LineItem>
    <cbc:ID>1</cbc:ID>
    <cbc:Quantity unitCode="C62">100</cbc:Quantity>
    <cac:Price><cbc:PriceAmount currencyID="JPY">29800</cbc:PriceAmount></cac:Price>
    <cac:Item><cac:CatalogueItemIdentification><cbc:ID>${o.itemId}</cbc:ID></cac:CatalogueItemIdentification></cac:Item>
  </cac:LineItem></cac:OrderLine>
</Order>`;

/** No carrier named: the gateway ships with the carrier on the order's e-check. */
const despatchAdvice = (orderId: string) => `<?xml version="1.0" encoding="UTF-8"?>
<DespatchAdvice xmlns="${UBL}DespatchAdvice-2" xmlns:cac="${CAC}" xmlns:cbc="${CBC}">
  <cbc:UBLVersionID>2.1</cbc:UBLVersionID>
  <cbc:ID>DA-U-1</cbc:ID>
  <cbc:IssueDate>${today}</cbc:IssueDate>
  <cbc:Note>packed in 4 cartons</cbc:Note>
  <cac:OrderReference><cbc:ID>${orderId}</cbc:ID></cac:OrderReference>
  <cac:DespatchSupplierParty><cac:Party><cbc:EndpointID schemeID="GLN">${SELLER_GLN}</cbc:EndpointID></cac:Party></cac:DespatchSupplierParty>
  <cac:DeliveryCustomerParty/>
  <cac:Shipment><cbc:ID>1</cbc:ID><cac:Consignment><cbc:ID>1</cbc:ID></cac:Consignment>
    <cac:Delivery><cac:Despatch><cbc:EstimatedDespatchDate>2036-08-18</cbc:EstimatedDespatchDate></cac:Despatch></cac:Delivery>
  </cac:Shipment>
  <cac:DespatchLine><cbc:ID>1</cbc:ID><cac:OrderLineReference><cbc:LineID>1</cbc:LineID></cac:OrderLineReference><cac:Item/></cac:DespatchLine>
</DespatchAdvice>`;

/** The UBL carrier's answer to the tender: its plan, naming the gateway's request by its ID. */
const carriersPlan = (tenderId: string) => `<?xml version="1.0" encoding="UTF-8"?>
<TransportExecutionPlan xmlns="${UBL}TransportExecutionPlan-2" xmlns:cac="${CAC}" xmlns:cbc="${CBC}">
  <cbc:UBLVersionID>2.1</cbc:UBLVersionID>
  <cbc:ID>TEP-CU-1</cbc:ID>
  <cbc:IssueDate>${today}</cbc:IssueDate>
  <cbc:IssueTime>11:00:00Z</cbc:IssueTime>
  <cbc:TransportServiceProviderRemarks>Two pallets, tail lift</cbc:TransportServiceProviderRemarks>
  <cac:TransportUserParty><cac:PartyIdentification><cbc:ID schemeID="NAKADACHI">NAKADACHI</cbc:ID></cac:PartyIdentification></cac:TransportUserParty>
  <cac:TransportServiceProviderParty><cbc:EndpointID schemeID="GLN">${CARRIER_GLN}</cbc:EndpointID></cac:TransportServiceProviderParty>
  <cac:TransportExecutionPlanRequestDocumentReference><cbc:ID>${tenderId}</cbc:ID></cac:TransportExecutionPlanRequestDocumentReference>
  <cac:ServiceStartTimePeriod><cbc:StartDate>2036-08-18</cbc:StartDate></cac:ServiceStartTimePeriod>
  <cac:ServiceEndTimePeriod><cbc:EndDate>2036-08-19</cbc:EndDate></cac:ServiceEndTimePeriod>
  <cac:TransportExecutionTerms><cac:ServiceChargePaymentTerms><cbc:Amount currencyID="JPY">52000</cbc:Amount></cac:ServiceChargePaymentTerms></cac:TransportExecutionTerms>
  <cac:Consignment><cbc:ID>1</cbc:ID></cac:Consignment>
</TransportExecutionPlan>`;

/** The UBL seller hands the order's goods to the carrier: its own item id, the order's address. */
const forwardingInstructions = (orderId: string) => `<?xml version="1.0" encoding="UTF-8"?>
<fi:ForwardingInstructions xmlns:fi="${UBL}ForwardingInstructions-2" xmlns:cac="${CAC}" xmlns:cbc="${CBC}">
  <cbc:UBLVersionID>2.1</cbc:UBLVersionID>
  <cbc:ID>FI-U-1</cbc:ID>
  <cbc:IssueDate>${today}</cbc:IssueDate>
  <cbc:ShippingOrderID>${orderId}</cbc:ShippingOrderID>
  <cac:ConsignorParty><cbc:EndpointID schemeID="GLN">${SELLER_GLN}</cbc:EndpointID></cac:ConsignorParty>
  <cac:Shipment>
    <cbc:ID>1</cbc:ID>
    <cac:GoodsItem>
      <cbc:Quantity unitCode="C62">100</cbc:Quantity>
      <cac:Item><cbc:Name>Aozora HX-9</cbc:Name><cac:SellersItemIdentification><cbc:ID>U-1</cbc:ID></cac:SellersItemIdentification></cac:Item>
    </cac:GoodsItem>
    <cac:Delivery>
      <cac:DeliveryAddress>
        <cbc:StreetName>Umeda</cbc:StreetName><cbc:BuildingNumber>3-1-1</cbc:BuildingNumber>
        <cbc:CityName>Osaka</cbc:CityName><cbc:PostalZone>530-0001</cbc:PostalZone>
        <cac:Country><cbc:IdentificationCode>JP</cbc:IdentificationCode></cac:Country>
      </cac:DeliveryAddress>
      <cac:RequestedDeliveryPeriod><cbc:EndDate>2036-08-31</cbc:EndDate></cac:RequestedDeliveryPeriod>
      <cac:DeliveryParty><cac:PartyName><cbc:Name>Umeda Trading</cbc:Name></cac:PartyName></cac:DeliveryParty>
    </cac:Delivery>
  </cac:Shipment>
</fi:ForwardingInstructions>`;

it(
  'runs a whole trade with UBL partners beside JSON and XML ones, every flow document in UBL where UBL has it',
  { timeout: 60_000 },
  async () => {
    // 1. both sellers carry the item (a UBL partner may still send the gateway's JSON)
    const { itemId } = await sendJson('SELLER-U', 'ItemNotice', {
      sellerItemId: 'U-1',
      gtin: GTIN,
      name: 'Aozora HX-9',
      category: 'audio/headphones',
      releaseDate: '2036-09-01',
      listPrice: { amount: '31000', currency: 'JPY' },
      quantityAvailable: 500,
    });
    await sendJson('SELLER-J', 'ItemNotice', {
      sellerItemId: 'J-1',
      gtin: GTIN,
      name: 'Aozora HX-9',
      category: 'audio/headphones',
      releaseDate: '2036-09-01',
      listPrice: { amount: '31500', currency: 'JPY' },
      quantityAvailable: 500,
      regions: ['JP-13', 'JP-27'],
    });

    // the UBL buyer follows the catalogue: a Catalogue line per seller's offer of the item (the
    // second notice's feed holds both offers; the two feeds may arrive in either order)
    const catalogueXml = await eventually(
      () =>
        received('BUYER-U').find(
          (d) => d.kind === 'ubl:Catalogue' && d.text.split('<cac:CatalogueLine>').length === 3,
        )?.text,
      'the catalogue with both offers at BUYER-U',
    );
    expect(partyIn(catalogueXml, '/cac:ReceiverParty')).toEqual({
      endpoint: BUYER_GLN,
      scheme: 'GLN',
      id: 'BUYER-U',
    });
    const catalogue = await readOutboundUbl(catalogueXml, 'ItemFeed');
    expect(catalogue.body.items).toEqual([
      expect.objectContaining({
        itemId,
        gtin: GTIN,
        name: 'Aozora HX-9',
        releaseDate: '2036-09-01',
      }),
    ]);
    const offers = (catalogue.body.items as { offers: Record<string, unknown>[] }[])[0]?.offers;
    expect(offers).toHaveLength(2);
    expect(offers).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          seller: 'SELLER-U',
          sellerItemId: 'U-1',
          listPrice: { amount: '31000', currency: 'JPY' },
          quantityAvailable: 500,
        }),
        expect.objectContaining({
          seller: 'SELLER-J',
          sellerItemId: 'J-1',
          listPrice: { amount: '31500', currency: 'JPY' },
          regions: ['JP-13', 'JP-27'],
        }),
      ]),
    );

    // 2. the UBL buyer's RFQ is a reservation; both sellers hear of it in their own form
    const { reservationId } = await sendUbl('BUYER-U', rfq());
    expect(reservationId).toMatch(/^RSV-/);
    const feedU = await ublAt('SELLER-U', 'RequestForQuotation', 'ReservationFeed');
    expect(feedU.body.reservations).toEqual([
      expect.objectContaining({
        reservationId,
        itemId,
        quantity: 100,
        maxUnitPrice: { amount: '31000', currency: 'JPY' },
        neededBy: '2036-08-31',
      }),
    ]);
    expect(JSON.parse(await nth('SELLER-J', 'ReservationFeed'))).toMatchObject({
      body: { reservations: [{ reservationId }] },
    });

    // 3. the UBL seller quotes on the gateway's RFQ line; the JSON seller bids higher
    const { bidId } = await sendUbl('SELLER-U', quotation(reservationId!));
    expect(bidId).toMatch(/^BID-/);
    await sendJson('SELLER-J', 'OrderBid', {
      reservationId,
      action: 'submit',
      unitPrice: { amount: '30500', currency: 'JPY' },
      quantity: 100,
      promisedDeliveryDate: '2036-08-15',
    });

    // 4. judged at the deadline: the award answers the buyer's RFQ, the intermediary orders
    await sql`update reservations set bidding_deadline = now() - interval '1 second'`.execute(
      harness.database.db,
    );
    await judgeDueReservations(trading);
    const awardXml = await nth('BUYER-U', 'ubl:OrderResponse');
    expect(partyIn(awardXml, '/cac:BuyerCustomerParty/cac:Party')).toEqual({
      endpoint: BUYER_GLN,
      scheme: 'GLN',
      id: 'BUYER-U',
    });
    const award = await readOutboundUbl(awardXml, 'Award');
    expect(award.body).toMatchObject({
      reservationId,
      bidId,
      seller: 'SELLER-U',
      total: { amount: '2980000', currency: 'JPY' },
    });
    const dealId = String(award.body.dealId);
    const terms = await ublAt('SELLER-U', 'Order', 'IntermediaryTerms');
    expect(terms.body).toMatchObject({
      dealId,
      buyer: 'BUYER-U',
      commission: { amount: '74500', currency: 'JPY' },
      commissionRatePercent: '2.5',
    });
    expect(JSON.parse(await nth('SELLER-J', 'BidResult'))).toMatchObject({
      body: { outcome: 'not-selected' },
    });

    // 5. both confirm: the buyer in JSON (UBL has no such document), the seller by OrderResponse
    await sendJson('BUYER-U', 'PurchaseConfirmation', { dealId, decision: 'accept' });
    await sendUbl('SELLER-U', orderResponse(dealId));
    const deal = await harness.database.db
      .selectFrom('deals')
      .select('status')
      .where('id', '=', dealId)
      .executeTakeFirstOrThrow();
    expect(deal.status).toBe('confirmed');

    // 6. the tenders, to a JSON organ, an XML carrier and a UBL carrier asked for its plan
    await nth('SETTLE-J', 'SettlementRequest');
    await nth('CARRIER-X', 'TransportRequest');
    const tenders = await harness.database.db
      .selectFrom('tenders')
      .select(['id', 'kind'])
      .execute();
    const transportTender = tenders.find((t) => t.kind === 'transport')?.id;
    const planRequestXml = await nth('CARRIER-U', 'ubl:TransportExecutionPlanRequest');
    expect(partyIn(planRequestXml, '/cac:TransportServiceProviderParty')).toEqual({
      endpoint: CARRIER_GLN,
      scheme: 'GLN',
      id: 'CARRIER-U',
    });
    const planRequest = await readOutboundUbl(planRequestXml, 'TransportRequest');
    expect(planRequest.body).toMatchObject({
      tenderId: transportTender,
      dealId,
      seller: 'SELLER-U',
      items: [{ itemId, name: 'Aozora HX-9', quantity: 100 }],
      destinationRegion: 'JP',
      neededBy: '2036-08-31',
    });
    // the UBL carrier's plan costs more than the XML carrier's terms
    await sendUbl('CARRIER-U', carriersPlan(transportTender!));
    for (const tender of tenders) {
      if (tender.kind === 'settlement') {
        await sendJson('SETTLE-J', 'SettlementTerms', {
          tenderId: tender.id,
          fixedFee: { amount: '500', currency: 'JPY' },
          ratePercent: '0.5',
          settlementDays: 2,
        });
      } else {
        await sendXml(
          'CARRIER-X',
          'TransportTerms',
          `<TenderId>${tender.id}</TenderId><Fee><Amount>45000</Amount><Currency>JPY</Currency></Fee><PickupDate>2036-08-18</PickupDate><DeliveryDate>2036-08-19</DeliveryDate>`,
        );
      }
    }
    await sql`update tenders set terms_deadline = now() - interval '1 second'`.execute(
      harness.database.db,
    );
    await judgeDueTenders(trading);
    await nth('CARRIER-X', 'TransportCommission');
    const tenderResult = await ublAt('CARRIER-U', 'ApplicationResponse', 'TenderResult');
    expect(tenderResult.body).toMatchObject({
      tenderId: transportTender,
      dealId,
      outcome: 'not-selected',
    });

    // 7. the e-check: asked for in JSON, received in the gateway's XML (UBL has no e-check)
    const funded = await harness.admin('POST', '/admin/v1/accounts/BUYER-U/fundings', {
      amount: '5000000',
      currency: 'JPY',
    });
    expect(funded.status).toBe(201);
    await sendJson('BUYER-U', 'ECheckRequest', {
      seller: 'SELLER-U',
      carrier: 'CARRIER-X',
      amount: { amount: '2980000', currency: 'JPY' },
      dealId,
    });
    const echeckXml = await nth('BUYER-U', 'ECheck');
    const echeck = decodeDocument(echeckXml, 'xml', registry);
    if (!echeck.ok) throw new Error(JSON.stringify(echeck.errors));
    const checkNumber = String(echeck.document.body.checkNumber);

    // 8. the UBL order carries the e-check; the seller's copy is a UBL order headed by its id
    const { orderId } = await sendUbl(
      'BUYER-U',
      order({ dealId, checkNumber, echeck: String(echeck.document.body.echeck), itemId: itemId! }),
    );
    expect(orderId).toMatch(/^ORD-/);
    const copyXml = await nth('SELLER-U', 'ubl:Order', 2);
    const sellersOrderId = /<cbc:ID>(ORD-[^<]+)<\/cbc:ID>/.exec(copyXml)?.[1];
    expect(sellersOrderId).toBe(orderId);
    const copy = await readOutboundUbl(copyXml, 'CommodityOrder');
    expect(copy.body).toMatchObject({
      orderReference: 'PO-U-1',
      checkNumber,
      dealId,
      lines: [{ itemId, quantity: 100, unitPrice: { amount: '29800', currency: 'JPY' } }],
      distributionAddress: {
        name: 'Umeda Trading',
        line1: 'Umeda 3-1-1',
        city: 'Osaka',
        postalCode: '530-0001',
        country: 'JP',
      },
    });

    // 9. the seller's despatch advice refers to the order as it received it
    await sendUbl('SELLER-U', despatchAdvice(sellersOrderId!));
    const notice = await ublAt('BUYER-U', 'DespatchAdvice', 'DistributionNotice');
    expect(notice.body).toEqual({
      orderId,
      carrier: 'CARRIER-X',
      expectedShipDate: '2036-08-18',
      note: 'packed in 4 cartons',
    });
    // the UBL seller instructs the carrier with forwarding instructions, naming its own item id
    await sendUbl('SELLER-U', forwardingInstructions(orderId!));
    const instruction = decodeDocument(
      await nth('CARRIER-X', 'DistributionInstruction'),
      'xml',
      registry,
    );
    if (!instruction.ok) throw new Error(JSON.stringify(instruction.errors));
    expect(instruction.document.body).toEqual({
      orderId,
      commodities: [{ itemId, name: 'Aozora HX-9', quantity: 100 }],
      distributionAddress: copy.body.distributionAddress,
      neededBy: '2036-08-31',
    });

    // the XML carrier's schedule reaches the UBL seller and buyer as a TransportationStatus
    await sendXml(
      'CARRIER-X',
      'DeliverySchedule',
      `<OrderId>${orderId}</OrderId><DeliveryDate>2036-08-19</DeliveryDate><WindowStart>2036-08-19T09:00:00+09:00</WindowStart><WindowEnd>2036-08-19T12:00:00+09:00</WindowEnd><Note>Call ahead</Note>`,
    );
    for (const partner of ['SELLER-U', 'BUYER-U']) {
      const schedule = await ublAt(partner, 'TransportationStatus', 'DeliverySchedule');
      expect(schedule.body).toEqual({
        orderId,
        deliveryDate: '2036-08-19',
        windowStart: '2036-08-19T09:00:00+09:00',
        windowEnd: '2036-08-19T12:00:00+09:00',
        note: 'Call ahead',
      });
    }

    // 10. the XML carrier reports; the UBL seller reads transportation statuses
    await sendXml(
      'CARRIER-X',
      'DeliveryStatus',
      `<OrderId>${orderId}</OrderId><Status>in-transit</Status><At>2036-08-19T08:00:00Z</At><Location>Osaka hub</Location>`,
    );
    const status = await ublAt('SELLER-U', 'TransportationStatus', 'DeliveryStatus', 2);
    expect(status.body).toEqual({
      orderId,
      status: 'in-transit',
      at: '2036-08-19T08:00:00Z',
      location: 'Osaka hub',
    });
    await sendXml(
      'CARRIER-X',
      'DeliveryComplete',
      `<OrderId>${orderId}</OrderId><DeliveredAt>2036-08-19T15:30:00Z</DeliveredAt><ReceivedBy>K. Sato</ReceivedBy>`,
    );
    const complete = await ublAt('SELLER-U', 'TransportationStatus', 'DeliveryComplete', 3);
    expect(complete.body).toEqual({
      orderId,
      deliveredAt: '2036-08-19T15:30:00Z',
      receivedBy: 'K. Sato',
    });

    // 11. payment: the buyer's notice and the seller's demand in JSON (UBL has neither); the
    // notice and the advices reach the UBL partners as RemittanceAdvices
    await sendJson('BUYER-U', 'PaymentNotice', {
      orderId,
      checkNumber,
      amount: { amount: '2980000', currency: 'JPY' },
    });
    const paymentNotice = await ublAt('SELLER-U', 'RemittanceAdvice', 'PaymentNotice');
    expect(paymentNotice.body).toEqual({
      orderId,
      checkNumber,
      amount: { amount: '2980000', currency: 'JPY' },
    });
    await sendJson('SELLER-U', 'PaymentDemand', {
      checkNumber,
      echeck: echeck.document.body.echeck,
      sellingOffice: 'SELLER-U',
      orderId,
      amount: { amount: '2980000', currency: 'JPY' },
    });
    for (const [partner, n] of [
      ['SELLER-U', 2],
      ['BUYER-U', 1],
    ] as const) {
      const advice = await ublAt(partner, 'RemittanceAdvice', 'PaymentAdvice', n);
      expect(advice.body).toEqual({
        checkNumber,
        orderId,
        amount: { amount: '2980000', currency: 'JPY' },
        payer: 'BUYER-U',
        payee: 'SELLER-U',
        commission: { amount: '74500', currency: 'JPY' },
        status: 'paid',
        at: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T/),
      });
    }
    await nth('SETTLE-J', 'SettlementInstruction');

    // Each party got its documents, in its own form, once each.
    const kinds = (partner: string) =>
      received(partner)
        .map((d) => d.kind)
        .sort();
    expect(kinds('BUYER-U')).toEqual(
      [
        'ECheck',
        'ubl:Catalogue',
        'ubl:Catalogue',
        'ubl:DespatchAdvice',
        'ubl:OrderResponse',
        'ubl:RemittanceAdvice',
        'ubl:TransportationStatus',
      ].sort(),
    );
    expect(kinds('SELLER-U')).toEqual(
      [
        'ubl:Order',
        'ubl:Order',
        'ubl:RemittanceAdvice',
        'ubl:RemittanceAdvice',
        'ubl:RequestForQuotation',
        'ubl:TransportationStatus',
        'ubl:TransportationStatus',
        'ubl:TransportationStatus',
      ].sort(),
    );
    expect(kinds('SELLER-J')).toEqual(['BidResult', 'ReservationFeed']);
    expect(kinds('CARRIER-U')).toEqual(
      ['ubl:ApplicationResponse', 'ubl:TransportExecutionPlanRequest'].sort(),
    );
    expect(kinds('CARRIER-X')).toEqual(
      ['DistributionInstruction', 'TransportCommission', 'TransportRequest'].sort(),
    );
    // Every UBL document the gateway pushed keeps the declared UBL 2.1 structure.
    for (const partner of Object.keys(receivers)) {
      for (const document of received(partner).filter((d) => d.kind.startsWith('ubl:'))) {
        const parsed = parseUbl(document.text);
        if (!parsed.ok) throw new Error(parsed.error.message);
        expect(structureProblems(parsed.root), `${partner} ${document.kind}`).toEqual([]);
      }
    }
    for (const partner of Object.keys(receivers)) {
      const ids = receivers[partner]!.requests.map((r) => r.messageId);
      expect(new Set(ids).size, `${partner} got a document twice`).toBe(ids.length);
    }
    const check = await harness.database.db
      .selectFrom('checks')
      .select('status')
      .where('check_number', '=', checkNumber)
      .executeTakeFirstOrThrow();
    expect(check.status).toBe('paid');
  },
);
