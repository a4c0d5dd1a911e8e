/**
 * Identifier aliases (per-partner scheme/value pairs) and the database's answer to the partner
 * formats' questions (PartnerDirectory): which partner a UBL party names, which item a line
 * means, which order or reservation a UBL reference is.
 */
import { sql, type Kysely } from 'kysely';
import type { Database } from '../../db/tables.ts';
import { GatewayError } from '../errors.ts';
import { formatMoney } from '../money.ts';
import {
  GATEWAY_SCHEME,
  normalizeIdentifier,
  type PartnerDirectory,
  type PartyIdentifier,
} from './identification.ts';
import { getPartner } from './partners.service.ts';

type Db = Kysely<Database>;

function checkIdentifier(identifier: PartyIdentifier): PartyIdentifier {
  const normalized = normalizeIdentifier(identifier);
  if (normalized.value === '' || normalized.value.length > 200 || normalized.scheme.length > 64) {
    throw new GatewayError(
      'BAD_REQUEST',
      'an alias is a scheme (up to 64) and a value (1 to 200 characters)',
    );
  }
  if (normalized.scheme === GATEWAY_SCHEME) {
    throw new GatewayError('BAD_REQUEST', `${GATEWAY_SCHEME} names partners by their id already`);
  }
  return normalized;
}

export async function listPartnerIdentifiers(
  db: Db,
  partnerId: string,
): Promise<PartyIdentifier[]> {
  await getPartner(db, partnerId);
  return db
    .selectFrom('partner_identifiers')
    .select(['scheme', 'value'])
    .where('partner_id', '=', partnerId)
    .orderBy('scheme')
    .orderBy('value')
    .execute();
}

/** Idempotent for the same partner; an identifier another partner holds is a conflict. */
export async function addPartnerIdentifier(
  db: Db,
  partnerId: string,
  identifier: PartyIdentifier,
): Promise<PartyIdentifier> {
  await getPartner(db, partnerId);
  const alias = checkIdentifier(identifier);
  await db
    .insertInto('partner_identifiers')
    .values({ ...alias, partner_id: partnerId })
    .onConflict((oc) => oc.columns(['scheme', 'value']).doNothing())
    .execute();
  const holder = await db
    .selectFrom('partner_identifiers')
    .select('partner_id')
    .where('scheme', '=', alias.scheme)
    .where('value', '=', alias.value)
    .executeTakeFirstOrThrow();
  if (holder.partner_id !== partnerId) {
    throw new GatewayError(
      'CONFLICT',
      `${alias.scheme} ${alias.value} already names partner ${holder.partner_id}`,
    );
  }
  return alias;
}

export async function removePartnerIdentifier(
  db: Db,
  partnerId: string,
  identifier: PartyIdentifier,
): Promise<void> {
  const alias = normalizeIdentifier(identifier);
  const result = await db
    .deleteFrom('partner_identifiers')
    .where('partner_id', '=', partnerId)
    .where('scheme', '=', alias.scheme)
    .where('value', '=', alias.value)
    .executeTakeFirst();
  if (result.numDeletedRows === 0n) {
    throw new GatewayError(
      'NOT_FOUND',
      `partner ${partnerId} has no alias ${alias.scheme} ${alias.value}`,
    );
  }
}

/**
 * Every alias, as the alias file `convert` reads (adapters/ubl/alias-file.ts): each partner's
 * identifiers, and each offer's item id, seller item id, GTIN and list price.
 */
export async function exportAliases(db: Db) {
  const identifiers = await db
    .selectFrom('partners as p')
    .leftJoin('partner_identifiers as i', 'i.partner_id', 'p.id')
    .select(['p.id', 'i.scheme', 'i.value'])
    .orderBy('p.id')
    .orderBy('i.scheme')
    .orderBy('i.value')
    .execute();
  const partners = new Map<string, PartyIdentifier[]>();
  for (const row of identifiers) {
    const list = partners.get(row.id) ?? [];
    if (row.scheme !== null && row.value !== null)
      list.push({ scheme: row.scheme, value: row.value });
    partners.set(row.id, list);
  }
  const offers = await db
    .selectFrom('offers as o')
    .innerJoin('items as i', 'i.id', 'o.item_id')
    .select([
      'o.item_id',
      'o.seller_id',
      'o.seller_item_id',
      'i.gtin',
      'o.list_price_minor',
      'o.currency',
    ])
    .orderBy('o.item_id')
    .orderBy('o.seller_id')
    .execute();
  return {
    partners: [...partners].map(([id, list]) => ({ id, identifiers: list })),
    items: offers.map((o) => ({
      itemId: o.item_id,
      seller: o.seller_id,
      sellerItemId: o.seller_item_id,
      ...(o.gtin === null ? {} : { gtin: o.gtin }),
      listPrice: formatMoney({ minor: o.list_price_minor, currency: o.currency }),
    })),
  };
}

