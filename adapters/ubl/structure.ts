/**
 * The UBL 2.1 structure this adapter declares: for each document and aggregate it touches, its
 * children in the XSD's sequence order with their cardinality, taken from the OASIS 2.1 schemas
 * (xsdrt/maindoc, xsdrt/common/UBL-CommonAggregateComponents-2.1.xsd). Only the children some
 * mapping reads or writes, and every required one, are listed; relative order is the schema's.
 *
 * It serves three ends: outbound documents are put in schema order and checked against it
 * (root, namespaces, required elements, no element where the schema has none); every path in a
 * mapping file must walk it, so a typo (cbc: for cac:, a misplaced element) fails start-up;
 * and the README's structure claims are this table.
 *
 * Cardinality suffix: none 0..1, '!' 1..1, '*' 0..n, '+' 1..n. Where the 2.1 drafts and the
 * final schemas differ (TransportationStatus: one consignment and at least one event in the
 * drafts, any number in 2.1 CS1/OS), the stricter is declared, so what the gateway writes is
 * valid under both.
 */
import { CAC, CBC, type UblElement } from './ubl-xml.ts';

const HEAD = ['cbc:UBLVersionID', 'cbc:CustomizationID', 'cbc:ProfileID'];

const SEQUENCES: Readonly<Record<string, readonly string[]>> = {
  // --- documents ---
  RequestForQuotation: [
    ...HEAD,
    'cbc:ID',
    'cbc:CopyIndicator',
    'cbc:UUID',
    'cbc:IssueDate!',
    'cbc:IssueTime!',
    'cbc:SubmissionDueDate',
    'cbc:Note*',
    'cbc:PricingCurrencyCode',
    'cac:AdditionalDocumentReference*',
    'cac:OriginatorCustomerParty',
    'cac:SellerSupplierParty!',
    'cac:BuyerCustomerParty',
    'cac:Delivery*',
    'cac:DeliveryTerms*',
    'cac:Contract*',
    'cac:RequestForQuotationLine+',
  ],
  Quotation: [
    ...HEAD,
    'cbc:ID',
    'cbc:CopyIndicator',
    'cbc:UUID',
    'cbc:IssueDate!',
    'cbc:IssueTime',
    'cbc:Note*',
    'cbc:PricingCurrencyCode',
    'cac:ValidityPeriod',
    'cac:RequestForQuotationDocumentReference',
    'cac:AdditionalDocumentReference*',
    'cac:Contract*',
    'cac:SellerSupplierParty!',
    'cac:OriginatorCustomerParty',
    'cac:Delivery*',
    'cac:DeliveryTerms',
    'cac:TaxTotal*',
    'cac:QuotedMonetaryTotal!',
    'cac:QuotationLine+',
  ],
  Order: [
    ...HEAD,
    'cbc:ID!',
    'cbc:SalesOrderID',
    'cbc:CopyIndicator',
    'cbc:UUID',
    'cbc:IssueDate!',
    'cbc:IssueTime',
    'cbc:OrderTypeCode',
    'cbc:Note*',
    'cbc:DocumentCurrencyCode',
    'cbc:CustomerReference',
    'cac:ValidityPeriod*',
    'cac:QuotationDocumentReference',
    'cac:OrderDocumentReference*',
    'cac:OriginatorDocumentReference',
    'cac:AdditionalDocumentReference*',
    'cac:Contract*',
    'cac:BuyerCustomerParty!',
    'cac:SellerSupplierParty!',
    'cac:OriginatorCustomerParty',
    'cac:Delivery*',
    'cac:DeliveryTerms',
    'cac:PaymentMeans*',
    'cac:PaymentTerms*',
    'cac:AllowanceCharge*',
    'cac:TaxTotal*',
    'cac:AnticipatedMonetaryTotal',
    'cac:OrderLine+',
  ],
  OrderResponse: [
    ...HEAD,
    'cbc:ID!',
    'cbc:SalesOrderID',
    'cbc:CopyIndicator',
    'cbc:UUID',
    'cbc:IssueDate!',
    'cbc:IssueTime',
    'cbc:OrderResponseCode',
    'cbc:Note*',
    'cbc:DocumentCurrencyCode',
    'cac:ValidityPeriod*',
    'cac:OrderReference+',
    'cac:SellerSupplierParty!',
    'cac:BuyerCustomerParty!',
    'cac:OriginatorCustomerParty',
    'cac:Delivery*',
    'cac:LegalMonetaryTotal',
    'cac:OrderLine+',
  ],
  DespatchAdvice: [
    ...HEAD,
    'cbc:ID!',
    'cbc:CopyIndicator',
    'cbc:UUID',
    'cbc:IssueDate!',
    'cbc:IssueTime',
    'cbc:DocumentStatusCode',
    'cbc:DespatchAdviceTypeCode',
    'cbc:Note*',
    'cac:OrderReference*',
    'cac:AdditionalDocumentReference*',
    'cac:DespatchSupplierParty!',
    'cac:DeliveryCustomerParty!',
    'cac:BuyerCustomerParty',
    'cac:SellerSupplierParty',
    'cac:OriginatorCustomerParty',
    'cac:Shipment',
    'cac:DespatchLine+',
  ],
  ReceiptAdvice: [
    ...HEAD,
    'cbc:ID!',
    'cbc:CopyIndicator',
    'cbc:UUID',
    'cbc:IssueDate!',
    'cbc:IssueTime',
    'cbc:DocumentStatusCode',
    'cbc:Note*',
    'cac:OrderReference*',
    'cac:DespatchDocumentReference*',
    'cac:AdditionalDocumentReference*',
    'cac:DeliveryCustomerParty!',
    'cac:DespatchSupplierParty!',
    'cac:BuyerCustomerParty',
    'cac:SellerSupplierParty',
    'cac:Shipment',
    'cac:ReceiptLine+',
  ],
  TransportationStatus: [
    ...HEAD,
    'cbc:ID!',
    'cbc:CarrierAssignedID',
    'cbc:UUID',
    'cbc:IssueDate',
    'cbc:IssueTime',
    'cbc:Name',
    'cbc:Description*',
    'cbc:Note*',
    'cbc:ShippingOrderID',
    'cac:Consignment!',
    'cac:TransportEvent+',
    'cac:DocumentReference*',
  ],
  Catalogue: [
    ...HEAD,
    'cbc:ID!',
    'cbc:UUID',
    'cbc:IssueDate!',
    'cbc:IssueTime',
    'cbc:Note*',
    'cac:ProviderParty!',
    'cac:ReceiverParty!',
    'cac:CatalogueLine+',
  ],
  RemittanceAdvice: [
    ...HEAD,
    'cbc:ID!',
    'cbc:UUID',
    'cbc:IssueDate!',
    'cbc:IssueTime',
    'cbc:Note*',
    'cbc:TotalPaymentAmount',
    'cac:AdditionalDocumentReference*',
    'cac:AccountingCustomerParty!',
    'cac:AccountingSupplierParty!',
    'cac:PayeeParty',
    'cac:PaymentMeans',
    'cac:RemittanceAdviceLine+',
  ],
  ForwardingInstructions: [
    ...HEAD,
    'cbc:ID!',
    'cbc:UUID',
    'cbc:IssueDate',
    'cbc:IssueTime',
    'cbc:Note*',
    'cbc:ShippingOrderID',
    'cac:ConsignorParty',
    'cac:CarrierParty',
    'cac:Shipment!',
  ],
  TransportExecutionPlanRequest: [
    ...HEAD,
    'cbc:ID!',
    'cbc:UUID',
    'cbc:IssueDate',
    'cbc:IssueTime',
    'cbc:Note*',
    'cac:SenderParty',
    'cac:ReceiverParty',
    'cac:TransportUserParty!',
    'cac:TransportServiceProviderParty!',
    'cac:TransportServiceProviderResponseDeadlinePeriod*',
    'cac:ServiceEndTimePeriod',
    'cac:ToLocation',
    'cac:Consignment+',
  ],
  TransportExecutionPlan: [
    ...HEAD,
    'cbc:ID!',
    'cbc:UUID',
    'cbc:IssueDate',
    'cbc:IssueTime',
    'cbc:DocumentStatusCode',
    'cbc:Note*',
    'cbc:TransportServiceProviderRemarks*',
    'cac:SenderParty',
    'cac:ReceiverParty',
    'cac:TransportUserParty!',
    'cac:TransportServiceProviderParty!',
    'cac:TransportExecutionPlanRequestDocumentReference',
    'cac:TransportExecutionPlanDocumentReference',
    'cac:ServiceStartTimePeriod',
    'cac:ServiceEndTimePeriod',
    'cac:TransportExecutionTerms',
    'cac:Consignment+',
  ],
  ApplicationResponse: [
    ...HEAD,
    'cbc:ID!',
    'cbc:UUID',
    'cbc:IssueDate!',
    'cbc:IssueTime',
    'cbc:ResponseDate',
    'cbc:ResponseTime',
    'cbc:Note*',
    'cbc:VersionID',
    'cac:Signature*',
    'cac:SenderParty!',
    'cac:ReceiverParty!',
    'cac:DocumentResponse*',
  ],
  // --- aggregates ---
  Address: [
    'cbc:ID',
    'cbc:AddressFormatCode',
    'cbc:Postbox',
    'cbc:StreetName',
    'cbc:AdditionalStreetName',
    'cbc:BuildingName',
    'cbc:BuildingNumber',
    'cbc:Department',
    'cbc:CityName',
    'cbc:PostalZone',
    'cbc:CountrySubentity',
    'cbc:CountrySubentityCode',
    'cac:AddressLine*',
    'cac:Country',
  ],
  AddressLine: ['cbc:Line!'],
  AllowanceCharge: ['cbc:ChargeIndicator!', 'cbc:AllowanceChargeReason*', 'cbc:Amount!'],
  Attachment: ['cbc:EmbeddedDocumentBinaryObject', 'cac:ExternalReference'],
  CatalogueLine: [
    'cbc:ID!',
    'cbc:MaximumOrderQuantity',
    'cac:SellerSupplierParty',
    'cac:LineValidityPeriod',
    'cac:RequiredItemLocationQuantity*',
    'cac:Item!',
  ],
  CommodityClassification: ['cbc:ItemClassificationCode'],
  Consignment: [
    'cbc:ID!',
    'cbc:SummaryDescription*',
    'cac:ConsolidatedShipment*',
    'cac:ConsignorParty',
    'cac:CarrierParty',
    'cac:FreightAllowanceCharge*',
  ],
  Contact: ['cbc:ID', 'cbc:Name', 'cbc:Telephone', 'cbc:Telefax', 'cbc:ElectronicMail'],
  Contract: ['cbc:ID', 'cbc:IssueDate', 'cbc:ContractType'],
  Country: ['cbc:IdentificationCode', 'cbc:Name'],
  CustomerParty: [
    'cbc:CustomerAssignedAccountID',
    'cbc:SupplierAssignedAccountID',
    'cac:Party',
    'cac:DeliveryContact',
  ],
  Delivery: [
    'cbc:ID',
    'cbc:Quantity',
    'cbc:ActualDeliveryDate',
    'cbc:ActualDeliveryTime',
    'cac:DeliveryAddress',
    'cac:DeliveryLocation',
    'cac:RequestedDeliveryPeriod',
    'cac:PromisedDeliveryPeriod',
    'cac:DeliveryParty',
    'cac:Despatch',
  ],
  Despatch: [
    'cbc:ID',
    'cbc:EstimatedDespatchDate',
    'cbc:ActualDespatchDate',
    'cac:DespatchAddress',
    'cac:DespatchParty',
  ],
  DespatchLine: [
    'cbc:ID!',
    'cbc:UUID',
    'cbc:Note*',
    'cbc:LineStatusCode',
    'cbc:DeliveredQuantity',
    'cac:OrderLineReference+',
    'cac:DocumentReference*',
    'cac:Item!',
  ],
  DocumentReference: [
    'cbc:ID!',
    'cbc:CopyIndicator',
    'cbc:UUID',
    'cbc:IssueDate',
    'cbc:IssueTime',
    'cbc:DocumentTypeCode',
    'cbc:DocumentType',
    'cbc:DocumentStatusCode',
    'cac:Attachment',
    'cac:ValidityPeriod',
  ],
  DocumentResponse: [
    'cac:Response!',
    'cac:DocumentReference+',
    'cac:IssuerParty',
    'cac:RecipientParty',
    'cac:LineResponse*',
  ],
  ExternalReference: ['cbc:URI', 'cbc:DocumentHash', 'cbc:HashAlgorithmMethod*'],
  GoodsItem: ['cbc:ID', 'cbc:Description*', 'cbc:Quantity', 'cac:Item*'],
  Item: [
    'cbc:Description*',
    'cbc:Name',
    'cac:BuyersItemIdentification',
    'cac:SellersItemIdentification',
    'cac:StandardItemIdentification',
    'cac:CatalogueItemIdentification',
    'cac:CommodityClassification*',
    'cac:AdditionalItemProperty*',
  ],
  ItemIdentification: ['cbc:ID!'],
  ItemLocationQuantity: ['cac:ApplicableTerritoryAddress*', 'cac:Price'],
  ItemProperty: ['cbc:Name!', 'cbc:Value'],
  LineItem: [
    'cbc:ID!',
    'cbc:SalesOrderID',
    'cbc:UUID',
    'cbc:Note*',
    'cbc:LineStatusCode',
    'cbc:Quantity',
    'cbc:LineExtensionAmount',
    'cbc:TotalTaxAmount',
    'cac:Delivery*',
    'cac:Price',
    'cac:Item!',
  ],
  LineReference: ['cbc:LineID!', 'cbc:UUID', 'cbc:LineStatusCode'],
  LineResponse: ['cac:LineReference!', 'cac:Response+'],
  Location: [
    'cbc:ID',
    'cbc:Description',
    'cbc:CountrySubentity',
    'cbc:CountrySubentityCode',
    'cac:Address',
  ],
  MonetaryTotal: [
    'cbc:LineExtensionAmount',
    'cbc:TaxExclusiveAmount',
    'cbc:TaxInclusiveAmount',
    'cbc:AllowanceTotalAmount',
    'cbc:ChargeTotalAmount',
    'cbc:PayableAmount!',
  ],
  OrderLine: ['cbc:Note*', 'cac:LineItem!'],
  OrderLineReference: ['cbc:LineID!', 'cbc:SalesOrderLineID', 'cbc:UUID'],
  OrderReference: ['cbc:ID!', 'cbc:SalesOrderID', 'cbc:UUID', 'cbc:IssueDate'],
  Party: [
    'cbc:EndpointID',
    'cac:PartyIdentification*',
    'cac:PartyName*',
    'cac:PostalAddress',
    'cac:PartyLegalEntity*',
    'cac:Contact',
  ],
  PartyIdentification: ['cbc:ID!'],
  PartyLegalEntity: ['cbc:RegistrationName', 'cbc:CompanyID'],
  PartyName: ['cbc:Name!'],
  PaymentMeans: ['cbc:ID', 'cbc:PaymentMeansCode!', 'cbc:PaymentDueDate', 'cbc:PaymentID*'],
  PaymentTerms: ['cbc:ID', 'cbc:Note*', 'cbc:PaymentPercent', 'cbc:Amount'],
  Period: ['cbc:StartDate', 'cbc:StartTime', 'cbc:EndDate', 'cbc:EndTime'],
  Price: ['cbc:PriceAmount!', 'cbc:BaseQuantity'],
  QuotationLine: [
    'cbc:ID',
    'cbc:Note*',
    'cbc:Quantity',
    'cbc:LineExtensionAmount',
    'cbc:TotalTaxAmount',
    'cbc:RequestForQuotationLineID',
    'cac:DocumentReference*',
    'cac:LineItem!',
  ],
  ReceiptLine: [
    'cbc:ID!',
    'cbc:UUID',
    'cbc:Note*',
    'cbc:ReceivedQuantity',
    'cbc:ShortQuantity',
    'cac:Item*',
  ],
  RemittanceAdviceLine: [
    'cbc:ID!',
    'cbc:Note*',
    'cbc:DebitLineAmount',
    'cbc:CreditLineAmount',
    'cac:DocumentReference*',
  ],
  RequestForQuotationLine: [
    'cbc:ID',
    'cbc:UUID',
    'cbc:Note*',
    'cac:DocumentReference*',
    'cac:LineItem!',
  ],
  Response: ['cbc:ReferenceID', 'cbc:ResponseCode', 'cbc:Description*'],
  Shipment: ['cbc:ID!', 'cac:Consignment*', 'cac:GoodsItem*', 'cac:Delivery'],
  Signature: ['cbc:ID!', 'cbc:Note*', 'cbc:SignatureMethod', 'cac:DigitalSignatureAttachment'],
  Status: ['cbc:ConditionCode', 'cbc:ReferenceDate', 'cbc:ReferenceTime', 'cbc:Description*'],
  SupplierParty: ['cbc:CustomerAssignedAccountID', 'cac:Party', 'cac:DespatchContact'],
  TransportEvent: [
    'cbc:IdentificationID',
    'cbc:OccurrenceDate',
    'cbc:OccurrenceTime',
    'cbc:TransportEventTypeCode',
    'cbc:Description',
    'cac:CurrentStatus+',
    'cac:Contact*',
    'cac:Location',
    'cac:Period*',
  ],
  TransportExecutionTerms: ['cac:PaymentTerms*', 'cac:ServiceChargePaymentTerms'],
};

