/**
 * The trading flow of seed 000 (claims 1–4): purchase reservations from buyers, order bids from
 * the sellers that carry the item, judging of the most suitable seller at the deadline, the
 * intermediary's terms to it, purchase and order confirmations, and the settlement and transport
 * tenders of a confirmed deal. Handlers run in the document's transaction; the judges run in
 * their own, claiming due rows with SKIP LOCKED and moving each by compare-and-set, so a judge
 * that runs twice, or on two replicas, acts once.
 */
import type { Kysely, Transaction } from 'kysely';
import type {
  OrderBidBody,
  OrderConfirmationBody,
  PurchaseConfirmationBody,
  PurchaseReservationBody,
  SettlementTermsBody,
  TransportTermsBody,
} from '../../../schemas/documents.generated.ts';
import type { BidStatus, Database, ReservationStatus } from '../../db/tables.ts';
import { GatewayError } from '../errors.ts';
import { noticeReservationOpened } from '../feeds/feeds.service.ts';
import { newId } from '../ids.ts';
import { formatMoney, parseMoney, percentOf, type Money } from '../money.ts';
import type {
  DocumentHandler,
  HandlerContext,
  HandlerResult,
  OutboundDocument,
} from '../pipeline/handlers.ts';
import { RunAlone, type GatheredWrite } from '../pipeline/group-commit.ts';
import { sendOneBy, type EnqueueOutbound } from '../pipeline/pipeline.service.ts';
import {
  activePartnersWithRole,
  findDeal,
  findItemForNewReservation,
  findItemForReservation,
  findReservation,
  findReservationForBid,
  findTenderForOrgan,
  insertDeal,
  insertDeals,
  insertReservation,
  insertReservations,
  insertTender,
  listBidsFor,
  listTerms,
  lockDueReservations,
  lockDueTenders,
  lockLapsedDeals,
  recordDecision,
  setBidStatus,
  setDealStatus,
  setReservationStatus,
  type NewDeal,
  type NewBid,
  type NewReservation,
  type SavedBid,
  upsertBid,
  upsertBids,
  upsertTerms,
  withdrawBid,
} from './trading.repository.ts';
import { describeIneligibility, judgeBids, rankTerms, type CandidateBid } from './selection.ts';

export interface TradingSettings {
  commissionRatePercent: string;
  confirmWindowS: number;
  tenderWindowS: number;
}

export interface TradingDeps {
  db: Kysely<Database>;
  settings: TradingSettings;
  enqueue: EnqueueOutbound;
}

type Send = (outbound: OutboundDocument) => Promise<unknown>;

function refuse(
  path: string,
  message: string,
  code: 'BUSINESS_RULE' | 'NOT_FOUND' = 'BUSINESS_RULE',
): never {
  throw new GatewayError(code, message, { details: [{ path, code, message }] });
}

const wire = (minor: bigint, currency: string) => formatMoney({ minor, currency });

// --- reservations and bids -------------------------------------------------------------------

const handlePurchaseReservation: DocumentHandler = async ({
  trx,
  sender,
  document,
  send,
  gather,
}) => {
  const body = document.body as unknown as PurchaseReservationBody;
  const maxUnitPrice = parseMoney(body.maxUnitPrice, '/body/maxUnitPrice');
  if (body.biddingDeadline.slice(0, 10) > body.neededBy) {
    refuse('/body/neededBy', 'the needed-by date must not be before the bidding deadline');
  }
  const id = newId('RSV');
  const reservation: NewReservation = {
    id,
    buyerId: sender.id,
    itemId: body.itemId,
    quantity: body.quantity,
    maxUnitPriceMinor: maxUnitPrice.minor,
    currency: maxUnitPrice.currency,
    neededBy: body.neededBy,
    biddingDeadline: body.biddingDeadline,
    deliveryRegion: body.deliveryRegion ?? null,
    buyerReference: body.buyerReference ?? null,
  };
  const result = {
    assigned: { reservationId: id },
    refs: { reservationId: id, itemId: body.itemId },
  };
  if (gather !== undefined) {
    // Sharing its transaction: inserted with the batch's other new reservations, which also
    // send the notices to immediate subscribers (or, refused, the batch runs again in halves).
    gather(insertReservationsTogether, { ...reservation, send });
    return result;
  }
  // The write checks the item and the deadline itself (one round trip); a refusal reads why.
  const inserted = await insertReservation(trx, reservation);
  if (inserted === undefined) {
    const item = await findItemForNewReservation(trx, body.itemId, body.biddingDeadline);
    if (item === undefined) refuse('/body/itemId', `no item ${body.itemId}`, 'NOT_FOUND');
    if (!item.unreleased)
      refuse(
        '/body/itemId',
        `item ${body.itemId} is already on the market: only new items are reserved`,
      );
    refuse('/body/biddingDeadline', 'the bidding deadline must be in the future');
  }
  // "Not-regularly": sellers subscribed to immediate notices hear of it in this transaction.
  if (inserted.immediateSubscribers) await noticeReservationOpened(trx, send, id);
  return result;
};

