/**
 * How partner formats name parties and items, and the port that turns those names into gateway
 * ids. A partner is known by identifier aliases — scheme/value pairs such as GLN 5798000416604,
 * DK:CVR DK18296799 or NAME "Gentofte Kommune" — registered for it; an item by the gateway's item
 * id, its seller's own item id (the offer's sellerItemId) or a standard id (GTIN).
 */

/** The gateway's own scheme: its value is a partner id (what outbound UBL documents carry). */
export const GATEWAY_SCHEME = 'NAKADACHI';
/** A party's name, when it carries no identifier the gateway knows. */
export const NAME_SCHEME = 'NAME';
/** An identifier without a scheme: UN/CEFACT "mutually defined". */
export const UNSPECIFIED_SCHEME = 'ZZZ';

export interface PartyIdentifier {
  scheme: string;
  value: string;
}

/** Schemes compare case-insensitively and an absent scheme is ZZZ, so one alias matches them all. */
export function normalizeScheme(scheme: string | undefined): string {
  const trimmed = scheme?.trim().toUpperCase() ?? '';
  return trimmed === '' ? UNSPECIFIED_SCHEME : trimmed;
}

/** Names match whatever their case and spacing; other values are identifiers, kept exactly. */
export function normalizeIdentifier(identifier: PartyIdentifier): PartyIdentifier {
  const scheme = normalizeScheme(identifier.scheme);
  const value = identifier.value.trim();
  return {
    scheme,
    value: scheme === NAME_SCHEME ? value.replace(/\s+/g, ' ').toLowerCase() : value,
  };
}

export interface ItemQuery {
  /** The seller whose own item ids are meant (unknown seller: those ids cannot match). */
  sellerId: string | undefined;
  sellerItemIds: readonly string[];
  gtins: readonly string[];
  /** Gateway item ids. */
  itemIds: readonly string[];
}

export interface ItemMatch {
  itemId: string;
  /** The seller's list price for the item, when the query named a seller that carries it. */
  listPrice?: { amount: string; currency: string };
}

export interface OrderMatch {
  orderId: string;
  carrierId: string;
}

/**
 * Port: partner formats' names → gateway ids. The gateway backs it with its database; the
 * `convert` command with an alias file, where `references` is absent and references to gateway
 * objects (orders, reservations) are shown as the document gives them.
 */
export interface PartnerDirectory {
  /** The partner one of these identifiers names (first match in the order given). */
  findParty(identifiers: readonly PartyIdentifier[]): Promise<string | undefined>;
  findItem(query: ItemQuery): Promise<ItemMatch | undefined>;
  references?: {
    /** An order of this partner, by gateway order id or the buyer's own order number. */
    findOrder(reference: string, partnerId: string): Promise<OrderMatch | undefined>;
    /** A reservation by its id, or by the buyer's reference (its RFQ id) and the item. */
    findReservation(reference: string, itemId: string | undefined): Promise<string | undefined>;
  };
}