/** Aggregate elements whose type is not named after them (the XSD's element declarations). */
const ELEMENT_TYPES: Readonly<Record<string, string>> = {
  AnticipatedMonetaryTotal: 'MonetaryTotal',
  LegalMonetaryTotal: 'MonetaryTotal',
  QuotedMonetaryTotal: 'MonetaryTotal',
  BuyerCustomerParty: 'CustomerParty',
  DeliveryCustomerParty: 'CustomerParty',
  OriginatorCustomerParty: 'CustomerParty',
  SellerSupplierParty: 'SupplierParty',
  DespatchSupplierParty: 'SupplierParty',
  CarrierParty: 'Party',
  DeliveryParty: 'Party',
  IssuerParty: 'Party',
  ReceiverParty: 'Party',
  RecipientParty: 'Party',
  SenderParty: 'Party',
  DeliveryAddress: 'Address',
  PostalAddress: 'Address',
  DeliveryLocation: 'Location',
  PromisedDeliveryPeriod: 'Period',
  RequestedDeliveryPeriod: 'Period',
  ValidityPeriod: 'Period',
  AdditionalDocumentReference: 'DocumentReference',
  DespatchDocumentReference: 'DocumentReference',
  OrderDocumentReference: 'DocumentReference',
  OriginatorDocumentReference: 'DocumentReference',
  QuotationDocumentReference: 'DocumentReference',
  RequestForQuotationDocumentReference: 'DocumentReference',
  DigitalSignatureAttachment: 'Attachment',
  BuyersItemIdentification: 'ItemIdentification',
  CatalogueItemIdentification: 'ItemIdentification',
  SellersItemIdentification: 'ItemIdentification',
  StandardItemIdentification: 'ItemIdentification',
  CurrentStatus: 'Status',
  ProviderParty: 'Party',
  AccountingCustomerParty: 'CustomerParty',
  AccountingSupplierParty: 'SupplierParty',
  PayeeParty: 'Party',
  ConsignorParty: 'Party',
  DespatchParty: 'Party',
  TransportUserParty: 'Party',
  TransportServiceProviderParty: 'Party',
  ApplicableTerritoryAddress: 'Address',
  DespatchAddress: 'Address',
  ToLocation: 'Location',
  LineValidityPeriod: 'Period',
  ServiceStartTimePeriod: 'Period',
  ServiceEndTimePeriod: 'Period',
  TransportServiceProviderResponseDeadlinePeriod: 'Period',
  TransportExecutionPlanDocumentReference: 'DocumentReference',
  TransportExecutionPlanRequestDocumentReference: 'DocumentReference',
  RequiredItemLocationQuantity: 'ItemLocationQuantity',
  AdditionalItemProperty: 'ItemProperty',
  ConsolidatedShipment: 'Shipment',
  FreightAllowanceCharge: 'AllowanceCharge',
  ServiceChargePaymentTerms: 'PaymentTerms',
};

