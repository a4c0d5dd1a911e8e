/**
 * Ledger queries. Balances and holds change only through the conditional UPDATEs here, each in
 * the transaction that writes the matching entries or hold rows.
 */
import { sql, type Kysely, type Selectable, type Transaction } from 'kysely';
import type { AccountsTable, Database } from '../../db/tables.ts';
import { newId } from '../ids.ts';
import type { Account, AccountKind, AccountStatus, Leg } from './ledger.ts';

type Db = Kysely<Database> | Transaction<Database>;

export type AccountKey =
  | { kind: 'partner'; partnerId: string; currency: string }
  | { kind: Exclude<AccountKind, 'partner'>; currency: string };

function toAccount(row: Selectable<AccountsTable>): Account {
  return {
    id: row.id,
    kind: row.kind,
    partnerId: row.partner_id,
    currency: row.currency,
    status: row.status,
    balanceMinor: row.balance_minor,
    creditLimitMinor: row.credit_limit_minor,
    heldMinor: row.held_minor,
  };
}

function selectAccount(db: Db, key: AccountKey) {
  const query = db.selectFrom('accounts').selectAll().where('currency', '=', key.currency);
  return key.kind === 'partner'
    ? query.where('kind', '=', 'partner').where('partner_id', '=', key.partnerId)
    : query.where('kind', '=', key.kind);
}

export async function findAccount(db: Db, key: AccountKey): Promise<Account | undefined> {
  const row = await selectAccount(db, key).executeTakeFirst();
  return row === undefined ? undefined : toAccount(row);
}

export async function accountById(db: Db, id: string): Promise<Account> {
  return toAccount(
    await db.selectFrom('accounts').selectAll().where('id', '=', id).executeTakeFirstOrThrow(),
  );
}

/** A partner's accounts, or the gateway's own (partnerId undefined), by currency. */
export async function listAccounts(db: Db, partnerId: string | undefined): Promise<Account[]> {
  const query = db.selectFrom('accounts').selectAll().orderBy('currency').orderBy('kind');
  const rows = await (
    partnerId === undefined
      ? query.where('kind', '<>', 'partner')
      : query.where('partner_id', '=', partnerId)
  ).execute();
  return rows.map(toAccount);
}

/** The account, created empty on first use (concurrent first uses create it once). */
export async function ensureAccount(db: Db, key: AccountKey): Promise<Account> {
  await db
    .insertInto('accounts')
    .values({
      id: newId('ACC'),
      kind: key.kind,
      partner_id: key.kind === 'partner' ? key.partnerId : null,
      currency: key.currency,
    })
    // The index predicates are literals: PostgreSQL matches a partial unique index to ON CONFLICT
    // only when it can prove the predicate, which it cannot for a bound parameter.
    .onConflict((oc) =>
      key.kind === 'partner'
        ? oc
            .columns(['partner_id', 'currency'])
            .where(sql<boolean>`kind = 'partner'`)
            .doNothing()
        : oc
            .columns(['kind', 'currency'])
            .where(sql<boolean>`kind <> 'partner'`)
            .doNothing(),
    )
    .execute();
  return toAccount(await selectAccount(db, key).executeTakeFirstOrThrow());
}

/**
 * Locks the accounts a transfer touches, always in id order: two transfers over the same
 * accounts (a partner that buys from a seller who buys from it) then queue instead of deadlocking.
 */
export async function lockAccounts(db: Db, ids: readonly string[]): Promise<Account[]> {
  const rows = await db
    .selectFrom('accounts')
    .selectAll()
    .where('id', 'in', [...ids])
    .orderBy('id')
    .forUpdate()
    .execute();
  return rows.map(toAccount);
}

/**
 * The credit judgement and the reservation in one statement.
 *
 * Invariant: the holds of an account never exceed its balance + credit limit, under any
 * concurrency. The WHERE clause re-reads the row under its row lock: PostgreSQL re-evaluates it
 * on the latest committed version when a concurrent UPDATE got there first (READ COMMITTED), so
 * of 50 requests racing for one account exactly those that fit are reserved. Rejected:
 * SELECT … FOR UPDATE, judge in TypeScript, then UPDATE — the same guarantee for two round trips
 * with the lock held; and SERIALIZABLE — correct, but every lost race becomes a retry.
 */
export async function reserveFunds(
  db: Db,
  accountId: string,
  amountMinor: bigint,
): Promise<Account | undefined> {
  const row = await db
    .updateTable('accounts')
    .set((eb) => ({
      held_minor: eb('held_minor', '+', amountMinor),
      updated_at: sql<Date>`now()`,
    }))
    .where('id', '=', accountId)
    .where('status', '=', 'active')
    .where(
      (eb) => eb(eb('balance_minor', '+', eb.ref('credit_limit_minor')), '-', eb.ref('held_minor')),
      '>=',
      amountMinor,
    )
    .returningAll()
    .executeTakeFirst();
  return row === undefined ? undefined : toAccount(row);
}

export async function insertHold(
  db: Db,
  hold: { reference: string; accountId: string; amountMinor: bigint },
): Promise<void> {
  await db
    .insertInto('holds')
    .values({
      reference: hold.reference,
      account_id: hold.accountId,
      amount_minor: hold.amountMinor,
    })
    .execute();
}