/** The new reservations of a group-committed batch, in one statement (see insertReservations). */
const insertReservationsTogether: GatheredWrite<
  NewReservation & { send: HandlerContext['send'] }
> = async (trx, reservations) => {
  const inserted = await insertReservations(trx, reservations);
  if (inserted.kind === 'refused') return false;
  if (inserted.immediateSubscribers) {
    for (const { id, send } of reservations) await noticeReservationOpened(trx, send, id);
  }
  return true;
};

const handleOrderBid: DocumentHandler = async ({ trx, sender, document, gather }) => {
  const body = document.body as unknown as OrderBidBody;
  if (body.action === 'withdraw' && gather !== undefined) {
    // A bid gathered earlier in this batch is not written yet: withdrawing the seller's earlier
    // bid now would succeed, and the gathered one would then make the bid active again.
    throw new RunAlone('a bid is withdrawn in a transaction of its own');
  }
  if (
    body.action !== 'withdraw' &&
    body.unitPrice !== undefined &&
    body.quantity !== undefined &&
    body.promisedDeliveryDate !== undefined
  ) {
    const unitPrice = parseMoney(body.unitPrice, '/body/unitPrice');
    const bid: NewBid = {
      id: newId('BID'),
      reservationId: body.reservationId,
      sellerId: sender.id,
      unitPriceMinor: unitPrice.minor,
      currency: unitPrice.currency,
      quantity: body.quantity,
      promisedDeliveryDate: body.promisedDeliveryDate,
      note: body.note ?? null,
    };
    if (gather !== undefined) {
      // Sharing its transaction: saved with the batch's other bids (or, refused, the batch runs
      // again in halves); the receipt names the bid as stored, known once it is.
      const gathered: GatheredBid = { bid, saved: undefined };
      gather(upsertBidsTogether, gathered);
      return () => {
        if (gathered.saved === undefined) throw new Error(`bid ${bid.id} was not saved`);
        return bidResult(bid.reservationId, gathered.saved);
      };
    }
    // The write checks everything the reads below do (one round trip); only a refusal reads why.
    const saved = await upsertBid(trx, bid);
    if (saved !== undefined) return bidResult(bid.reservationId, saved);
  }
  const reservation = await findReservationForBid(trx, body.reservationId, sender.id);
  if (reservation === undefined)
    refuse('/body/reservationId', `no reservation ${body.reservationId}`, 'NOT_FOUND');
  if (!reservation.carried) {
    refuse(
      '/body/reservationId',
      `${sender.id} does not carry item ${reservation.item_id}: publish an ItemNotice for it first`,
    );
  }
  if (reservation.status !== 'open' || !reservation.bidding_open) {
    refuse('/body/reservationId', `bidding on ${reservation.id} closed at its deadline`);
  }
  const refs = { reservationId: reservation.id };
  if (body.action === 'withdraw') {
    const withdrawn = await withdrawBid(trx, reservation.id, sender.id);
    if (withdrawn === undefined)
      refuse(
        '/body/reservationId',
        `no active bid of ${sender.id} on ${reservation.id}`,
        'NOT_FOUND',
      );
    return { assigned: { bidId: withdrawn.id }, refs: { ...refs, bidId: withdrawn.id } };
  }
  if (body.unitPrice === undefined) refuse('/body/unitPrice', 'a submitted bid needs a unitPrice');
  if (body.quantity === undefined) refuse('/body/quantity', 'a submitted bid needs a quantity');
  if (body.promisedDeliveryDate === undefined) {
    refuse('/body/promisedDeliveryDate', 'a submitted bid needs a promisedDeliveryDate');
  }
  const unitPrice = parseMoney(body.unitPrice, '/body/unitPrice');
  if (unitPrice.currency !== reservation.currency) {
    refuse('/body/unitPrice/currency', `the reservation is in ${reservation.currency}`);
  }
  if (unitPrice.minor > reservation.max_unit_price_minor) {
    refuse(
      '/body/unitPrice/amount',
      `above the maximum unit price of ${wire(reservation.max_unit_price_minor, reservation.currency).amount} ${reservation.currency}`,
    );
  }
  // The write refused the bid although every check above passes: the deadline fell in between.
  refuse('/body/reservationId', `bidding on ${reservation.id} closed at its deadline`);
};