/** The UBL documents the adapter reads or writes. */
export const UBL_DOCUMENTS = [
  'RequestForQuotation',
  'Quotation',
  'Order',
  'OrderResponse',
  'DespatchAdvice',
  'ReceiptAdvice',
  'TransportationStatus',
  'ApplicationResponse',
  'Catalogue',
  'RemittanceAdvice',
  'ForwardingInstructions',
  'TransportExecutionPlanRequest',
  'TransportExecutionPlan',
] as const;

interface Child {
  qname: string;
  required: boolean;
  repeats: boolean;
}

function parseChild(spec: string): Child {
  const suffix = spec.at(-1);
  const qname = suffix === '!' || suffix === '*' || suffix === '+' ? spec.slice(0, -1) : spec;
  return {
    qname,
    required: suffix === '!' || suffix === '+',
    repeats: suffix === '*' || suffix === '+',
  };
}

const CHILDREN: ReadonlyMap<string, readonly Child[]> = new Map(
  Object.entries(SEQUENCES).map(([type, children]) => [type, children.map(parseChild)]),
);

/** The type of an aggregate element (`cac:X`), or of a document root. */
export function typeOf(qname: string): string {
  const local = qname.slice(qname.indexOf(':') + 1);
  return ELEMENT_TYPES[local] ?? local;
}

