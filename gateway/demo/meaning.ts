/**
 * One line in plain words for each document of the demo, read from the document itself (and, for
 * names and totals the document only refers to, from what the story has seen so far) — so the
 * timeline shows what the gateway really sent, not what the demo meant it to send.
 */
import type { DocumentBodies } from '../../schemas/documents.generated.ts';
import type { CanonicalDocument } from '../core/document.ts';
import { parseMoney, percentOf, type Money, type WireMoney } from '../core/money.ts';
import { clockText, dayText, minorText, moneyText, shortId, wallClockOf } from './format.ts';

/** What the narrator knows besides the document at hand. */
export interface Story {
  /** Item names by gateway item id. */
  items: Map<string, string>;
  /** The buyer and size of each reservation. */
  reservations: Map<string, { buyer: string; quantity: number; itemId: string }>;
  /** Buyer, seller and total of each deal, and which sides have accepted it. */
  deals: Map<
    string,
    { buyer: string; seller: string; total: WireMoney; accepted: Set<'buyer' | 'seller'> }
  >;
  /** The deal total each tender is about (settlement terms are a rate of it). */
  tenders: Map<string, WireMoney>;
  /** Names of the region codes documents use ("JP-27" → "Osaka"). */
  regions: Map<string, string>;
}

export function newStory(regions: Record<string, string> = {}): Story {
  return {
    items: new Map(),
    reservations: new Map(),
    deals: new Map(),
    tenders: new Map(),
    regions: new Map(Object.entries(regions)),
  };
}

/**
 * What the narrator learns from a document once it has been described: the names and totals
 * that later documents only refer to by id. `assigned` comes from the receipt of an inbound
 * document, `recipient` is who an outbound one was pushed to.
 */
export function learn(
  story: Story,
  document: CanonicalDocument,
  context: { assigned?: Record<string, string>; recipient?: string },
): void {
  const { assigned = {}, recipient = '' } = context;
  const body = document.body;
  switch (document.header.type) {
    case 'ItemNotice':
      if (assigned.itemId !== undefined) {
        story.items.set(assigned.itemId, (body as unknown as Body<'ItemNotice'>).name);
      }
      return;
    case 'PurchaseReservation': {
      const b = body as unknown as Body<'PurchaseReservation'>;
      if (assigned.reservationId !== undefined) {
        story.reservations.set(assigned.reservationId, {
          buyer: document.header.sender,
          quantity: b.quantity,
          itemId: b.itemId,
        });
      }
      return;
    }
    case 'Award': {
      const b = body as unknown as Body<'Award'>;
      story.deals.set(b.dealId, {
        buyer: recipient,
        seller: b.seller,
        total: b.total,
        accepted: new Set(),
      });
      return;
    }
    case 'PurchaseConfirmation':
    case 'OrderConfirmation': {
      const b = body as unknown as Body<'PurchaseConfirmation'>;
      const side = document.header.type === 'PurchaseConfirmation' ? 'buyer' : 'seller';
      if (b.decision === 'accept') story.deals.get(b.dealId)?.accepted.add(side);
      return;
    }
    case 'SettlementRequest': {
      const b = body as unknown as Body<'SettlementRequest'>;
      story.tenders.set(b.tenderId, b.total);
      return;
    }
  }
}

function region(story: Story, code: string): string {
  const name = story.regions.get(code);
  return name === undefined ? code : name;
}

type Body<K extends keyof DocumentBodies> = DocumentBodies[K];

function times(unit: WireMoney, quantity: number): Money {
  const money = parseMoney(unit, '');
  return { minor: money.minor * BigInt(quantity), currency: money.currency };
}

function itemName(story: Story, itemId: string): string {
  return story.items.get(itemId) ?? shortId(itemId);
}

function at(iso: string): string {
  return `${dayText(iso)} ${clockText(iso)}`;
}

function lines(story: Story, items: readonly { itemId: string; quantity: number }[]): string {
  return items.map((l) => `${l.quantity} × ${itemName(story, l.itemId)}`).join(', ');
}

function settlementCost(total: WireMoney | undefined, fixedFee: WireMoney, rate: string): string {
  if (total === undefined) return '';
  const fee = parseMoney(fixedFee, '');
  const cost = fee.minor + percentOf(parseMoney(total, '').minor, rate);
  return ` (${minorText({ minor: cost, currency: fee.currency })} on this deal)`;
}