function bidResult(reservationId: string, saved: SavedBid): HandlerResult {
  return {
    assigned: { bidId: saved.id, bidVersion: String(saved.version) },
    refs: { reservationId, bidId: saved.id },
  };
}

interface GatheredBid {
  bid: NewBid;
  /** Set by the gathered write. */
  saved: SavedBid | undefined;
}

/** The bids of a group-committed batch, in one statement (see upsertBids). */
const upsertBidsTogether: GatheredWrite<GatheredBid> = async (trx, gathered) => {
  const saved = await upsertBids(
    trx,
    gathered.map((g) => g.bid),
  );
  if (saved === undefined) return false;
  gathered.forEach((g, i) => (g.saved = saved[i]));
  return true;
};

// --- judging and awards ----------------------------------------------------------------------

function candidate(row: {
  id: string;
  seller_id: string;
  unit_price_minor: bigint;
  currency: string;
  quantity: number;
  promised_delivery_date: string;
  received_at: Date;
}): CandidateBid {
  return {
    id: row.id,
    sellerId: row.seller_id,
    unitPriceMinor: row.unit_price_minor,
    currency: row.currency,
    quantity: row.quantity,
    promisedDeliveryDate: row.promised_delivery_date,
    receivedAt: row.received_at,
  };
}

type ReservationRow = Omit<
  Awaited<ReturnType<typeof lockDueReservations>>[number],
  'transaction_now'
>;
type BidRow = Awaited<ReturnType<typeof listBidsFor>>[number];

/**
 * Award the most suitable remaining bid of a reservation, or close it with NoAward. On the first
 * judging (`firstJudging`: the reservation's active bids, read by the caller, which judges many at
 * once) every other bid learns its result; a later award (`false`: after a decline or a lapse)
 * goes to the best of the bids that were eligible but not selected.
 */