/** The children the structure allows under `parentType`, or undefined for a leaf or unknown type. */
export function childrenOf(parentType: string): readonly Child[] | undefined {
  return CHILDREN.get(parentType);
}

/** Checks a chain of steps from a document root (or a parent type) exists in the structure. */
export function checkSteps(parentType: string, qnames: readonly string[]): string | undefined {
  let type = parentType;
  for (const qname of qnames) {
    const allowed = CHILDREN.get(type);
    if (allowed === undefined) return `${type} has no child elements (at ${qname})`;
    if (!allowed.some((c) => c.qname === qname)) {
      return `${qname} is not declared under ${type}`;
    }
    type = typeOf(qname);
  }
  return undefined;
}

function qnameOf(node: UblElement): string {
  return `${node.ns === CAC ? 'cac' : node.ns === CBC ? 'cbc' : '?'}:${node.name}`;
}

/** Puts every element's children in schema order (stable for repeated elements). */
export function sortToSchema(node: UblElement, type: string = node.name): void {
  const allowed = CHILDREN.get(type);
  if (allowed === undefined) return;
  const rank = (child: UblElement) => allowed.findIndex((c) => c.qname === qnameOf(child));
  node.children.sort((a, b) => rank(a) - rank(b));
  for (const child of node.children) sortToSchema(child, typeOf(qnameOf(child)));
}