/** What an accepted inbound document asks for; `assigned` is what its receipt assigned. */
export function describeInbound(
  document: CanonicalDocument,
  story: Story,
  assigned: Record<string, string>,
): string {
  const { type } = document.header;
  const body = document.body;
  switch (type) {
    case 'ItemNotice': {
      const b = body as unknown as Body<'ItemNotice'>;
      const offer = `${b.quantityAvailable.toLocaleString('en-US')} available at ${moneyText(b.listPrice)} list price`;
      return assigned.itemId !== undefined && story.items.has(assigned.itemId)
        ? `also carries ${b.name} (same GTIN, so the same item): ${offer}`
        : `announces a new item not yet on the market, ${b.name}: release date ${dayText(b.releaseDate)}, ${offer}`;
    }
    case 'PurchaseReservation': {
      const b = body as unknown as Body<'PurchaseReservation'>;
      const to = b.deliveryRegion === undefined ? '' : ` to ${region(story, b.deliveryRegion)}`;
      return `wants ${b.quantity} × ${itemName(story, b.itemId)} at most ${moneyText(b.maxUnitPrice)} each, delivered${to} by ${dayText(b.neededBy)}; sellers may bid until ${clockText(b.biddingDeadline)}`;
    }
    case 'OrderBid': {
      const b = body as unknown as Body<'OrderBid'>;
      const reservation = story.reservations.get(b.reservationId);
      const whose =
        reservation === undefined ? 'a reservation' : `${reservation.buyer}'s reservation`;
      if (b.action === 'withdraw') return `withdraws its bid on ${whose}`;
      const quantity = b.quantity ?? 0;
      const version = Number(assigned.bidVersion ?? '1');
      const revised =
        version > 1 ? `revises its bid (version ${version}) on ${whose}` : `bids on ${whose}`;
      return `${revised}: ${quantity} × ${b.unitPrice === undefined ? '?' : moneyText(b.unitPrice)} = ${b.unitPrice === undefined ? '?' : minorText(times(b.unitPrice, quantity))}, delivery by ${dayText(b.promisedDeliveryDate ?? '')}`;
    }
    case 'PurchaseConfirmation':
    case 'OrderConfirmation': {
      const b = body as unknown as Body<'PurchaseConfirmation'>;
      const deal = story.deals.get(b.dealId);
      if (b.decision === 'decline') return `declines deal ${shortId(b.dealId)}`;
      if (deal === undefined) return `accepts deal ${shortId(b.dealId)}`;
      const buying = type === 'PurchaseConfirmation';
      const other = deal.accepted.has(buying ? 'seller' : 'buyer');
      const then = other ? ' — both sides have accepted: the deal is confirmed' : '';
      return buying
        ? `accepts: buys from ${deal.seller} for ${moneyText(deal.total)}${then}`
        : `accepts: sells to ${deal.buyer} for ${moneyText(deal.total)}${then}`;
    }
    case 'SettlementTerms': {
      const b = body as unknown as Body<'SettlementTerms'>;
      return `offers ${moneyText(b.fixedFee)} + ${b.ratePercent} %${settlementCost(story.tenders.get(b.tenderId), b.fixedFee, b.ratePercent)}, paid out in ${b.settlementDays} day${b.settlementDays === 1 ? '' : 's'}`;
    }
    case 'TransportTerms': {
      const b = body as unknown as Body<'TransportTerms'>;
      return `offers ${moneyText(b.fee)}: pick-up ${dayText(b.pickupDate)}, delivery ${dayText(b.deliveryDate)}`;
    }
    case 'ECheckRequest': {
      const b = body as unknown as Body<'ECheckRequest'>;
      const what = b.dealId === undefined ? 'an order' : 'its deal';
      return `asks the gateway for an e-check of ${moneyText(b.amount)} to pay ${b.seller} for ${what}, goods carried by ${b.carrier}`;
    }
    case 'CommodityOrder': {
      const b = body as unknown as Body<'CommodityOrder'>;
      return `orders ${lines(story, b.lines)} from ${b.seller}, paying with e-check ${shortId(b.checkNumber)}; deliver to ${b.distributionAddress.city}`;
    }
    default:
      return describeShared(document);
  }
}

