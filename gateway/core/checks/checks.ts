/**
 * Electronic checks and the orders they pay for (seed 004): types and the pure judging rules.
 *
 *   check:  issued ─order→ presented ─demand→ paid                      (PAYMENT_RELEASE on-demand)
 *                                    └demand→ demanded ─delivered→ paid (on-delivery: escrow)
 *           issued ─expiry→ expired;  issued | presented ─operator→ voided
 *   order:  ordered ─instruction→ instructed ─schedule→ scheduled ─complete→ delivered
 *
 * The ledger follows the check: issue reserves (a hold), payment posts (captures the hold),
 * void and expiry release it — each in the transaction of the check's compare-and-set.
 */
import type {
  Address,
  ECheckRefusalBody,
  Money as WireMoneyDoc,
} from '../../../schemas/documents.generated.ts';
import { GatewayError, type ErrorDetail } from '../errors.ts';
import { parseMoney, type Money } from '../money.ts';

export type CheckStatus = 'issued' | 'presented' | 'demanded' | 'paid' | 'voided' | 'expired';
export type OrderStatus = 'ordered' | 'instructed' | 'scheduled' | 'delivered';

/** ECheckRefusal reason codes (schemas/ECheckRefusal.schema.json). */
export type CheckRefusalReason = ECheckRefusalBody['reason'];

/** What a check pays for: list prices for a direct order, the deal's price otherwise. */
export interface CheckLine {
  itemId: string;
  quantity: number;
  unitPriceMinor: bigint;
}

/** The facts of a check the rules judge by (a row of `checks`, typed). */
export interface CheckFacts {
  checkNumber: string;
  status: CheckStatus;
  /** By the database clock, when the facts were read. */
  expired: boolean;
  buyerId: string;
  sellerId: string;
  dealId: string | null;
  amount: Money;
  lines: CheckLine[];
}

const CHECK_PREFIX = 'CHK-';

/**
 * One order per check, so the order's id is derived from the check's: the seller, who receives
 * the order with its checkNumber but no field for an order id, knows the id to quote in
 * DistributionNotice, DistributionInstruction and PaymentDemand: CHK-x pays for ORD-x.
 */
export function orderIdForCheck(checkNumber: string): string {
  return `ORD-${checkNumber.startsWith(CHECK_PREFIX) ? checkNumber.slice(CHECK_PREFIX.length) : checkNumber}`;
}

export function sameMoney(a: Money, b: Money): boolean {
  return a.minor === b.minor && a.currency === b.currency;
}

type LineLike = { itemId: string; quantity: number; unitPriceMinor?: bigint };

/** The same multiset of lines, in any order; prices compared when the lines carry them. */
export function sameLines(a: readonly LineLike[], b: readonly LineLike[]): boolean {
  const key = (l: LineLike) => `${l.itemId}\u0000${l.quantity}\u0000${l.unitPriceMinor ?? ''}`;
  const left = a.map(key).sort();
  const right = b.map(key).sort();
  return left.length === right.length && left.every((k, i) => k === right[i]);
}

const ADDRESS_FIELDS = [
  'name',
  'line1',
  'line2',
  'city',
  'region',
  'postalCode',
  'country',
] as const;

export function sameAddress(a: Address, b: Address): boolean {
  return ADDRESS_FIELDS.every((field) => (a[field] ?? null) === (b[field] ?? null));
}

function problem(path: string, code: string, message: string): ErrorDetail {
  return { path, code, message };
}

/**
 * A document the gateway refuses: its transaction rolls back and the receipt names each problem.
 * NOT_FOUND (404) when every problem is a missing object, BUSINESS_RULE (422) otherwise.
 */
export function refuseDocument(problems: readonly ErrorDetail[]): never {
  const notFound = problems.length > 0 && problems.every((p) => p.code === 'NOT_FOUND');
  throw new GatewayError(
    notFound ? 'NOT_FOUND' : 'BUSINESS_RULE',
    problems[0]?.message ?? 'refused',
    {
      details: problems,
    },
  );
}

export function refuse(path: string, code: string, message: string): never {
  return refuseDocument([problem(path, code, message)]);
}

/** Why a check in this state cannot pay for a new order, if it cannot. */
function presentationState(check: CheckFacts): ErrorDetail | undefined {
  const path = '/body/checkNumber';
  switch (check.status) {
    case 'issued':
      return check.expired
        ? problem(path, 'CHECK_EXPIRED', `check ${check.checkNumber} has expired`)
        : undefined;
    case 'presented':
    case 'demanded':
    case 'paid':
      return problem(
        path,
        'CHECK_ALREADY_PRESENTED',
        `check ${check.checkNumber} already pays for order ${orderIdForCheck(check.checkNumber)}`,
      );
    case 'voided':
      return problem(path, 'CHECK_VOID', `check ${check.checkNumber} was voided`);
    case 'expired':
      return problem(path, 'CHECK_EXPIRED', `check ${check.checkNumber} has expired`);
  }
}

export interface OrderClaims {
  seller: string;
  dealId?: string;
  lines: { itemId: string; quantity: number; unitPrice: WireMoneyDoc }[];
  total: WireMoneyDoc;
}