/**
 * The structural problems of an outbound document, as "Order/cac:OrderLine[1]/cac:LineItem:
 * cbc:ID is required": every element declared where it stands, in order, required ones present,
 * single ones single, amounts with a currency, embedded objects with a MIME code.
 */
export function structureProblems(root: UblElement): string[] {
  const problems: string[] = [];
  check(root, root.name, root.name);
  return problems;

  function check(node: UblElement, type: string, where: string): void {
    const allowed = CHILDREN.get(type);
    if (allowed === undefined) {
      if (node.children.length > 0) problems.push(`${where}: ${type} has no child elements`);
      if (node.name.endsWith('Amount') && !node.attributes.has('currencyID')) {
        problems.push(`${where}: an amount needs @currencyID`);
      }
      if (node.name === 'EmbeddedDocumentBinaryObject' && !node.attributes.has('mimeCode')) {
        problems.push(`${where}: an embedded object needs @mimeCode`);
      }
      return;
    }
    let last = -1;
    const counts = new Map<string, number>();
    for (const child of node.children) {
      const qname = qnameOf(child);
      const index = allowed.findIndex((c) => c.qname === qname);
      const count = (counts.get(qname) ?? 0) + 1;
      counts.set(qname, count);
      const childWhere = `${where}/${qname}${count > 1 ? `[${count}]` : ''}`;
      if (index === -1) {
        problems.push(`${where}: ${qname} is not allowed in ${type}`);
        continue;
      }
      if (index < last) problems.push(`${childWhere}: out of schema order`);
      if (count > 1 && allowed[index]?.repeats !== true) {
        problems.push(`${childWhere}: ${qname} may appear once`);
      }
      last = index;
      check(child, typeOf(qname), childWhere);
    }
    for (const child of allowed) {
      if (child.required && !counts.has(child.qname)) {
        problems.push(`${where}: ${child.qname} is required`);
      }
    }
  }
}