/** Compare-and-set held → captured | released; undefined when the hold was not held. */
export async function settleHold(
  db: Db,
  reference: string,
  to: 'captured' | 'released',
): Promise<{ accountId: string; amountMinor: bigint } | undefined> {
  const row = await db
    .updateTable('holds')
    .set({ status: to, settled_at: sql<Date>`now()` })
    .where('reference', '=', reference)
    .where('status', '=', 'held')
    .returning(['account_id', 'amount_minor'])
    .executeTakeFirst();
  return row === undefined
    ? undefined
    : { accountId: row.account_id, amountMinor: row.amount_minor };
}

/** Adds to an account's balance and held amount (either may be negative). */
export async function adjustAccount(
  db: Db,
  accountId: string,
  change: { balanceMinor?: bigint; heldMinor?: bigint },
): Promise<void> {
  await db
    .updateTable('accounts')
    .set((eb) => ({
      balance_minor: eb('balance_minor', '+', change.balanceMinor ?? 0n),
      held_minor: eb('held_minor', '+', change.heldMinor ?? 0n),
      updated_at: sql<Date>`now()`,
    }))
    .where('id', '=', accountId)
    .execute();
}

export interface TransferRecord {
  id: string;
  kind: 'funding' | 'payment';
  reference: string | null;
  currency: string;
  amountMinor: bigint;
}

/** False when a transfer of this kind already has the reference (the unique index says so). */
export async function insertTransfer(db: Db, transfer: TransferRecord): Promise<boolean> {
  const row = await db
    .insertInto('ledger_transfers')
    .values({
      id: transfer.id,
      kind: transfer.kind,
      reference: transfer.reference,
      currency: transfer.currency,
      amount_minor: transfer.amountMinor,
    })
    .onConflict((oc) =>
      oc
        .columns(['kind', 'reference'])
        .where(sql<boolean>`reference is not null`)
        .doNothing(),
    )
    .returning('id')
    .executeTakeFirst();
  return row !== undefined;
}

export async function insertEntries(
  db: Db,
  transferId: string,
  legs: readonly Leg[],
): Promise<void> {
  await db
    .insertInto('ledger_entries')
    .values(
      legs.map((leg) => ({
        transfer_id: transferId,
        account_id: leg.accountId,
        amount_minor: leg.amountMinor,
      })),
    )
    .execute();
}

export async function findTransfer(db: Db, kind: 'funding' | 'payment', reference: string) {
  return db
    .selectFrom('ledger_transfers')
    .selectAll()
    .where('kind', '=', kind)
    .where('reference', '=', reference)
    .executeTakeFirst();
}

export async function transferLegs(db: Db, transferId: string): Promise<Leg[]> {
  const rows = await db
    .selectFrom('ledger_entries')
    .select(['account_id', 'amount_minor'])
    .where('transfer_id', '=', transferId)
    .orderBy('id')
    .execute();
  return rows.map((r) => ({ accountId: r.account_id, amountMinor: r.amount_minor }));
}

/**
 * Sets a credit limit unless the account already uses more than the new limit would allow
 * (balance + limit − held < 0): one conditional UPDATE, so a concurrent reservation cannot slip
 * between the check and the change.
 */
export async function updateCreditLimit(
  db: Db,
  accountId: string,
  limitMinor: bigint,
): Promise<Account | undefined> {
  const row = await db
    .updateTable('accounts')
    .set({ credit_limit_minor: limitMinor, updated_at: sql<Date>`now()` })
    .where('id', '=', accountId)
    .where((eb) => eb(eb('balance_minor', '-', eb.ref('held_minor')), '>=', -limitMinor))
    .returningAll()
    .executeTakeFirst();
  return row === undefined ? undefined : toAccount(row);
}

export async function updateAccountStatus(
  db: Db,
  accountId: string,
  status: AccountStatus,
): Promise<Account> {
  const row = await db
    .updateTable('accounts')
    .set({ status, updated_at: sql<Date>`now()` })
    .where('id', '=', accountId)
    .returningAll()
    .executeTakeFirstOrThrow();
  return toAccount(row);
}

export interface EntryView {
  id: bigint;
  transferId: string;
  kind: 'funding' | 'payment';
  reference: string | null;
  amountMinor: bigint;
  at: Date;
}

export async function recentEntries(
  db: Db,
  accountId: string,
  limit: number,
): Promise<EntryView[]> {
  const rows = await db
    .selectFrom('ledger_entries as e')
    .innerJoin('ledger_transfers as t', 't.id', 'e.transfer_id')
    .select(['e.id', 'e.transfer_id', 't.kind', 't.reference', 'e.amount_minor', 'e.created_at'])
    .where('e.account_id', '=', accountId)
    .orderBy('e.id', 'desc')
    .limit(limit)
    .execute();
  return rows.map((r) => ({
    id: r.id,
    transferId: r.transfer_id,
    kind: r.kind,
    reference: r.reference,
    amountMinor: r.amount_minor,
    at: r.created_at,
  }));
}

export async function heldHolds(db: Db, accountId: string) {
  return db
    .selectFrom('holds')
    .select(['reference', 'amount_minor', 'created_at'])
    .where('account_id', '=', accountId)
    .where('status', '=', 'held')
    .orderBy('created_at')
    .execute();
}
