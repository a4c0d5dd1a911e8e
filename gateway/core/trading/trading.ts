/** A reservation as sellers see it: one shape on the API and in the reservation feed. */
import { formatMoney } from '../money.ts';

export interface ReservationFields {
  id: string;
  item_id: string;
  quantity: number;
  max_unit_price_minor: bigint;
  currency: string;
  needed_by: string;
  bidding_deadline: Date;
  delivery_region: string | null;
}

export function reservationView(r: ReservationFields) {
  return {
    reservationId: r.id,
    itemId: r.item_id,
    quantity: r.quantity,
    maxUnitPrice: formatMoney({ minor: r.max_unit_price_minor, currency: r.currency }),
    neededBy: r.needed_by,
    biddingDeadline: r.bidding_deadline.toISOString(),
    ...(r.delivery_region === null ? {} : { deliveryRegion: r.delivery_region }),
  };
}
