/**
 * The e-check order flow under test: documents sent over the wire (`app.request`), accounts
 * funded through the admin API, and what the gateway queued for each party read back.
 */
import { sql, type Kysely } from 'kysely';
import { expect } from 'vitest';
import type { Database } from '../../gateway/db/tables.ts';
import { exampleDocument, postDocument, receiptOf } from './documents.ts';
import { registerPartner, type RegisteredPartner, type TestGateway } from './gateway.ts';
import { queuedFor, type Queued } from './outbox.ts';

/** Registers each [id, roles] partner (JSON, mailbox delivery); by id. */
export async function registerParties(
  gateway: TestGateway,
  parties: readonly (readonly [string, readonly string[]])[],
): Promise<Record<string, RegisteredPartner>> {
  const registered: Record<string, RegisteredPartner> = {};
  for (const [id, roles] of parties) {
    registered[id] = await registerPartner(gateway, { id, roles: [...roles] });
  }
  return registered;
}

export interface Sent {
  status: number;
  receipt: Record<string, any>;
  ids: Record<string, string>;
  errors: { path: string; code: string; message: string }[];
}

/** The example of `type`, from `partner`, with body fields replaced; the receipt, read. */
export async function send(
  gateway: TestGateway,
  partner: RegisteredPartner,
  type: string,
  body: Record<string, unknown>,
): Promise<Sent> {
  const response = await postDocument(
    gateway.app,
    partner.apiKey,
    exampleDocument(type, partner.id, body),
  );
  const receipt = await receiptOf(response);
  const ids = Object.fromEntries(
    (receipt.assigned as { name: string; value: string }[]).map((a) => [a.name, a.value]),
  );
  return { status: response.status, receipt, ids, errors: receipt.errors as Sent['errors'] };
}

export async function adminJson(
  gateway: TestGateway,
  method: string,
  path: string,
  body?: unknown,
): Promise<Record<string, any>> {
  const response = await gateway.admin(method, path, body);
  const json = (await response.json()) as Record<string, any>;
  if (response.status >= 300)
    throw new Error(`${method} ${path}: ${response.status} ${JSON.stringify(json)}`);
  return json;
}

export async function fund(
  gateway: TestGateway,
  partnerId: string,
  amount: string,
  currency = 'JPY',
) {
  return adminJson(gateway, 'POST', `/admin/v1/accounts/${partnerId}/fundings`, {
    amount,
    currency,
  });
}

export async function setCreditLimit(
  gateway: TestGateway,
  partnerId: string,
  amount: string,
  currency = 'JPY',
) {
  return adminJson(gateway, 'PUT', `/admin/v1/accounts/${partnerId}/credit-limit`, {
    amount,
    currency,
  });
}

/** The account view of a partner (or of the gateway) in one currency. */
export async function accountOf(
  gateway: TestGateway,
  ownerId: string,
  currency = 'JPY',
  kind = 'partner',
): Promise<Record<string, any> | undefined> {
  const { accounts } = await adminJson(gateway, 'GET', `/admin/v1/accounts/${ownerId}`);
  return (accounts as Record<string, any>[]).find(
    (a) => a.currency === currency && a.kind === kind,
  );
}

let serial = 0;

/** A new item the seller lists at `price`; its gateway item id. */
export async function listItem(
  gateway: TestGateway,
  seller: RegisteredPartner,
  price: string,
  currency = 'JPY',
): Promise<string> {
  serial += 1;
  const sent = await send(gateway, seller, 'ItemNotice', {
    sellerItemId: `SKU-${Date.now().toString(36)}-${serial}`,
    gtin: undefined,
    releaseDate: '2036-12-01',
    listPrice: { amount: price, currency },
  });
  if (sent.status !== 200) throw new Error(`ItemNotice refused: ${JSON.stringify(sent.errors)}`);
  return sent.ids.itemId!;
}

/** The one document of `type` queued for `recipientId` about `ref` (by a body field). */
export async function queuedOne(
  gateway: TestGateway,
  recipientId: string,
  type: string,
  match: Record<string, string>,
): Promise<Queued> {
  const found = (await queuedFor(gateway.database.db, recipientId, type)).filter((d) =>
    Object.entries(match).every(([k, v]) => d.body[k] === v),
  );
  if (found.length !== 1) {
    throw new Error(
      `expected one ${type} for ${recipientId} ${JSON.stringify(match)}, got ${found.length}`,
    );
  }
  return found[0]!;
}

