/** The catalogue as partners see it: one shape for an item with its offers, on the API and in feeds. */
import type { Selectable } from 'kysely';
import type { ItemsTable, OffersTable } from '../../db/tables.ts';
import { formatMoney } from '../money.ts';

export function itemView(item: Selectable<ItemsTable>, offers: readonly Selectable<OffersTable>[]) {
  return {
    itemId: item.id,
    name: item.name,
    category: item.category,
    releaseDate: item.release_date,
    ...(item.gtin === null ? {} : { gtin: item.gtin }),
    ...(item.description === null ? {} : { description: item.description }),
    ...(item.attributes.length === 0 ? {} : { attributes: item.attributes }),
    offers: offers.map((o) => ({
      seller: o.seller_id,
      sellerItemId: o.seller_item_id,
      listPrice: formatMoney({ minor: o.list_price_minor, currency: o.currency }),
      quantityAvailable: o.quantity_available,
      ...(o.regions.length === 0 ? {} : { regions: o.regions }),
    })),
  };
}