async function awardNext(
  trx: Transaction<Database>,
  writes: AwardWrites,
  send: Send,
  settings: TradingSettings,
  reservation: ReservationRow,
  firstJudging: BidRow[] | false,
): Promise<'awarded' | 'no-award'> {
  const terms = {
    quantity: reservation.quantity,
    maxUnitPriceMinor: reservation.max_unit_price_minor,
    currency: reservation.currency,
    neededBy: reservation.needed_by,
  };
  const rows = firstJudging || (await listBidsFor(trx, [reservation.id], ['not-selected']));
  const { ranked, ineligible } = judgeBids(terms, rows.map(candidate));
  const winner = ranked[0];
  const refs = { reservationId: reservation.id };

  if (firstJudging) {
    for (const { bid, reason } of ineligible) {
      await send({
        recipientId: bid.sellerId,
        type: 'BidResult',
        body: {
          reservationId: reservation.id,
          bidId: bid.id,
          outcome: 'ineligible',
          reason: describeIneligibility(reason, terms),
        },
        refs: { ...refs, bidId: bid.id },
      });
    }
    await writes.bidStatus(
      ineligible.map((i) => i.bid.id),
      ['active'],
      'ineligible',
    );
    const others = ranked.slice(1);
    for (const bid of others) {
      await send({
        recipientId: bid.sellerId,
        type: 'BidResult',
        body: {
          reservationId: reservation.id,
          bidId: bid.id,
          outcome: 'not-selected',
          reason: 'another bid was more suitable',
        },
        refs: { ...refs, bidId: bid.id },
      });
    }
    await writes.bidStatus(
      others.map((b) => b.id),
      ['active'],
      'not-selected',
    );
  }

  if (winner === undefined) {
    await writes.reservationStatus(reservation.id, ['open', 'awarded'], 'no-award');
    await send({
      recipientId: reservation.buyer_id,
      type: 'NoAward',
      body: {
        reservationId: reservation.id,
        reason: firstJudging
          ? rows.length === 0
            ? 'no seller bid before the deadline'
            : 'no bid met the quantity, maximum price and needed-by date'
          : 'no further eligible bid remains',
      },
      refs,
    });
    return 'no-award';
  }

  const total = winner.unitPriceMinor * BigInt(reservation.quantity);
  const commission = percentOf(total, settings.commissionRatePercent);
  const dealId = newId('DEAL');
  const deal = await writes.deal({
    id: dealId,
    reservationId: reservation.id,
    bidId: winner.id,
    buyerId: reservation.buyer_id,
    sellerId: winner.sellerId,
    itemId: reservation.item_id,
    quantity: reservation.quantity,
    unitPriceMinor: winner.unitPriceMinor,
    currency: reservation.currency,
    totalMinor: total,
    commissionMinor: commission,
    commissionRatePercent: settings.commissionRatePercent,
    promisedDeliveryDate: winner.promisedDeliveryDate,
    confirmWindowS: settings.confirmWindowS,
  });
  await writes.bidStatus([winner.id], ['active', 'not-selected'], 'selected');
  await writes.reservationStatus(reservation.id, ['open', 'awarded'], 'awarded');
  const dealRefs = { ...refs, dealId, bidId: winner.id };
  const shared = {
    dealId,
    reservationId: reservation.id,
    bidId: winner.id,
    unitPrice: wire(winner.unitPriceMinor, reservation.currency),
    quantity: reservation.quantity,
    total: wire(total, reservation.currency),
    confirmBy: deal.confirm_by.toISOString(),
  };
  await send({
    recipientId: reservation.buyer_id,
    type: 'Award',
    body: {
      reservationId: shared.reservationId,
      dealId,
      bidId: winner.id,
      seller: winner.sellerId,
      unitPrice: shared.unitPrice,
      quantity: shared.quantity,
      total: shared.total,
      promisedDeliveryDate: winner.promisedDeliveryDate,
      confirmBy: shared.confirmBy,
    },
    refs: dealRefs,
  });
  await send({
    recipientId: winner.sellerId,
    type: 'IntermediaryTerms',
    body: {
      dealId,
      reservationId: shared.reservationId,
      bidId: winner.id,
      buyer: reservation.buyer_id,
      unitPrice: shared.unitPrice,
      quantity: shared.quantity,
      total: shared.total,
      commission: wire(commission, reservation.currency),
      commissionRatePercent: settings.commissionRatePercent,
      confirmBy: shared.confirmBy,
    },
    refs: dealRefs,
  });
  return 'awarded';
}

/** The writes of an award: made at once, or gathered for a judging batch and made together. */
interface AwardWrites {
  bidStatus(ids: readonly string[], from: readonly BidStatus[], to: BidStatus): Promise<void>;
  reservationStatus(
    id: string,
    from: readonly ReservationStatus[],
    to: ReservationStatus,
  ): Promise<void>;
  deal(deal: NewDeal): Promise<{ confirm_by: Date }>;
}

function writesNow(trx: Transaction<Database>): AwardWrites {
  return {
    bidStatus: (ids, from, to) => setBidStatus(trx, ids, from, to),
    reservationStatus: async (id, from, to) => {
      await setReservationStatus(trx, id, from, to);
    },
    deal: (deal) => insertDeal(trx, deal),
  };
}

/** Status changes gathered by (from, to): each group is made by one statement at the flush. */
class StatusChanges<S extends string> {
  readonly groups = new Map<string, { from: readonly S[]; to: S; ids: string[] }>();
  add(ids: readonly string[], from: readonly S[], to: S): Promise<void> {
    const key = `${from.join()}>${to}`;
    const group = this.groups.get(key) ?? { from, to, ids: [] };
    group.ids.push(...ids);
    this.groups.set(key, group);
    return Promise.resolve();
  }
}

/**
 * Writes gathered over a judging batch, made by `flush` in a handful of statements: the bids by
 * status change, the deals in one insert, the reservations by status change. A deal's confirm
 * window starts at the transaction's now(), the same for every deal of the batch.
 */
