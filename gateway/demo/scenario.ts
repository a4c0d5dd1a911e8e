/**
 * The story the demo plays: one product, two reservations, one deal, from the first item notice
 * to delivery complete and payment — DESIGN.md §2 steps 1–16. Each partner acts only on what the
 * gateway pushed it (the deal id from the award, the tender ids from the calls for terms, the
 * check from the ECheck, the order id from the seller's copy of the order).
 */
import { JUDGE_RESERVATIONS } from '../../jobs/judge-reservations.ts';
import { JUDGE_TENDERS } from '../../jobs/judge-tenders.ts';
import type {
  AwardBody,
  CommodityOrderBody,
  ECheckBody,
  IntermediaryTermsBody,
  ItemFeedBody,
  ReservationFeedBody,
  SettlementRequestBody,
  TransportRequestBody,
} from '../../schemas/documents.generated.ts';
import { parseMoney, type Money, type WireMoney } from '../core/money.ts';
import { BUYER_A_SHOP, SELLER_A_WAREHOUSE, type PartyId } from './cast.ts';
import { clockText, daysFrom, moneyText } from './format.ts';
import type { Stage } from './stage.ts';

/** How long sellers may bid: enough for this machine to send four bids, short enough to watch. */
const BIDDING_WINDOW_MS = 5000;
/** Past a deadline, the judge is woken this much later (the database clock must be past it too). */
const AFTER_DEADLINE_MS = 250;

export interface DealFacts {
  dealId: string;
  buyer: string;
  seller: string;
  total: Money;
  /** As the gateway stated it in IntermediaryTerms. */
  commission: Money;
  /** What the operator paid into the buyer's account. */
  funded: Money;
}

const ITEM = 'Aozora HX-9 headphones';
/**
 * The prices and terms below make SELLER-A, SETTLE-A and CARRIER-A the winners; the gateway
 * judges, and should it judge otherwise, the wait for the winner's document fails and says so.
 */
const SELLER = 'SELLER-A';
const BUYER = 'BUYER-A';
const CARRIER = 'CARRIER-A';
const SETTLER = 'SETTLE-A';
const yen = (amount: string): WireMoney => ({ amount, currency: 'JPY' });

