/**
 * The account database (seed 004 cl.1, 2, 5): types and the pure money rules of the ledger.
 *
 * Double entry, one row per leg: a transfer (a funding, a payment) is a set of entries on
 * different accounts whose amounts sum to zero; an entry's amount is what it adds to its account
 * (+ credit, − debit). So the sum of all entries is zero, and an account's balance is the sum of
 * its entries. The balance is also kept on the account row — updated in the transaction that
 * writes the entries — because the credit judgement must be one conditional UPDATE of that row.
 *
 *   available = balance + credit limit − held
 *
 * A hold reserves an amount for one check until the payment captures it or the check is voided
 * or expires and releases it. No partner account ever has available < 0 (a CHECK constraint).
 */
import { GatewayError } from '../errors.ts';

export type AccountKind = 'partner' | 'revenue' | 'external';
export type AccountStatus = 'active' | 'suspended';

export interface Account {
  id: string;
  kind: AccountKind;
  /** Null for the gateway's own accounts (revenue, external funding). */
  partnerId: string | null;
  currency: string;
  status: AccountStatus;
  balanceMinor: bigint;
  creditLimitMinor: bigint;
  heldMinor: bigint;
}

/** One leg of a transfer: what it adds to (+) or takes from (−) an account. */
export interface Leg {
  accountId: string;
  amountMinor: bigint;
}

export function availableOf(
  account: Pick<Account, 'balanceMinor' | 'creditLimitMinor' | 'heldMinor'>,
): bigint {
  return account.balanceMinor + account.creditLimitMinor - account.heldMinor;
}

/**
 * A transfer must balance, touch each account once and move something: anything else is a bug
 * in the caller, never a partner's mistake, so it is an INTERNAL error.
 */
export function checkBalanced(legs: readonly Leg[]): void {
  if (legs.length < 2) throw new GatewayError('INTERNAL', 'a transfer needs at least two legs');
  const accounts = new Set(legs.map((l) => l.accountId));
  if (accounts.size !== legs.length) {
    throw new GatewayError('INTERNAL', 'a transfer touches each account once');
  }
  if (legs.some((l) => l.amountMinor === 0n)) {
    throw new GatewayError('INTERNAL', 'a transfer leg cannot be zero');
  }
  const sum = legs.reduce((total, l) => total + l.amountMinor, 0n);
  if (sum !== 0n) throw new GatewayError('INTERNAL', `transfer legs sum to ${sum}, not 0`);
}

/**
 * The legs of a check's payment: the drawer is debited the whole amount (its hold is captured),
 * the payee credited the amount less the commission, the intermediary the commission.
 */
export function paymentLegs(input: {
  drawerAccountId: string;
  payeeAccountId: string;
  revenueAccountId: string;
  amountMinor: bigint;
  commissionMinor: bigint;
}): Leg[] {
  const { amountMinor, commissionMinor } = input;
  if (amountMinor <= 0n || commissionMinor < 0n || commissionMinor > amountMinor) {
    throw new GatewayError('INTERNAL', 'a payment needs 0 ≤ commission ≤ amount and amount > 0');
  }
  const legs: Leg[] = [{ accountId: input.drawerAccountId, amountMinor: -amountMinor }];
  if (amountMinor > commissionMinor) {
    legs.push({ accountId: input.payeeAccountId, amountMinor: amountMinor - commissionMinor });
  }
  if (commissionMinor > 0n) {
    legs.push({ accountId: input.revenueAccountId, amountMinor: commissionMinor });
  }
  checkBalanced(legs);
  return legs;
}

/** Why a reservation was refused, in the words of ECheckRefusal's reason codes. */
export type ReserveRefusal = 'NO_ACCOUNT' | 'SUSPENDED_ACCOUNT' | 'INSUFFICIENT_CREDIT';