/** What a document the gateway pushed tells its recipient. */
export function describeOutbound(document: CanonicalDocument, story: Story): string {
  const { type } = document.header;
  const body = document.body;
  switch (type) {
    case 'ItemFeed': {
      const b = body as unknown as Body<'ItemFeed'>;
      return `catalogue news, sent at once to subscribers: ${b.items
        .map(
          (i) =>
            `${i.name}, release date ${dayText(i.releaseDate)}, offered by ${i.offers
              .map((o) => `${o.seller} at ${moneyText(o.listPrice)}`)
              .join(' and ')}`,
        )
        .join('; ')}`;
    }
    case 'ReservationFeed': {
      const b = body as unknown as Body<'ReservationFeed'>;
      return b.reservations
        .map(
          (r) =>
            `a buyer (named only at the award) wants ${r.quantity} × ${itemName(story, r.itemId)} at most ${moneyText(r.maxUnitPrice)} each by ${dayText(r.neededBy)}; bids close ${clockText(r.biddingDeadline)}`,
        )
        .join('; ');
    }
    case 'Award': {
      const b = body as unknown as Body<'Award'>;
      return `the gateway selects ${b.seller}, the most suitable bid (lowest total): ${b.quantity} × ${moneyText(b.unitPrice)} = ${moneyText(b.total)}, delivery by ${dayText(b.promisedDeliveryDate)}; confirm by ${at(b.confirmBy)}`;
    }
    case 'IntermediaryTerms': {
      const b = body as unknown as Body<'IntermediaryTerms'>;
      return `you are selected to sell ${b.quantity} units to ${b.buyer} for ${moneyText(b.total)}; the gateway's terms: ${moneyText(b.commission)} commission (${b.commissionRatePercent} %); confirm by ${at(b.confirmBy)}`;
    }
    case 'BidResult': {
      const b = body as unknown as Body<'BidResult'>;
      const whose = story.reservations.get(b.reservationId)?.buyer;
      const on = whose === undefined ? '' : ` on ${whose}'s reservation`;
      return b.outcome === 'ineligible'
        ? `your bid${on} is ineligible: ${b.reason}`
        : `your bid${on} was not selected: ${b.reason}`;
    }
    case 'NoAward': {
      const b = body as unknown as Body<'NoAward'>;
      const reservation = story.reservations.get(b.reservationId);
      const what =
        reservation === undefined
          ? 'your reservation'
          : `your ${reservation.quantity} × ${itemName(story, reservation.itemId)}`;
      return `no seller for ${what}: ${b.reason}`;
    }
    case 'SettlementRequest': {
      const b = body as unknown as Body<'SettlementRequest'>;
      return `call for settlement terms: ${b.buyer} pays ${b.seller} ${moneyText(b.total)}; answer by ${clockText(b.termsDeadline)}`;
    }
    case 'TransportRequest': {
      const b = body as unknown as Body<'TransportRequest'>;
      const goods = b.items.map((i) => `${i.quantity} × ${i.name}`).join(', ');
      const to =
        b.destinationRegion === undefined ? 'the buyer' : region(story, b.destinationRegion);
      return `call for transport terms: ${goods} from ${b.seller} to ${to} by ${dayText(b.neededBy)}; answer by ${clockText(b.termsDeadline)}`;
    }
    case 'SettlementCommission': {
      const b = body as unknown as Body<'SettlementCommission'>;
      return `you settle the deal: ${moneyText(b.fixedFee)} + ${b.ratePercent} %${settlementCost(b.total, b.fixedFee, b.ratePercent)}, the terms cheapest for the buyer`;
    }
    case 'TransportCommission': {
      const b = body as unknown as Body<'TransportCommission'>;
      return `you carry the deal: ${moneyText(b.fee)}, pick-up ${dayText(b.pickupDate)}, delivery ${dayText(b.deliveryDate)} — the terms cheapest for the buyer`;
    }
    case 'TenderResult': {
      const b = body as unknown as Body<'TenderResult'>;
      return `your terms were not selected: ${b.reason}`;
    }
    case 'ECheckRefusal': {
      const b = body as unknown as Body<'ECheckRefusal'>;
      return `no check — ${b.reason}: ${b.message}`;
    }
    case 'ECheck': {
      const b = body as unknown as Body<'ECheck'>;
      return `e-check ${shortId(b.checkNumber)}: ${moneyText(b.amount)} payable to ${b.seller}, signed by the gateway, valid until ${dayText(b.expiresAt)}; the amount is now held on ${b.buyer}'s account`;
    }
    case 'CommodityOrder': {
      const b = body as unknown as Body<'CommodityOrder'>;
      const order = b.orderId === undefined ? 'an order' : `order ${shortId(b.orderId)}`;
      return `${order}: ${lines(story, b.lines)} for ${moneyText(b.total)}, its e-check already validated by the gateway; deliver to ${b.distributionAddress.name}, ${b.distributionAddress.city}`;
    }
    case 'PaymentAdvice': {
      const b = body as unknown as Body<'PaymentAdvice'>;
      const amount = parseMoney(b.amount, '');
      const net = {
        minor: amount.minor - parseMoney(b.commission, '').minor,
        currency: amount.currency,
      };
      const how =
        b.status === 'paid'
          ? `paid: ${moneyText(b.amount)} moved from ${b.payer}`
          : `escrowed until delivery: ${moneyText(b.amount)} from ${b.payer}`;
      return `${how}; ${b.payee} is credited ${minorText(net)} after the ${moneyText(b.commission)} commission`;
    }
    case 'SettlementInstruction': {
      const b = body as unknown as Body<'SettlementInstruction'>;
      return `settle it: ${b.payer} pays ${b.payee} ${moneyText(b.amount)} (the gateway keeps ${moneyText(b.commission)}), value date ${dayText(b.valueDate)}`;
    }
    default:
      return describeShared(document);
  }
}