export async function playScenario(stage: Stage): Promise<DealFacts> {
  const { act, pushed, timeline } = stage;
  const today = new Date();
  const day = (n: number) => daysFrom(today, n);

  // ------------------------------------------------------------------ A. catalogue
  timeline.phase(
    'A',
    'Catalogue — seed 000, claims 1, 5, 6',
    'Sellers announce items before they are on the market. The gateway keeps one catalogue entry per product (matched by GTIN), with each seller’s own offer, and tells buyers: at once if they subscribed to real-time notices, or when they ask.',
  );
  const { itemId = '' } = await act('SELLER-A', 'ItemNotice', {
    sellerItemId: 'AZ-HX9-BLK',
    gtin: '4901234567894',
    name: ITEM,
    description: 'Hybrid active noise cancelling, 40 h battery, multipoint Bluetooth 5.4.',
    category: 'audio/headphones',
    releaseDate: day(42),
    listPrice: yen('32800'),
    quantityAvailable: 5000,
    regions: ['JP'],
    attributes: [{ name: 'colour', value: 'Midnight Black' }],
  });
  await pushed<ItemFeedBody>('BUYER-A', 'ItemFeed', (b) =>
    b.items.some((i) => i.itemId === itemId),
  );
  await act('SELLER-B', 'ItemNotice', {
    sellerItemId: 'NLE-4711-093',
    gtin: '4901234567894',
    name: ITEM,
    category: 'audio/headphones',
    releaseDate: day(42),
    listPrice: yen('33500'),
    quantityAvailable: 800,
    regions: ['JP', 'DE'],
  });
  await pushed<ItemFeedBody>('BUYER-A', 'ItemFeed', (b) =>
    b.items.some((i) => i.offers.some((o) => o.seller === 'SELLER-B')),
  );
  const catalogue = await stage.look<ItemFeedBody>('BUYER-B', '/v1/items');
  timeline.request(
    'BUYER-B',
    'GET /v1/items',
    `looks at the catalogue: ${catalogue.items
      .map(
        (i) =>
          `${i.name}, offered by ${i.offers.map((o) => `${o.seller} at ${moneyText(o.listPrice)}`).join(' and ')}`,
      )
      .join('; ')}`,
  );

  // ------------------------------------------------------------------ B. reservation, selection
  timeline.phase(
    'B',
    'Reservation and seller selection — seed 000, claims 1, 4',
    'Buyers reserve the item before release: quantity, maximum unit price, needed-by date and a bidding deadline. Sellers that carry the item bid, and may revise a bid until the deadline. Then the gateway judges: a bid is eligible if it covers the quantity, stays within the maximum price and delivers in time; the most suitable is the lowest total. Buyer and seller then both confirm.',
  );
  const biddingDeadline = Date.now() + BIDDING_WINDOW_MS;
  async function reserve(
    buyer: PartyId,
    quantity: number,
    max: string,
    by: string,
    region: string,
  ) {
    const { reservationId = '' } = await act(buyer, 'PurchaseReservation', {
      itemId,
      quantity,
      maxUnitPrice: yen(max),
      neededBy: by,
      biddingDeadline: new Date(biddingDeadline).toISOString(),
      deliveryRegion: region,
    });
    await pushed<ReservationFeedBody>('SELLER-A', 'ReservationFeed', (b) =>
      b.reservations.some((r) => r.reservationId === reservationId),
    );
    return reservationId;
  }
  const reservationA = await reserve(BUYER, 200, '31000', day(70), 'JP-27');
  const reservationB = await reserve('BUYER-B', 50, '30000', day(45), 'JP-01');
  const open = await stage.look<{
    reservations: { quantity: number; maxUnitPrice: WireMoney }[];
  }>('SELLER-B', '/v1/reservations');
  timeline.request(
    'SELLER-B',
    'GET /v1/reservations',
    `asks which reservations it may bid on: ${open.reservations
      .map((r) => `${r.quantity} at most ${moneyText(r.maxUnitPrice)} each`)
      .join(', ')}`,
  );
  const bid = (
    seller: PartyId,
    reservationId: string,
    quantity: number,
    price: string,
    by: string,
  ) =>
    act(seller, 'OrderBid', {
      reservationId,
      action: 'submit',
      unitPrice: yen(price),
      quantity,
      promisedDeliveryDate: by,
    });
  await bid(SELLER, reservationA, 200, '29800', day(60));
  await bid('SELLER-B', reservationA, 200, '30900', day(52));
  await bid('SELLER-B', reservationA, 200, '30500', day(52));
  // Cheap, but later than BUYER-B needs the goods: the judge will find it ineligible.
  await bid('SELLER-B', reservationB, 50, '29500', day(52));
  timeline.wait(
    `bidding closes at ${clockText(new Date(biddingDeadline))}, in ${seconds(biddingDeadline)}; then the judge-reservations job judges both reservations (it runs every 5 s; the demo wakes it at the deadline) …`,
  );
  await stage.waitUntil(biddingDeadline + AFTER_DEADLINE_MS);
  stage.wake(JUDGE_RESERVATIONS);
  const award = await pushed<AwardBody>(BUYER, 'Award', (b) => b.reservationId === reservationA);
  const { dealId } = award;
  if (award.seller !== SELLER)
    throw new Error(`the gateway selected ${award.seller}, not ${SELLER}`);
  const terms = await pushed<IntermediaryTermsBody>(
    SELLER,
    'IntermediaryTerms',
    (b) => b.dealId === dealId,
  );
  await pushed(
    'SELLER-B',
    'BidResult',
    (b: { reservationId: string }) => b.reservationId === reservationA,
  );
  await pushed(
    'SELLER-B',
    'BidResult',
    (b: { reservationId: string }) => b.reservationId === reservationB,
  );
  await pushed('BUYER-B', 'NoAward');
  await act(BUYER, 'PurchaseConfirmation', { dealId, decision: 'accept' });

  // ------------------------------------------------------------------ C. tenders
  // The seller's confirmation opens the tenders: the calls for terms belong under C.
  await timeline.holding(async () => {
    await act(SELLER, 'OrderConfirmation', { dealId, decision: 'accept' });
    timeline.phase(
      'C',
      'Settlement and transport tenders — seed 000, claims 2, 3',
      'The confirmed deal needs a settlement organ to settle the payment and a carrier to move the goods. The gateway asks every registered one for terms and, at the terms deadline, commissions the terms most advantageous to the buyer: the lowest cost, then the fastest.',
    );
  });
  const settlementCalls = await Promise.all(
    (['SETTLE-A', 'SETTLE-B'] as const).map((id) =>
      pushed<SettlementRequestBody>(id, 'SettlementRequest', (b) => b.dealId === dealId),
    ),
  );
  const transportCalls = await Promise.all(
    (['CARRIER-A', 'CARRIER-B'] as const).map((id) =>
      pushed<TransportRequestBody>(id, 'TransportRequest', (b) => b.dealId === dealId),
    ),
  );
  const settlementTender = settlementCalls[0]?.tenderId ?? '';
  const transportTender = transportCalls[0]?.tenderId ?? '';
  await act('SETTLE-A', 'SettlementTerms', {
    tenderId: settlementTender,
    fixedFee: yen('500'),
    ratePercent: '0.5',
    settlementDays: 2,
  });
  await act('SETTLE-B', 'SettlementTerms', {
    tenderId: settlementTender,
    fixedFee: yen('0'),
    ratePercent: '0.8',
    settlementDays: 1,
  });
  await act('CARRIER-A', 'TransportTerms', {
    tenderId: transportTender,
    fee: yen('88000'),
    pickupDate: day(57),
    deliveryDate: day(59),
  });
  await act('CARRIER-B', 'TransportTerms', {
    tenderId: transportTender,
    fee: yen('95000'),
    pickupDate: day(57),
    deliveryDate: day(58),
  });
  const termsDeadline = Math.max(
    ...[...settlementCalls, ...transportCalls].map((call) => Date.parse(call.termsDeadline)),
  );
  timeline.wait(
    `the tenders close at ${clockText(new Date(termsDeadline))}, in ${seconds(termsDeadline)}; then the judge-tenders job picks the winners (it runs every 5 s; the demo wakes it) …`,
  );
  await stage.waitUntil(termsDeadline + AFTER_DEADLINE_MS);
  stage.wake(JUDGE_TENDERS);
  await pushed(SETTLER, 'SettlementCommission');
  await pushed('SETTLE-B', 'TenderResult');
  await pushed(CARRIER, 'TransportCommission');
  await pushed('CARRIER-B', 'TenderResult');

  // ------------------------------------------------------------------ D. e-check order
  timeline.phase(
    'D',
    'Electronic check order — seed 004',
    'BUYER-A pays with an electronic check. The gateway keeps the partners’ accounts: it judges the buyer’s credit (available = balance + credit limit − held), holds the amount and issues a signed check; it validates the check before the seller sees the order, and pays the seller exactly once when the seller presents it, less the commission. The goods travel with the carrier that won the tender.',
  );
  const buyer = BUYER;
  const seller = SELLER;
  const checkRequest = { seller, carrier: CARRIER, amount: award.total, dealId };
  const first = yen('5000000');
  const topUp = yen('1000000');
  await stage.fund(buyer, first, 'WIRE-0001');
  // Not enough yet: the credit judgement refuses the check, and nothing is held.
  await act(buyer, 'ECheckRequest', checkRequest);
  await pushed(buyer, 'ECheckRefusal');
  await stage.fund(buyer, topUp, 'WIRE-0002');
  await act(buyer, 'ECheckRequest', checkRequest);
  const echeck = await pushed<ECheckBody>(buyer, 'ECheck', (b) => b.dealId === dealId);
  await act(buyer, 'CommodityOrder', {
    seller,
    checkNumber: echeck.checkNumber,
    echeck: echeck.echeck,
    dealId,
    lines: [{ itemId, quantity: award.quantity, unitPrice: award.unitPrice }],
    total: echeck.amount,
    distributionAddress: BUYER_A_SHOP,
    orderReference: 'KSD-PO-0412',
  });
  const order = await pushed<CommodityOrderBody>(
    seller,
    'CommodityOrder',
    (b) => b.checkNumber === echeck.checkNumber,
  );
  const orderId = order.orderId ?? '';
  await act(seller, 'DistributionNotice', {
    orderId,
    carrier: CARRIER,
    expectedShipDate: day(57),
  });
  await pushed(buyer, 'DistributionNotice');
  await act(seller, 'DistributionInstruction', {
    orderId,
    commodities: order.lines.map((l) => ({ itemId: l.itemId, name: ITEM, quantity: l.quantity })),
    distributionAddress: order.distributionAddress,
    pickupAddress: SELLER_A_WAREHOUSE,
    neededBy: day(60),
  });
  await pushed(CARRIER, 'DistributionInstruction');
  await act(CARRIER, 'DeliverySchedule', {
    orderId,
    deliveryDate: day(59),
    windowStart: `${day(59)}T10:00:00+09:00`,
    windowEnd: `${day(59)}T14:00:00+09:00`,
  });
  await pushed(seller, 'DeliverySchedule');
  await pushed(buyer, 'DeliverySchedule');
  await act(buyer, 'PaymentNotice', {
    orderId,
    checkNumber: echeck.checkNumber,
    amount: echeck.amount,
  });
  await pushed(seller, 'PaymentNotice');
  await act(seller, 'PaymentDemand', {
    checkNumber: echeck.checkNumber,
    echeck: echeck.echeck,
    sellingOffice: seller,
    orderId,
    amount: echeck.amount,
  });
  await pushed(seller, 'PaymentAdvice');
  await pushed(buyer, 'PaymentAdvice');
  await pushed(SETTLER, 'SettlementInstruction');
  await act(CARRIER, 'DeliveryStatus', {
    orderId,
    status: 'in-transit',
    at: `${day(58)}T16:40:00+09:00`,
    location: 'Yamabiko hub, Kawasaki',
  });
  await pushed(seller, 'DeliveryStatus');
  await act(CARRIER, 'DeliveryComplete', {
    orderId,
    deliveredAt: `${day(59)}T11:20:00+09:00`,
    receivedBy: 'K. Sato',
  });
  await pushed(seller, 'DeliveryComplete');

  const funded = parseMoney(first, '').minor + parseMoney(topUp, '').minor;
  return {
    dealId,
    buyer,
    seller,
    total: parseMoney(award.total, '/total'),
    commission: parseMoney(terms.commission, '/commission'),
    funded: { minor: funded, currency: 'JPY' },
  };
}

function seconds(at: number): string {
  return `${(Math.max(0, at - Date.now()) / 1000).toFixed(1)} s`;
}
