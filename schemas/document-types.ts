/**
 * The document types of the wire contract (schemas/README.md, DESIGN §2). Each type has
 * `schemas/<Type>.schema.json` and examples in `schemas/examples/<Type>.{json,xml}`.
 */

export type PartnerRole = 'seller' | 'buyer' | 'settlement' | 'carrier';

export const PARTNER_ROLES = [
  'seller',
  'buyer',
  'settlement',
  'carrier',
] as const satisfies readonly PartnerRole[];

/** Documents partners send to the gateway, in lifecycle order. */
export const INBOUND_TYPES = [
  'ItemNotice',
  'PurchaseReservation',
  'OrderBid',
  'PurchaseConfirmation',
  'OrderConfirmation',
  'SettlementTerms',
  'TransportTerms',
  'ECheckRequest',
  'CommodityOrder',
  'DistributionNotice',
  'DistributionInstruction',
  'DeliverySchedule',
  'PaymentNotice',
  'PaymentDemand',
  'DeliveryStatus',
  'DeliveryComplete',
] as const;

/** Documents the gateway sends (sender is the gateway, header.recipient is required). */
export const OUTBOUND_TYPES = [
  'ItemFeed',
  'ReservationFeed',
  'Award',
  'IntermediaryTerms',
  'BidResult',
  'NoAward',
  'SettlementRequest',
  'SettlementCommission',
  'TransportRequest',
  'TransportCommission',
  'TenderResult',
  'ECheck',
  'ECheckRefusal',
  'PaymentAdvice',
  'SettlementInstruction',
  'Receipt',
] as const;

export const DOCUMENT_TYPES = [...INBOUND_TYPES, ...OUTBOUND_TYPES] as const;

export type InboundType = (typeof INBOUND_TYPES)[number];
export type OutboundType = (typeof OUTBOUND_TYPES)[number];
export type DocumentType = (typeof DOCUMENT_TYPES)[number];

/** The partner roles allowed to send each inbound type (403 ROLE_NOT_ALLOWED otherwise). */
export const INBOUND_SENDER_ROLES: Readonly<Record<InboundType, readonly PartnerRole[]>> = {
  ItemNotice: ['seller'],
  PurchaseReservation: ['buyer'],
  OrderBid: ['seller'],
  PurchaseConfirmation: ['buyer'],
  OrderConfirmation: ['seller'],
  SettlementTerms: ['settlement'],
  TransportTerms: ['carrier'],
  ECheckRequest: ['buyer'],
  CommodityOrder: ['buyer'],
  DistributionNotice: ['seller'],
  DistributionInstruction: ['seller'],
  DeliverySchedule: ['carrier'],
  PaymentNotice: ['buyer'],
  PaymentDemand: ['seller'],
  DeliveryStatus: ['carrier'],
  DeliveryComplete: ['carrier'],
};

const DOCUMENT_TYPE_SET: ReadonlySet<string> = new Set(DOCUMENT_TYPES);
const INBOUND_TYPE_SET: ReadonlySet<string> = new Set(INBOUND_TYPES);
const OUTBOUND_TYPE_SET: ReadonlySet<string> = new Set(OUTBOUND_TYPES);

export function isDocumentType(value: unknown): value is DocumentType {
  return typeof value === 'string' && DOCUMENT_TYPE_SET.has(value);
}

export function isInboundType(value: unknown): value is InboundType {
  return typeof value === 'string' && INBOUND_TYPE_SET.has(value);
}

export function isOutboundType(value: unknown): value is OutboundType {
  return typeof value === 'string' && OUTBOUND_TYPE_SET.has(value);
}