function gatheredWrites(
  trx: Transaction<Database>,
  transactionStart: Date,
): AwardWrites & { flush(): Promise<void> } {
  const bids = new StatusChanges<BidStatus>();
  const reservations = new StatusChanges<ReservationStatus>();
  const deals: NewDeal[] = [];
  return {
    bidStatus: (ids, from, to) => bids.add(ids, from, to),
    reservationStatus: (id, from, to) => reservations.add([id], from, to),
    deal(deal) {
      deals.push(deal);
      return Promise.resolve({
        confirm_by: new Date(transactionStart.getTime() + deal.confirmWindowS * 1000),
      });
    },
    async flush() {
      for (const { ids, from, to } of bids.groups.values()) await setBidStatus(trx, ids, from, to);
      await insertDeals(trx, deals);
      for (const { ids, from, to } of reservations.groups.values()) {
        await setReservationStatus(trx, ids, from, to);
      }
    },
  };
}

export interface JudgingOptions {
  /** Reservations judged per transaction. */
  batchSize?: number;
  /**
   * Transactions judging side by side, each on batches of its own (SKIP LOCKED): on PostgreSQL
   * the server's work (the deals, the status changes, the queued documents and their log
   * entries) then runs on more than one core.
   */
  lanes?: number;
}

/**
 * One judging transaction: up to `batchSize` due reservations locked, their bids read in one
 * query, each judged, the gathered writes made and the outbound documents queued together.
 * Returns how many were judged; awards and no-awards are added to `counts`.
 */
async function judgeBatch(
  deps: TradingDeps,
  trx: Transaction<Database>,
  batchSize: number,
  counts: { awarded: number; noAward: number },
): Promise<number> {
  const due = await lockDueReservations(trx, batchSize);
  const bids = new Map<string, BidRow[]>();
  for (const bid of await listBidsFor(
    trx,
    due.map((r) => r.id),
    ['active'],
  )) {
    const of = bids.get(bid.reservation_id);
    if (of === undefined) bids.set(bid.reservation_id, [bid]);
    else of.push(bid);
  }
  const outbound: OutboundDocument[] = [];
  const send: Send = (document) => Promise.resolve(outbound.push(document));
  const writes = gatheredWrites(trx, due[0]?.transaction_now ?? new Date());
  for (const reservation of due) {
    const bidsOf = bids.get(reservation.id) ?? [];
    const outcome = await awardNext(trx, writes, send, deps.settings, reservation, bidsOf);
    if (outcome === 'awarded') counts.awarded++;
    else counts.noAward++;
  }
  await writes.flush();
  await deps.enqueue(trx, outbound);
  return due.length;
}

/** The `judge-reservations` job: judge every reservation whose bidding deadline has passed. */
export async function judgeDueReservations(
  deps: TradingDeps,
  options: JudgingOptions = {},
): Promise<Record<string, number>> {
  const { batchSize = 200, lanes = 1 } = options;
  const counts = { judged: 0, awarded: 0, noAward: 0 };
  const lane = async (): Promise<void> => {
    for (;;) {
      const judged = await deps.db
        .transaction()
        .execute((trx) => judgeBatch(deps, trx, batchSize, counts));
      counts.judged += judged;
      if (judged < batchSize) return;
    }
  };
  // Every lane runs to its end before a failure is reported: none is left running unobserved.
  const outcomes = await Promise.allSettled(Array.from({ length: lanes }, lane));
  const failed = outcomes.find((o) => o.status === 'rejected');
  if (failed !== undefined) throw failed.reason;
  return counts;
}

// --- confirmations ---------------------------------------------------------------------------