/**
 * Is the check valid for this order (seed 004 cl.2)? Every problem, as receipt errors: the
 * state (issued, not expired), the payee (the order's seller), the deal, the total (the sum of
 * the lines, and the check's amount) and the lines (what the check was issued for).
 */
export function judgeOrder(check: CheckFacts, order: OrderClaims): ErrorDetail[] {
  const problems: ErrorDetail[] = [];
  const state = presentationState(check);
  if (state !== undefined) problems.push(state);
  if (order.seller !== check.sellerId) {
    problems.push(
      problem(
        '/body/seller',
        'CHECK_PAYEE_MISMATCH',
        `check ${check.checkNumber} is made out to ${check.sellerId}, not ${order.seller}`,
      ),
    );
  }
  if (order.dealId !== undefined && order.dealId !== check.dealId) {
    problems.push(
      problem(
        '/body/dealId',
        'DEAL_MISMATCH',
        check.dealId === null
          ? `check ${check.checkNumber} pays for a direct order, not deal ${order.dealId}`
          : `check ${check.checkNumber} pays for deal ${check.dealId}`,
      ),
    );
  }
  const total = parseMoney(order.total, '/body/total');
  const lines = order.lines.map((line, i) => ({
    itemId: line.itemId,
    quantity: line.quantity,
    unitPrice: parseMoney(line.unitPrice, `/body/lines/${i}/unitPrice`),
  }));
  const sum = lines.reduce((acc, l) => acc + l.unitPrice.minor * BigInt(l.quantity), 0n);
  if (lines.some((l) => l.unitPrice.currency !== total.currency) || sum !== total.minor) {
    problems.push(
      problem('/body/total', 'ORDER_TOTAL_MISMATCH', 'the total is not the sum of the lines'),
    );
  } else if (!sameMoney(total, check.amount)) {
    problems.push(
      problem(
        '/body/total',
        'AMOUNT_MISMATCH',
        `the order total is not the amount of check ${check.checkNumber}`,
      ),
    );
  }
  const ordered = lines.map((l) => ({
    itemId: l.itemId,
    quantity: l.quantity,
    unitPriceMinor: l.unitPrice.minor,
  }));
  if (!sameLines(ordered, check.lines)) {
    problems.push(
      problem(
        '/body/lines',
        'LINES_MISMATCH',
        `the lines are not those check ${check.checkNumber} was issued for`,
      ),
    );
  }
  return problems;
}

export interface DemandFacts {
  check: CheckFacts;
  orderId: string;
  distributionNoticed: boolean;
}

export interface DemandClaims {
  sender: string;
  sellingOffice: string;
  orderId: string;
  amount: WireMoneyDoc;
}

/**
 * May this seller have this check paid now (seed 004 cl.5, 7)? The selling office is the sender
 * and the payee; the check pays for this order and has not been demanded; the amount is the
 * check's; the buyer has been told the goods will be distributed.
 */
export function judgeDemand(facts: DemandFacts, demand: DemandClaims): ErrorDetail[] {
  const { check } = facts;
  const problems: ErrorDetail[] = [];
  if (demand.sellingOffice !== demand.sender) {
    problems.push(
      problem(
        '/body/sellingOffice',
        'SELLING_OFFICE_MISMATCH',
        `the selling office must be the demanding seller ${demand.sender}`,
      ),
    );
  }
  if (check.sellerId !== demand.sender) {
    problems.push(
      problem(
        '/body/checkNumber',
        'CHECK_PAYEE_MISMATCH',
        `check ${check.checkNumber} is made out to another selling office`,
      ),
    );
    return problems; // nothing more about someone else's check
  }
  switch (check.status) {
    case 'issued':
      problems.push(
        problem(
          '/body/checkNumber',
          'CHECK_NOT_PRESENTED',
          `check ${check.checkNumber} has paid for no order yet`,
        ),
      );
      break;
    case 'demanded':
    case 'paid':
      problems.push(
        problem(
          '/body/checkNumber',
          'PAYMENT_ALREADY_DEMANDED',
          `payment of check ${check.checkNumber} was already demanded`,
        ),
      );
      break;
    case 'voided':
    case 'expired':
      problems.push(
        problem('/body/checkNumber', 'CHECK_VOID', `check ${check.checkNumber} is ${check.status}`),
      );
      break;
    case 'presented':
      break;
  }
  if (demand.orderId !== facts.orderId) {
    problems.push(
      problem(
        '/body/orderId',
        'ORDER_MISMATCH',
        `check ${check.checkNumber} pays for order ${facts.orderId}`,
      ),
    );
  }
  if (!sameMoney(parseMoney(demand.amount, '/body/amount'), check.amount)) {
    problems.push(
      problem(
        '/body/amount',
        'AMOUNT_MISMATCH',
        `the amount is not that of check ${check.checkNumber}`,
      ),
    );
  }
  if (check.status === 'presented' && !facts.distributionNoticed) {
    problems.push(
      problem(
        '/body/orderId',
        'DISTRIBUTION_NOT_NOTIFIED',
        'payment is demanded after the DistributionNotice has told the buyer the goods will be distributed',
      ),
    );
  }
  return problems;
}
