/**
 * The judging rules of seed 000, as pure functions (DESIGN §2.6 and §2.9). No database, no
 * clock: the callers pass everything in, so every rule is unit-tested on its own.
 */

export interface ReservationTerms {
  quantity: number;
  maxUnitPriceMinor: bigint;
  currency: string;
  /** yyyy-mm-dd */
  neededBy: string;
}

export interface CandidateBid {
  id: string;
  sellerId: string;
  unitPriceMinor: bigint;
  currency: string;
  quantity: number;
  /** yyyy-mm-dd */
  promisedDeliveryDate: string;
  receivedAt: Date;
}

export type Ineligibility =
  'QUANTITY_NOT_COVERED' | 'ABOVE_MAX_PRICE' | 'TOO_LATE' | 'CURRENCY_MISMATCH';

export interface BidJudgement {
  /** Eligible bids, most suitable first. */
  ranked: CandidateBid[];
  ineligible: { bid: CandidateBid; reason: Ineligibility }[];
}

function ineligibility(
  reservation: ReservationTerms,
  bid: CandidateBid,
): Ineligibility | undefined {
  if (bid.currency !== reservation.currency) return 'CURRENCY_MISMATCH';
  if (bid.quantity < reservation.quantity) return 'QUANTITY_NOT_COVERED';
  if (bid.unitPriceMinor > reservation.maxUnitPriceMinor) return 'ABOVE_MAX_PRICE';
  if (bid.promisedDeliveryDate > reservation.neededBy) return 'TOO_LATE';
  return undefined;
}

function compareBigint(a: bigint, b: bigint): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Eligible bids cover the quantity, are at most the max unit price and deliver by the needed-by
 * date. Most suitable: lowest total price for the reserved quantity, then earliest delivery, then
 * earliest received; the bid id breaks any remaining tie, so the outcome never depends on the
 * order rows came back in.
 */
export function judgeBids(
  reservation: ReservationTerms,
  bids: readonly CandidateBid[],
): BidJudgement {
  const eligible: CandidateBid[] = [];
  const ineligible: BidJudgement['ineligible'] = [];
  for (const bid of bids) {
    const reason = ineligibility(reservation, bid);
    if (reason === undefined) eligible.push(bid);
    else ineligible.push({ bid, reason });
  }
  const quantity = BigInt(reservation.quantity);
  eligible.sort(
    (a, b) =>
      compareBigint(a.unitPriceMinor * quantity, b.unitPriceMinor * quantity) ||
      a.promisedDeliveryDate.localeCompare(b.promisedDeliveryDate) ||
      a.receivedAt.getTime() - b.receivedAt.getTime() ||
      a.id.localeCompare(b.id),
  );
  return { ranked: eligible, ineligible };
}

export function describeIneligibility(
  reason: Ineligibility,
  reservation: ReservationTerms,
): string {
  switch (reason) {
    case 'QUANTITY_NOT_COVERED':
      return `the bid does not cover the reserved quantity of ${reservation.quantity}`;
    case 'ABOVE_MAX_PRICE':
      return 'the unit price is above the maximum the buyer accepts';
    case 'TOO_LATE':
      return `the promised delivery is after the needed-by date ${reservation.neededBy}`;
    case 'CURRENCY_MISMATCH':
      return `the bid is not in the reservation's currency ${reservation.currency}`;
  }
}

export interface CandidateTerms {
  organId: string;
  /** What the terms cost the buyer on this deal, in the deal's currency. */
  costMinor: bigint;
  /** Days to settle, or the transport's delivery date as days from now: lower is faster. */
  speed: number;
  receivedAt: Date;
}

/**
 * Terms most advantageous to the buyer: lowest cost, then faster, then earliest received, then
 * organ id (deterministic).
 */
export function rankTerms(terms: readonly CandidateTerms[]): CandidateTerms[] {
  return [...terms].sort(
    (a, b) =>
      compareBigint(a.costMinor, b.costMinor) ||
      a.speed - b.speed ||
      a.receivedAt.getTime() - b.receivedAt.getTime() ||
      a.organId.localeCompare(b.organId),
  );
}
