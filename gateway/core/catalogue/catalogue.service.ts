/**
 * The catalogue (seed 000 claims 1, 5, 6): sellers publish new items not yet on the market.
 * An item is a product; several sellers may carry it (joined by gateway item id or GTIN), each
 * with its own offer that only it may revise, until the release date. The item's own description
 * belongs to the seller who first published it: other sellers' notices revise only their offer.
 */
import type { ItemNoticeBody } from '../../../schemas/documents.generated.ts';
import { GatewayError } from '../errors.ts';
import { newId } from '../ids.ts';
import { parseMoney } from '../money.ts';
import { noticeItemChanged } from '../feeds/feeds.service.ts';
import type { GatheredWrite } from '../pipeline/group-commit.ts';
import type { DocumentHandler, HandlerContext } from '../pipeline/handlers.ts';
import {
  findItemForOffer,
  findOfferBySellerItem,
  insertNewItem,
  insertNewItems,
  insertOffer,
  isFutureDate,
  reviseOffer,
  updateItem,
  type ItemFields,
  type NewItem,
  type OfferFields,
} from './catalogue.repository.ts';

function refuse(
  path: string,
  message: string,
  code: 'BUSINESS_RULE' | 'NOT_FOUND' = 'BUSINESS_RULE',
): never {
  throw new GatewayError(code, message, { details: [{ path, code, message }] });
}

export const handleItemNotice: DocumentHandler = async (ctx) => {
  const result = await applyItemNotice(ctx);
  // "Not-regularly": buyers subscribed to immediate notices hear of the change in this transaction.
  if (result.immediateSubscribers !== false) {
    await noticeItemChanged(ctx.trx, ctx.send, result.itemId);
  }
  return { assigned: { itemId: result.itemId } };
};

async function applyItemNotice({
  trx,
  sender,
  document,
  send,
  gather,
}: HandlerContext): Promise<{ itemId: string; immediateSubscribers?: boolean }> {
  const body = document.body as unknown as ItemNoticeBody;
  const price = parseMoney(body.listPrice, '/body/listPrice');
  if (price.minor < 0n) refuse('/body/listPrice/amount', 'a list price cannot be negative');
  const item: ItemFields = {
    name: body.name,
    description: body.description ?? null,
    category: body.category,
    releaseDate: body.releaseDate,
    gtin: body.gtin ?? null,
    attributes: body.attributes ?? [],
  };
  const offer: OfferFields = {
    listPriceMinor: price.minor,
    currency: price.currency,
    quantityAvailable: body.quantityAvailable,
    regions: body.regions ?? [],
  };

  // Mostly a new item: tried first, in one statement, unless the notice names a known item.
  if (body.itemId === undefined) {
    const itemId = newId('ITM');
    const newItem: NewItem = {
      item: { ...item, id: itemId },
      offer: { ...offer, sellerId: sender.id, sellerItemId: body.sellerItemId },
    };
    if (gather !== undefined) {
      // Sharing its transaction: inserted with the batch's other new items, which also send
      // the notices to immediate subscribers (or, refused, the batch runs again in halves).
      gather(insertNewItemsTogether, { ...newItem, send });
      return { itemId, immediateSubscribers: false };
    }
    const created = await insertNewItem(trx, newItem.item, newItem.offer);
    if (created.kind === 'released') {
      refuse(
        '/body/releaseDate',
        'a new item must not be on the market yet: its release date must be in the future',
      );
    }
    if (created.kind === 'inserted') {
      return { itemId, immediateSubscribers: created.immediateSubscribers };
    }
  }

  const existing = await findOfferBySellerItem(trx, sender.id, body.sellerItemId);
  if (existing !== undefined) {
    // A revision of this seller's own offer.
    if (body.itemId !== undefined && body.itemId !== existing.item_id) {
      refuse(
        '/body/itemId',
        `sellerItemId ${body.sellerItemId} already refers to item ${existing.item_id}`,
      );
    }
    if (!existing.unreleased) {
      refuse(
        '/body/sellerItemId',
        `item ${existing.item_id} is released: offers can be revised until release only`,
      );
    }
    if (existing.created_by === sender.id) {
      if (!(await isFutureDate(trx, body.releaseDate))) {
        refuse(
          '/body/releaseDate',
          'the release date of an unreleased item must stay in the future',
        );
      }
      await updateItem(trx, existing.item_id, item);
    }
    if (
      !(await reviseOffer(
        trx,
        { itemId: existing.item_id, sellerId: sender.id, expectedVersion: existing.version },
        offer,
      ))
    ) {
      throw new GatewayError(
        'CONFLICT',
        'the offer was revised concurrently: send the notice again',
        { retryable: false },
      );
    }
    return { itemId: existing.item_id };
  }

  // A new offer on an item another seller already published.
  const known = await findItemForOffer(trx, { itemId: body.itemId, gtin: body.gtin });
  if (known === undefined) {
    if (body.itemId !== undefined) refuse('/body/itemId', `no item ${body.itemId}`, 'NOT_FOUND');
    // The new-item statement saw this sellerItemId or GTIN taken, and now neither is: a
    // concurrent transaction rolled back. Nothing took effect; the partner may send again.
    throw new GatewayError(
      'CONFLICT',
      'the catalogue changed concurrently: send the notice again',
      { retryable: false },
    );
  }
  if (!known.unreleased) {
    refuse(
      body.itemId === undefined ? '/body/gtin' : '/body/itemId',
      `item ${known.id} is already on the market: only new items are traded`,
    );
  }
  await insertOffer(trx, {
    ...offer,
    itemId: known.id,
    sellerId: sender.id,
    sellerItemId: body.sellerItemId,
  });
  return { itemId: known.id };
}

/** The new items of a group-committed batch, in one statement (see insertNewItems). */
const insertNewItemsTogether: GatheredWrite<NewItem & { send: HandlerContext['send'] }> = async (
  trx,
  newItems,
) => {
  const inserted = await insertNewItems(trx, newItems);
  if (inserted.kind === 'refused') return false;
  if (inserted.immediateSubscribers) {
    for (const { item, send } of newItems) await noticeItemChanged(trx, send, item.id);
  }
  return true;
};

export const catalogueHandlers = { ItemNotice: handleItemNotice };