async function decide(
  trx: Transaction<Database>,
  send: Send,
  settings: TradingSettings,
  side: 'buyer' | 'seller',
  partnerId: string,
  body: PurchaseConfirmationBody | OrderConfirmationBody,
) {
  const deal = await findDeal(trx, body.dealId);
  // Another partner's deal does not exist as far as this partner can tell.
  if (deal === undefined || (side === 'buyer' ? deal.buyer_id : deal.seller_id) !== partnerId) {
    refuse('/body/dealId', `no deal ${body.dealId} awarded to ${partnerId}`, 'NOT_FOUND');
  }
  if (deal.status !== 'awarded') refuse('/body/dealId', `deal ${deal.id} is ${deal.status}`);
  if (!deal.confirmable)
    refuse('/body/dealId', `the confirm-by time of deal ${deal.id} has passed`);
  const updated = await recordDecision(trx, deal.id, side, body.decision);
  if (updated === undefined) refuse('/body/dealId', `the ${side} already answered deal ${deal.id}`);
  const refs = { dealId: deal.id, reservationId: deal.reservation_id };

  if (body.decision === 'decline') {
    await closeDeal(trx, send, settings, updated, 'declined', side);
  } else if (updated.buyer_decision === 'accept' && updated.seller_decision === 'accept') {
    if (await setDealStatus(trx, deal.id, 'awarded', 'confirmed')) {
      await setReservationStatus(trx, deal.reservation_id, ['awarded'], 'confirmed');
      await openTenders(trx, send, settings, updated);
    }
  }
  return { assigned: { dealId: deal.id }, refs };
}

type DealRow = NonNullable<Awaited<ReturnType<typeof recordDecision>>>;

/**
 * A deal that will not be confirmed. If the seller declined or let confirm-by pass, the next
 * eligible bid is awarded; if the buyer did, the buyer no longer wants the item: the reservation
 * closes with NoAward and the seller learns its bid did not become a deal.
 */
async function closeDeal(
  trx: Transaction<Database>,
  send: Send,
  settings: TradingSettings,
  deal: DealRow,
  to: 'declined' | 'lapsed',
  becauseOf: 'buyer' | 'seller',
): Promise<void> {
  if (!(await setDealStatus(trx, deal.id, 'awarded', to))) return;
  await setBidStatus(
    trx,
    [deal.bid_id],
    ['selected'],
    becauseOf === 'seller' ? to : 'not-selected',
  );
  const reservation = await findReservation(trx, deal.reservation_id);
  if (reservation === undefined)
    throw new GatewayError('INTERNAL', `deal ${deal.id} without reservation`);
  if (becauseOf === 'seller') {
    await awardNext(trx, writesNow(trx), send, settings, reservation, false);
    return;
  }
  await setReservationStatus(trx, reservation.id, ['awarded'], 'no-award');
  const reason =
    to === 'declined' ? 'the buyer declined the award' : 'the buyer did not confirm in time';
  await send({
    recipientId: deal.seller_id,
    type: 'BidResult',
    body: { reservationId: reservation.id, bidId: deal.bid_id, outcome: 'not-selected', reason },
    refs: { reservationId: reservation.id, dealId: deal.id, bidId: deal.bid_id },
  });
  await send({
    recipientId: deal.buyer_id,
    type: 'NoAward',
    body: { reservationId: reservation.id, reason },
    refs: { reservationId: reservation.id, dealId: deal.id },
  });
}

/** The `judge-reservations` job's second duty: deals whose confirm-by passed unconfirmed. */
export async function lapseUnconfirmedDeals(
  deps: TradingDeps,
  batchSize = 200,
): Promise<Record<string, number>> {
  let lapsed = 0;
  for (;;) {
    const batch = await deps.db.transaction().execute(async (trx) => {
      const due = await lockLapsedDeals(trx, batchSize);
      const send = sendOneBy(deps.enqueue, trx);
      for (const deal of due) {
        // The seller's silence lets the next seller in; a buyer who accepted nothing walks away.
        const becauseOf = deal.seller_decision === 'accept' ? 'buyer' : 'seller';
        await closeDeal(trx, send, deps.settings, deal, 'lapsed', becauseOf);
      }
      return due.length;
    });
    lapsed += batch;
    if (batch < batchSize) return { lapsed };
  }
}

// --- settlement and transport tenders --------------------------------------------------------

async function openTenders(
  trx: Transaction<Database>,
  send: Send,
  settings: TradingSettings,
  deal: DealRow,
) {
  const reservation = await findReservation(trx, deal.reservation_id);
  const item = await findItemForReservation(trx, deal.item_id);
  if (reservation === undefined || item === undefined)
    throw new GatewayError('INTERNAL', `deal ${deal.id} is incomplete`);
  const total = wire(deal.total_minor, deal.currency);

  const request = (tenderId: string, deadline: Date) => ({
    tenderId,
    dealId: deal.id,
    termsDeadline: deadline.toISOString(),
  });
  await openTender(trx, send, settings, deal.id, 'settlement', (tenderId, deadline) => ({
    ...request(tenderId, deadline),
    buyer: deal.buyer_id,
    seller: deal.seller_id,
    total,
  }));
  await openTender(trx, send, settings, deal.id, 'transport', (tenderId, deadline) => ({
    ...request(tenderId, deadline),
    items: [{ itemId: deal.item_id, name: item.name, quantity: deal.quantity }],
    seller: deal.seller_id,
    ...(reservation.delivery_region === null
      ? {}
      : { destinationRegion: reservation.delivery_region }),
    neededBy: reservation.needed_by,
  }));
}

