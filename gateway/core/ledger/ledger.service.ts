/**
 * Ledger use cases: fundings and credit limits for operators, and for the check flow the
 * reservation (hold), its release, and the capture that performs a payment. The operator's use
 * cases own their transactions; the check flow's run inside the document's transaction.
 */
import type { Kysely, Transaction } from 'kysely';
import type { Database } from '../../db/tables.ts';
import { GatewayError } from '../errors.ts';
import { newId } from '../ids.ts';
import { parseMoney, type Money, type WireMoney } from '../money.ts';
import { findPartner } from '../partners/partners.repository.ts';
import {
  accountById,
  adjustAccount,
  ensureAccount,
  findAccount,
  findTransfer,
  heldHolds,
  insertEntries,
  insertHold,
  insertTransfer,
  listAccounts,
  lockAccounts,
  recentEntries,
  reserveFunds,
  settleHold,
  transferLegs,
  updateAccountStatus,
  updateCreditLimit,
  type EntryView,
} from './ledger.repository.ts';
import {
  availableOf,
  checkBalanced,
  paymentLegs,
  type Account,
  type AccountStatus,
  type Leg,
  type ReserveRefusal,
} from './ledger.ts';

type Trx = Transaction<Database>;

/** The wire pattern of an amount (15 integer digits at most), non-negative. */
const AMOUNT = /^(0|[1-9][0-9]{0,14})(\.[0-9]{1,4})?$/;

/** An operator's amount: a non-negative decimal string in a known currency, exact to its unit. */
export function parseOperatorAmount(value: WireMoney): Money {
  if (!AMOUNT.test(value.amount)) {
    throw new GatewayError(
      'BAD_REQUEST',
      `amount must be a non-negative decimal string like "1000.00", got "${value.amount}"`,
    );
  }
  return parseMoney(value, '');
}

async function ledgerPartner(db: Kysely<Database> | Trx, partnerId: string) {
  const partner = await findPartner(db, partnerId);
  if (partner === undefined) throw new GatewayError('NOT_FOUND', `no partner ${partnerId}`);
  if (!partner.roles.some((role) => role === 'buyer' || role === 'seller')) {
    throw new GatewayError(
      'BAD_REQUEST',
      `${partnerId} is neither a buyer nor a seller: only they have accounts`,
    );
  }
  return partner;
}

/**
 * Writes a balanced transfer: its row, its entries, and each account's balance, with the
 * accounts locked in id order first. `capturedHold` takes the drawer's hold off its held amount
 * in the same UPDATE that debits it, so available funds never dip in between.
 * Returns false, writing nothing, when the reference was already posted.
 */
async function postTransfer(
  trx: Trx,
  transfer: { kind: 'funding' | 'payment'; reference: string | null; currency: string },
  legs: readonly Leg[],
  capturedHold?: { accountId: string; amountMinor: bigint },
): Promise<string | undefined> {
  checkBalanced(legs);
  const id = newId('TRF');
  const amountMinor = legs.reduce((sum, l) => (l.amountMinor > 0n ? sum + l.amountMinor : sum), 0n);
  if (!(await insertTransfer(trx, { id, ...transfer, amountMinor }))) return undefined;
  await lockAccounts(
    trx,
    legs.map((l) => l.accountId),
  );
  await insertEntries(trx, id, legs);
  for (const leg of [...legs].sort((a, b) => (a.accountId < b.accountId ? -1 : 1))) {
    await adjustAccount(trx, leg.accountId, {
      balanceMinor: leg.amountMinor,
      heldMinor: capturedHold?.accountId === leg.accountId ? -capturedHold.amountMinor : 0n,
    });
  }
  return id;
}

export interface FundingResult {
  account: Account;
  transferId: string;
  /** True when `reference` had already funded this account: nothing was added again. */
  replayed: boolean;
}

/**
 * An operator funds a partner's account: a transfer from the external funding account of the
 * currency, never an edited balance. A `reference` makes the funding idempotent: the same
 * reference again adds nothing and answers with the first funding.
 */
export async function fundAccount(
  db: Kysely<Database>,
  input: { partnerId: string; amount: WireMoney; reference?: string },
): Promise<FundingResult> {
  const money = parseOperatorAmount(input.amount);
  if (money.minor === 0n) throw new GatewayError('BAD_REQUEST', 'a funding must be more than 0');
  return db.transaction().execute(async (trx) => {
    await ledgerPartner(trx, input.partnerId);
    const key = { kind: 'partner', partnerId: input.partnerId, currency: money.currency } as const;
    const account = await ensureAccount(trx, key);
    const external = await ensureAccount(trx, { kind: 'external', currency: money.currency });
    const transferId = await postTransfer(
      trx,
      { kind: 'funding', reference: input.reference ?? null, currency: money.currency },
      [
        { accountId: external.id, amountMinor: -money.minor },
        { accountId: account.id, amountMinor: money.minor },
      ],
    );
    if (transferId !== undefined) {
      return { account: await ensureAccount(trx, key), transferId, replayed: false };
    }
    return replayedFunding(trx, input.reference ?? '', account, money);
  });
}

async function replayedFunding(
  trx: Trx,
  reference: string,
  account: Account,
  money: Money,
): Promise<FundingResult> {
  const earlier = await findTransfer(trx, 'funding', reference);
  const legs = earlier === undefined ? [] : await transferLegs(trx, earlier.id);
  const same = legs.some((l) => l.accountId === account.id && l.amountMinor === money.minor);
  if (earlier === undefined || !same) {
    throw new GatewayError(
      'CONFLICT',
      `funding reference ${reference} was already used for another funding`,
    );
  }
  return { account, transferId: earlier.id, replayed: true };
}