export const ADDRESS = {
  name: 'Spreeblick Medienhaus GmbH, Wareneingang',
  line1: 'Friedrichstraße 123',
  city: 'Berlin',
  postalCode: '10117',
  country: 'DE',
};

export interface Line {
  itemId: string;
  quantity: number;
  unitPrice: { amount: string; currency: string };
}

/** A CommodityOrder body paying with an issued check (its ECheck body). */
export function orderBody(
  echeck: Record<string, any>,
  lines: Line[],
  over: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    seller: echeck.seller,
    checkNumber: echeck.checkNumber,
    echeck: echeck.echeck,
    dealId: echeck.dealId,
    lines,
    total: echeck.amount,
    distributionAddress: ADDRESS,
    orderReference: 'PO-TEST',
    ...over,
  };
}

/**
 * The ledger's invariants, read from the database: every transfer and all entries sum to zero;
 * each account's balance is the sum of its entries and its held amount that of its held holds;
 * no partner account is below −credit limit; each paid check was paid by one transfer with one
 * debit (the buyer, the amount) and one credit to the seller (the amount less the commission);
 * each hold follows its check.
 */
export async function expectLedgerInvariants(db: Kysely<Database>): Promise<void> {
  const unbalanced = await sql<{ id: string }>`
    select transfer_id as id from ledger_entries group by transfer_id having sum(amount_minor) <> 0`.execute(
    db,
  );
  expect(unbalanced.rows).toEqual([]);
  const total = await sql<{
    sum: string;
  }>`select coalesce(sum(amount_minor), 0)::text as sum from ledger_entries`.execute(db);
  expect(total.rows[0]?.sum).toBe('0');
  const drifted = await sql<{ id: string }>`
    select a.id from accounts a
    where a.balance_minor <> coalesce((select sum(e.amount_minor) from ledger_entries e where e.account_id = a.id), 0)
       or a.held_minor <> coalesce((select sum(h.amount_minor) from holds h where h.account_id = a.id and h.status = 'held'), 0)
       or (a.kind = 'partner' and a.balance_minor < -a.credit_limit_minor)
       or (a.kind = 'partner' and a.balance_minor + a.credit_limit_minor - a.held_minor < 0)`.execute(
    db,
  );
  expect(drifted.rows).toEqual([]);
  // every paid check: one payment, with exactly one debit (the buyer, the amount) and one credit
  // to the seller (the amount less the commission); the commission, if any, to the revenue account
  const badPayments = await sql<{ check_number: string }>`
    select c.check_number from checks c
    where c.status = 'paid' and (
      (select count(*) from ledger_transfers t where t.kind = 'payment' and t.reference = c.check_number) <> 1
      or (select count(*) from ledger_entries e join ledger_transfers t on t.id = e.transfer_id
          where t.reference = c.check_number and t.kind = 'payment' and e.amount_minor < 0) <> 1
      or not exists (select 1 from ledger_entries e join ledger_transfers t on t.id = e.transfer_id
          join accounts a on a.id = e.account_id
          where t.reference = c.check_number and t.kind = 'payment'
            and a.partner_id = c.buyer_id and e.amount_minor = -c.amount_minor)
      or (select count(*) from ledger_entries e join ledger_transfers t on t.id = e.transfer_id
          join accounts a on a.id = e.account_id
          where t.reference = c.check_number and t.kind = 'payment'
            and a.partner_id = c.seller_id and e.amount_minor = c.amount_minor - c.commission_minor) <> 1)`.execute(
    db,
  );
  expect(badPayments.rows).toEqual([]);
  // the hold follows the check: held while it may still pay, captured once paid, else released
  const badHolds = await sql<{ check_number: string }>`
    select c.check_number from checks c join holds h on h.reference = c.check_number
    where h.status <> case when c.status in ('issued','presented','demanded') then 'held'
                           when c.status = 'paid' then 'captured' else 'released' end`.execute(db);
  expect(badHolds.rows).toEqual([]);
}