/** Documents the gateway forwards as they came: the same words either way. */
function describeShared(document: CanonicalDocument): string {
  const body = document.body;
  switch (document.header.type) {
    case 'DistributionNotice': {
      const b = body as unknown as Body<'DistributionNotice'>;
      return `order ${shortId(b.orderId)} will ship on ${dayText(b.expectedShipDate)} with ${b.carrier}`;
    }
    case 'DistributionInstruction': {
      const b = body as unknown as Body<'DistributionInstruction'>;
      const from = b.pickupAddress === undefined ? '' : ` at ${b.pickupAddress.city}`;
      const by = b.neededBy === undefined ? '' : ` by ${dayText(b.neededBy)}`;
      return `collect ${b.commodities.map((c) => `${c.quantity} × ${c.name}`).join(', ')}${from}, deliver to ${b.distributionAddress.name}, ${b.distributionAddress.city}${by}`;
    }
    case 'DeliverySchedule': {
      const b = body as unknown as Body<'DeliverySchedule'>;
      return `order ${shortId(b.orderId)} arrives on ${dayText(b.deliveryDate)} between ${wallClockOf(b.windowStart)} and ${wallClockOf(b.windowEnd)}`;
    }
    case 'PaymentNotice': {
      const b = body as unknown as Body<'PaymentNotice'>;
      return `will pay ${moneyText(b.amount)} for order ${shortId(b.orderId)} with e-check ${shortId(b.checkNumber)}`;
    }
    case 'PaymentDemand': {
      const b = body as unknown as Body<'PaymentDemand'>;
      return `presents e-check ${shortId(b.checkNumber)} for payment: ${moneyText(b.amount)} for order ${shortId(b.orderId)}`;
    }
    case 'DeliveryStatus': {
      const b = body as unknown as Body<'DeliveryStatus'>;
      const where = b.location === undefined ? '' : ` at ${b.location}`;
      return `order ${shortId(b.orderId)} is ${b.status.replace(/-/g, ' ')}${where}`;
    }
    case 'DeliveryComplete': {
      const b = body as unknown as Body<'DeliveryComplete'>;
      const by = b.receivedBy === undefined ? '' : `, received by ${b.receivedBy}`;
      return `order ${shortId(b.orderId)} delivered on ${dayText(b.deliveredAt)} at ${wallClockOf(b.deliveredAt)}${by}`;
    }
    default:
      return `${document.header.type} ${JSON.stringify(document.body).slice(0, 60)}`;
  }
}