export async function setCreditLimit(
  db: Kysely<Database>,
  input: { partnerId: string; amount: WireMoney },
): Promise<Account> {
  const money = parseOperatorAmount(input.amount);
  return db.transaction().execute(async (trx) => {
    await ledgerPartner(trx, input.partnerId);
    const account = await ensureAccount(trx, {
      kind: 'partner',
      partnerId: input.partnerId,
      currency: money.currency,
    });
    const updated = await updateCreditLimit(trx, account.id, money.minor);
    if (updated === undefined) {
      throw new GatewayError(
        'BUSINESS_RULE',
        `the account of ${input.partnerId} in ${money.currency} already uses more than that limit allows (balance ${account.balanceMinor}, held ${account.heldMinor} minor units)`,
      );
    }
    return updated;
  });
}

export async function setAccountStatus(
  db: Kysely<Database>,
  input: { partnerId: string; currency: string; status: AccountStatus },
): Promise<Account> {
  const account = await findAccount(db, {
    kind: 'partner',
    partnerId: input.partnerId,
    currency: input.currency,
  });
  if (account === undefined) {
    throw new GatewayError('NOT_FOUND', `${input.partnerId} has no account in ${input.currency}`);
  }
  return updateAccountStatus(db, account.id, input.status);
}

export interface AccountStatement {
  account: Account;
  entries: EntryView[];
  holds: { reference: string; amountMinor: bigint; createdAt: Date }[];
}

/** A partner's accounts, or with the gateway's id the gateway's own, with recent entries and holds. */
export async function accountStatements(
  db: Kysely<Database>,
  ownerId: string,
  gatewayId: string,
  entryLimit = 20,
): Promise<AccountStatement[]> {
  if (ownerId !== gatewayId && (await findPartner(db, ownerId)) === undefined) {
    throw new GatewayError('NOT_FOUND', `no partner ${ownerId}`);
  }
  const accounts = await listAccounts(db, ownerId === gatewayId ? undefined : ownerId);
  return Promise.all(
    accounts.map(async (account) => ({
      account,
      entries: await recentEntries(db, account.id, entryLimit),
      holds: (await heldHolds(db, account.id)).map((h) => ({
        reference: h.reference,
        amountMinor: h.amount_minor,
        createdAt: h.created_at,
      })),
    })),
  );
}

export type ReserveOutcome =
  { ok: true; account: Account } | { ok: false; reason: ReserveRefusal; availableMinor?: bigint };

/** Credit judgement and hold for `reference`, in the caller's transaction (see reserveFunds). */
export async function reserve(
  trx: Trx,
  input: { partnerId: string; money: Money; reference: string },
): Promise<ReserveOutcome> {
  const key = {
    kind: 'partner',
    partnerId: input.partnerId,
    currency: input.money.currency,
  } as const;
  const account = await findAccount(trx, key);
  if (account === undefined) return { ok: false, reason: 'NO_ACCOUNT' };
  if (account.status === 'suspended') return { ok: false, reason: 'SUSPENDED_ACCOUNT' };
  const reserved = await reserveFunds(trx, account.id, input.money.minor);
  if (reserved === undefined) {
    // Read again for the refusal's message: the account may have changed since the first read.
    const now = (await findAccount(trx, key)) ?? account;
    return now.status === 'suspended'
      ? { ok: false, reason: 'SUSPENDED_ACCOUNT' }
      : { ok: false, reason: 'INSUFFICIENT_CREDIT', availableMinor: availableOf(now) };
  }
  await insertHold(trx, {
    reference: input.reference,
    accountId: account.id,
    amountMinor: input.money.minor,
  });
  return { ok: true, account: reserved };
}

/** Releases the hold of `reference`; false when it was not held (already captured or released). */
export async function release(trx: Trx, reference: string): Promise<boolean> {
  const hold = await settleHold(trx, reference, 'released');
  if (hold === undefined) return false;
  await adjustAccount(trx, hold.accountId, { heldMinor: -hold.amountMinor });
  return true;
}

export interface Payment {
  transferId: string;
  amountMinor: bigint;
  commissionMinor: bigint;
  currency: string;
}

/**
 * Performs the payment of `reference` (a check number): its hold is captured, the drawer debited
 * the held amount, the payee credited it less the commission, the intermediary credited the
 * commission — one transfer, in the caller's transaction. The caller has already won the
 * compare-and-set on the check; the hold's own compare-and-set and the transfer's unique
 * reference make a second payment impossible even if it had not.
 */
export async function capture(
  trx: Trx,
  input: { reference: string; payeeId: string; commissionMinor: bigint },
): Promise<Payment> {
  const hold = await settleHold(trx, input.reference, 'captured');
  if (hold === undefined) {
    throw new GatewayError('CONFLICT', `the hold of ${input.reference} is no longer held`);
  }
  // Read, not locked: postTransfer locks all three accounts together, in id order.
  const drawer = await accountById(trx, hold.accountId);
  const payee = await ensureAccount(trx, {
    kind: 'partner',
    partnerId: input.payeeId,
    currency: drawer.currency,
  });
  const revenue = await ensureAccount(trx, { kind: 'revenue', currency: drawer.currency });
  const legs = paymentLegs({
    drawerAccountId: drawer.id,
    payeeAccountId: payee.id,
    revenueAccountId: revenue.id,
    amountMinor: hold.amountMinor,
    commissionMinor: input.commissionMinor,
  });
  const transferId = await postTransfer(
    trx,
    { kind: 'payment', reference: input.reference, currency: drawer.currency },
    legs,
    hold,
  );
  if (transferId === undefined) {
    throw new GatewayError('CONFLICT', `${input.reference} has already been paid`);
  }
  return {
    transferId,
    amountMinor: hold.amountMinor,
    commissionMinor: input.commissionMinor,
    currency: drawer.currency,
  };
}
