/**
 * A small alias file: the partner and item aliases the `convert` command needs to translate a
 * partner's documents without a database — what `GET /admin/v1/aliases` exports from one:
 *
 *   { "partners": [ { "id": "GENTOFTE", "identifiers": [ { "scheme": "GLN", "value": "5798000416604" } ] } ],
 *     "items": [ { "itemId": "ITM-…", "seller": "DELCOMPUTER", "sellerItemId": "DELL1052665",
 *                  "gtin": "…", "listPrice": { "amount": "4300.00", "currency": "DKK" } } ] }
 *
 * References to the gateway's own objects (orders, reservations) are not in it: `convert` shows
 * them as the document gives them.
 */
import { Ajv2020 } from 'ajv/dist/2020.js';
import {
  GATEWAY_SCHEME,
  normalizeIdentifier,
  type ItemMatch,
  type PartnerDirectory,
} from '../../gateway/core/partners/identification.ts';

export interface AliasFile {
  partners: { id: string; identifiers: { scheme: string; value: string }[] }[];
  items: {
    itemId: string;
    seller?: string;
    sellerItemId?: string;
    gtin?: string;
    listPrice?: { amount: string; currency: string };
  }[];
}

const SCHEMA = {
  type: 'object',
  properties: {
    partners: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          id: { type: 'string', minLength: 1 },
          identifiers: {
            type: 'array',
            items: {
              type: 'object',
              properties: { scheme: { type: 'string' }, value: { type: 'string', minLength: 1 } },
              required: ['scheme', 'value'],
              additionalProperties: false,
            },
          },
        },
        required: ['id', 'identifiers'],
        additionalProperties: false,
      },
    },
    items: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          itemId: { type: 'string', minLength: 1 },
          seller: { type: 'string' },
          sellerItemId: { type: 'string' },
          gtin: { type: 'string' },
          listPrice: {
            type: 'object',
            properties: { amount: { type: 'string' }, currency: { type: 'string' } },
            required: ['amount', 'currency'],
            additionalProperties: false,
          },
        },
        required: ['itemId'],
        additionalProperties: false,
      },
    },
  },
  required: ['partners', 'items'],
  additionalProperties: false,
} as const;

const validate = new Ajv2020({ allErrors: true }).compile(SCHEMA);

/** The alias file's content, or the first thing wrong with it. */
export function parseAliasFile(value: unknown): AliasFile {
  if (!validate(value)) {
    const first = validate.errors?.[0];
    throw new Error(`not an alias file: ${first?.instancePath || '/'} ${first?.message ?? ''}`);
  }
  return value;
}

export function aliasDirectory(file: AliasFile): PartnerDirectory {
  const partners = new Map<string, string>();
  const ids = new Set(file.partners.map((p) => p.id));
  for (const partner of file.partners) {
    for (const identifier of partner.identifiers) {
      const { scheme, value } = normalizeIdentifier(identifier);
      partners.set(`${scheme}\u0000${value}`, partner.id);
    }
  }
  const match = (item: AliasFile['items'][number], sellerId: string | undefined): ItemMatch => ({
    itemId: item.itemId,
    ...(sellerId !== undefined && item.seller === sellerId && item.listPrice !== undefined
      ? { listPrice: item.listPrice }
      : {}),
  });
  return {
    findParty(identifiers) {
      for (const identifier of identifiers) {
        const { scheme, value } = normalizeIdentifier(identifier);
        if (scheme === GATEWAY_SCHEME && ids.has(value)) return Promise.resolve(value);
        const partner = partners.get(`${scheme}\u0000${value}`);
        if (partner !== undefined) return Promise.resolve(partner);
      }
      return Promise.resolve(undefined);
    },
    findItem({ sellerId, sellerItemIds, gtins, itemIds }) {
      const found =
        file.items.find(
          (i) => itemIds.includes(i.itemId) && (sellerId === undefined || i.seller === sellerId),
        ) ??
        file.items.find((i) => itemIds.includes(i.itemId)) ??
        file.items.find(
          (i) =>
            i.seller === sellerId &&
            i.sellerItemId !== undefined &&
            sellerItemIds.includes(i.sellerItemId),
        ) ??
        file.items.find((i) => i.gtin !== undefined && gtins.includes(i.gtin));
      if (found === undefined) return Promise.resolve(undefined);
      // The list price is the named seller's offer of that item, wherever the match came from.
      const offer = file.items.find((i) => i.itemId === found.itemId && i.seller === sellerId);
      return Promise.resolve(match(offer ?? found, sellerId));
    },
  };
}
