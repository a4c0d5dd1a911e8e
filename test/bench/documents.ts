/**
 * The bench's documents: ~1 KB XML PurchaseReservations (from buyers) and OrderBids (from
 * sellers), every one under a fresh messageId so that each request is new work, never a replay.
 */

const NOTE =
  'Delivery from our Kawasaki warehouse, palletised and shrink-wrapped; ' +
  'carrier booking confirmed on award, tracking numbers sent with the distribution notice. ' +
  'Invoices follow the settlement organ chosen for the deal; questions to trading@example.jp.';

export function reservationXml(
  buyer: string,
  tag: string,
  n: number,
  itemId: string,
  deadline: string,
): string {
  return `<?xml version="1.0" encoding="UTF-8"?>
<PurchaseReservation xmlns="urn:nakadachi:1">
  <Header>
    <MessageId>${buyer}-${tag}-${n}</MessageId>
    <Type>PurchaseReservation</Type>
    <Sender>${buyer}</Sender>
    <SentAt>2036-01-10T09:30:00+09:00</SentAt>
  </Header>
  <Body>
    <ItemId>${itemId}</ItemId>
    <Quantity>${(n % 50) + 1}</Quantity>
    <MaxUnitPrice>
      <Amount>31000</Amount>
      <Currency>JPY</Currency>
    </MaxUnitPrice>
    <NeededBy>2036-06-30</NeededBy>
    <BiddingDeadline>${deadline}</BiddingDeadline>
    <DeliveryRegion>JP-13</DeliveryRegion>
    <BuyerReference>PO-2036-${String(n).padStart(8, '0')}-TOKYO-CENTRAL/FLOOR-12</BuyerReference>
  </Body>
</PurchaseReservation>
`;
}

export function bidXml(seller: string, tag: string, n: number, reservationId: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?>
<OrderBid xmlns="urn:nakadachi:1">
  <Header>
    <MessageId>${seller}-${tag}-${n}</MessageId>
    <Type>OrderBid</Type>
    <Sender>${seller}</Sender>
    <SentAt>2036-01-10T14:05:00+09:00</SentAt>
  </Header>
  <Body>
    <ReservationId>${reservationId}</ReservationId>
    <Action>submit</Action>
    <UnitPrice>
      <Amount>${30000 - (n % 500)}</Amount>
      <Currency>JPY</Currency>
    </UnitPrice>
    <Quantity>200</Quantity>
    <PromisedDeliveryDate>2036-04-03</PromisedDeliveryDate>
    <Note>${NOTE}</Note>
  </Body>
</OrderBid>
`;
}

export interface LoadPlan {
  url: string;
  buyers: { id: string; apiKey: string }[];
  sellers: { id: string; apiKey: string }[];
  itemId: string;
  reservationIds: string[];
  deadline: string;
  /** Distinguishes the messageIds of one load run from another's. */
  runTag: string;
}

/** The n-th request of a plan: reservations and bids alternate, spread over partners and rows. */
export function nthRequest(plan: LoadPlan, n: number): { apiKey: string; body: string } {
  if (n % 2 === 0) {
    const buyer = plan.buyers[(n >> 1) % plan.buyers.length]!;
    return {
      apiKey: buyer.apiKey,
      body: reservationXml(buyer.id, plan.runTag, n, plan.itemId, plan.deadline),
    };
  }
  const seller = plan.sellers[(n >> 1) % plan.sellers.length]!;
  const reservation = plan.reservationIds[(n >> 1) % plan.reservationIds.length]!;
  return { apiKey: seller.apiKey, body: bidXml(seller.id, plan.runTag, n, reservation) };
}