/** The gateway's directory: aliases, the catalogue, and its orders and reservations. */
export function createPartnerDirectory(db: Db): PartnerDirectory {
  return {
    async findParty(identifiers) {
      const wanted = identifiers.map(normalizeIdentifier);
      if (wanted.length === 0) return undefined;
      const own = wanted.filter((i) => i.scheme === GATEWAY_SCHEME).map((i) => i.value);
      const [aliases, partners] = await Promise.all([
        db
          .selectFrom('partner_identifiers')
          .select(['scheme', 'value', 'partner_id'])
          .where((eb) =>
            eb.or(
              wanted.map((i) => eb.and([eb('scheme', '=', i.scheme), eb('value', '=', i.value)])),
            ),
          )
          .execute(),
        own.length === 0
          ? Promise.resolve([])
          : db.selectFrom('partners').select('id').where('id', 'in', own).execute(),
      ]);
      // The first identifier the document gives that names someone decides.
      for (const identifier of wanted) {
        if (identifier.scheme === GATEWAY_SCHEME) {
          if (partners.some((p) => p.id === identifier.value)) return identifier.value;
          continue;
        }
        const hit = aliases.find(
          (a) => a.scheme === identifier.scheme && a.value === identifier.value,
        );
        if (hit !== undefined) return hit.partner_id;
      }
      return undefined;
    },

    async findItem({ sellerId, sellerItemIds, gtins, itemIds }) {
      let itemId: string | undefined;
      if (itemIds.length > 0) {
        itemId = (
          await db.selectFrom('items').select('id').where('id', 'in', itemIds).executeTakeFirst()
        )?.id;
      }
      if (itemId === undefined && sellerId !== undefined && sellerItemIds.length > 0) {
        itemId = (
          await db
            .selectFrom('offers')
            .select('item_id')
            .where('seller_id', '=', sellerId)
            .where('seller_item_id', 'in', sellerItemIds)
            .executeTakeFirst()
        )?.item_id;
      }
      if (itemId === undefined && gtins.length > 0) {
        itemId = (
          await db.selectFrom('items').select('id').where('gtin', 'in', gtins).executeTakeFirst()
        )?.id;
      }
      if (itemId === undefined) return undefined;
      const offer =
        sellerId === undefined
          ? undefined
          : await db
              .selectFrom('offers')
              .select(['list_price_minor', 'currency'])
              .where('item_id', '=', itemId)
              .where('seller_id', '=', sellerId)
              .executeTakeFirst();
      return {
        itemId,
        ...(offer === undefined
          ? {}
          : {
              listPrice: formatMoney({ minor: offer.list_price_minor, currency: offer.currency }),
            }),
      };
    },

    references: {
      async findOrder(reference, partnerId) {
        const row = await db
          .selectFrom('commodity_orders')
          .select(['id', 'carrier_id'])
          .where((eb) => eb.or([eb('id', '=', reference), eb('order_reference', '=', reference)]))
          .where((eb) =>
            eb.or([
              eb('buyer_id', '=', partnerId),
              eb('seller_id', '=', partnerId),
              eb('carrier_id', '=', partnerId),
            ]),
          )
          // The gateway's own id first, then the most recent order under the buyer's number.
          .orderBy(sql`id = ${reference}`, 'desc')
          .orderBy('created_at', 'desc')
          .executeTakeFirst();
        return row === undefined ? undefined : { orderId: row.id, carrierId: row.carrier_id };
      },

      async findReservation(reference, itemId) {
        const row = await db
          .selectFrom('reservations')
          .select('id')
          .where((eb) =>
            itemId === undefined
              ? eb('id', '=', reference)
              : eb.or([
                  eb('id', '=', reference),
                  eb.and([eb('buyer_reference', '=', reference), eb('item_id', '=', itemId)]),
                ]),
          )
          .orderBy(sql`id = ${reference}`, 'desc')
          .orderBy('created_at', 'desc')
          .executeTakeFirst();
        return row?.id;
      },
    },
  };
}