/** A tender of one kind for a deal, sent to every active organ of its role. */
async function openTender(
  trx: Transaction<Database>,
  send: Send,
  settings: TradingSettings,
  dealId: string,
  kind: 'settlement' | 'transport',
  body: (tenderId: string, termsDeadline: Date) => Record<string, unknown>,
): Promise<void> {
  const organs = await activePartnersWithRole(
    trx,
    kind === 'settlement' ? 'settlement' : 'carrier',
  );
  const tenderId = newId('TND');
  const deadline = await insertTender(trx, {
    id: tenderId,
    dealId,
    kind,
    windowS: settings.tenderWindowS,
    organs,
  });
  for (const organ of organs) {
    await send({
      recipientId: organ,
      type: kind === 'settlement' ? 'SettlementRequest' : 'TransportRequest',
      body: body(tenderId, deadline),
      refs: { dealId, tenderId },
    });
  }
}

async function findOpenTender(
  trx: Transaction<Database>,
  tenderId: string,
  organId: string,
  kind: 'settlement' | 'transport',
) {
  const tender = await findTenderForOrgan(trx, tenderId, organId);
  if (tender === undefined || tender.kind !== kind) {
    refuse('/body/tenderId', `no ${kind} tender ${tenderId} sent to ${organId}`, 'NOT_FOUND');
  }
  if (tender.status !== 'open' || !tender.open_for_terms)
    refuse('/body/tenderId', `tender ${tenderId} is closed`);
  return tender;
}

function sameCurrency(money: Money, currency: string, path: string): void {
  if (money.currency !== currency) refuse(`${path}/currency`, `the deal is in ${currency}`);
}

const handleSettlementTerms: DocumentHandler = async ({ trx, sender: organ, document }) => {
  const body = document.body as unknown as SettlementTermsBody;
  const tender = await findOpenTender(trx, body.tenderId, organ.id, 'settlement');
  const fixedFee = parseMoney(body.fixedFee, '/body/fixedFee');
  sameCurrency(fixedFee, tender.currency, '/body/fixedFee');
  // What settlement costs the buyer on this deal: the fixed fee plus the rate on the total.
  const cost = fixedFee.minor + percentOf(tender.total_minor, body.ratePercent);
  const stored = await upsertTerms(trx, {
    tenderId: tender.id,
    organId: organ.id,
    costMinor: cost,
    currency: tender.currency,
    fixedFeeMinor: fixedFee.minor,
    ratePercent: body.ratePercent,
    settlementDays: body.settlementDays,
    pickupDate: null,
    deliveryDate: null,
    note: body.note ?? null,
  });
  if (!stored) refuse('/body/tenderId', `tender ${tender.id} is closed`);
  return {
    assigned: { tenderId: tender.id },
    refs: { tenderId: tender.id, dealId: tender.deal_id },
  };
};

const handleTransportTerms: DocumentHandler = async ({ trx, sender: organ, document }) => {
  const body = document.body as unknown as TransportTermsBody;
  const tender = await findOpenTender(trx, body.tenderId, organ.id, 'transport');
  const fee = parseMoney(body.fee, '/body/fee');
  sameCurrency(fee, tender.currency, '/body/fee');
  if (body.deliveryDate < body.pickupDate)
    refuse('/body/deliveryDate', 'delivery cannot come before pickup');
  const stored = await upsertTerms(trx, {
    tenderId: tender.id,
    organId: organ.id,
    costMinor: fee.minor,
    currency: tender.currency,
    fixedFeeMinor: null,
    ratePercent: null,
    settlementDays: null,
    pickupDate: body.pickupDate,
    deliveryDate: body.deliveryDate,
    note: body.note ?? null,
  });
  if (!stored) refuse('/body/tenderId', `tender ${tender.id} is closed`);
  return {
    assigned: { tenderId: tender.id },
    refs: { tenderId: tender.id, dealId: tender.deal_id },
  };
};

const DAY_MS = 86_400_000;

/** The `judge-tenders` job: pick the terms most advantageous to the buyer for each due tender. */
export async function judgeDueTenders(
  deps: TradingDeps,
  batchSize = 200,
): Promise<Record<string, number>> {
  const counts = { judged: 0, awarded: 0, noTerms: 0 };
  for (;;) {
    const batch = await deps.db.transaction().execute(async (trx) => {
      const send = sendOneBy(deps.enqueue, trx);
      const due = await lockDueTenders(trx, batchSize);
      for (const tender of due) {
        const terms = await listTerms(trx, tender.id);
        const ranked = rankTerms(
          terms.map((t) => ({
            organId: t.organ_id,
            costMinor: t.cost_minor,
            speed:
              tender.kind === 'settlement'
                ? (t.settlement_days ?? 0)
                : Date.parse(t.delivery_date ?? '') / DAY_MS,
            receivedAt: t.received_at,
          })),
        );
        const winner = ranked[0];
        if (winner === undefined) {
          await trx
            .updateTable('tenders')
            .set({ status: 'no-terms', judged_at: new Date() })
            .where('id', '=', tender.id)
            .where('status', '=', 'open')
            .execute();
          counts.noTerms++;
          continue;
        }
        const updated = await trx
          .updateTable('tenders')
          .set({ status: 'awarded', winner_id: winner.organId, judged_at: new Date() })
          .where('id', '=', tender.id)
          .where('status', '=', 'open')
          .executeTakeFirst();
        if (updated.numUpdatedRows !== 1n) continue;
        await trx
          .updateTable('deals')
          .set(
            tender.kind === 'settlement'
              ? { settlement_organ_id: winner.organId }
              : { carrier_id: winner.organId },
          )
          .where('id', '=', tender.deal_id)
          .execute();
        const deal = await findDeal(trx, tender.deal_id);
        const won = terms.find((t) => t.organ_id === winner.organId);
        if (deal === undefined || won === undefined)
          throw new GatewayError('INTERNAL', `tender ${tender.id} is incomplete`);
        const refs = { tenderId: tender.id, dealId: tender.deal_id };
        await send(
          tender.kind === 'settlement'
            ? {
                recipientId: winner.organId,
                type: 'SettlementCommission',
                body: {
                  tenderId: tender.id,
                  dealId: tender.deal_id,
                  fixedFee: wire(won.fixed_fee_minor ?? 0n, won.currency),
                  ratePercent: won.rate_percent ?? '0',
                  settlementDays: won.settlement_days ?? 0,
                  total: wire(deal.total_minor, deal.currency),
                },
                refs,
              }
            : {
                recipientId: winner.organId,
                type: 'TransportCommission',
                body: {
                  tenderId: tender.id,
                  dealId: tender.deal_id,
                  fee: wire(won.cost_minor, won.currency),
                  pickupDate: won.pickup_date ?? '',
                  deliveryDate: won.delivery_date ?? '',
                },
                refs,
              },
        );
        for (const loser of ranked.slice(1)) {
          await send({
            recipientId: loser.organId,
            type: 'TenderResult',
            body: {
              tenderId: tender.id,
              dealId: tender.deal_id,
              outcome: 'not-selected',
              reason: 'other terms were more advantageous to the buyer',
            },
            refs,
          });
        }
        counts.awarded++;
      }
      return due.length;
    });
    counts.judged += batch;
    if (batch < batchSize) return counts;
  }
}

export function createTradingHandlers(settings: TradingSettings): Record<string, DocumentHandler> {
  return {
    PurchaseReservation: handlePurchaseReservation,
    OrderBid: handleOrderBid,
    PurchaseConfirmation: ({ trx, sender: buyer, document, send }) =>
      decide(
        trx,
        send,
        settings,
        'buyer',
        buyer.id,
        document.body as unknown as PurchaseConfirmationBody,
      ),
    OrderConfirmation: ({ trx, sender: seller, document, send }) =>
      decide(
        trx,
        send,
        settings,
        'seller',
        seller.id,
        document.body as unknown as OrderConfirmationBody,
      ),
    SettlementTerms: handleSettlementTerms,
    TransportTerms: handleTransportTerms,
  };
}
