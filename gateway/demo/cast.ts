/** Who takes part in the demo: two of each partner role, some speaking XML, some JSON. */
import type { WireFormat } from '../core/document.ts';
import type { Address } from '../../schemas/documents.generated.ts';
import type { PartnerRole } from '../../schemas/document-types.ts';

export interface CastMember {
  id: string;
  name: string;
  role: PartnerRole;
  format: WireFormat;
}

export const CAST = [
  {
    id: 'SELLER-A',
    name: 'Aozora Audio, Kawasaki',
    role: 'seller',
    format: 'json',
  },
  {
    id: 'SELLER-B',
    name: 'Nordlicht Elektronik, Hamburg',
    role: 'seller',
    format: 'xml',
  },
  {
    id: 'BUYER-A',
    name: 'Kansai Sound Design, Osaka',
    role: 'buyer',
    format: 'json',
  },
  { id: 'BUYER-B', name: 'Hokuto Hi-Fi, Sapporo', role: 'buyer', format: 'json' },
  {
    id: 'SETTLE-A',
    name: 'Sakura Settlement Bank',
    role: 'settlement',
    format: 'json',
  },
  {
    id: 'SETTLE-B',
    name: 'Hanse Clearing',
    role: 'settlement',
    format: 'json',
  },
  {
    id: 'CARRIER-A',
    name: 'Yamabiko Logistics',
    role: 'carrier',
    format: 'json',
  },
  { id: 'CARRIER-B', name: 'Hayate Express', role: 'carrier', format: 'xml' },
] as const satisfies readonly CastMember[];

export type PartyId = (typeof CAST)[number]['id'];

export const SELLER_A_WAREHOUSE: Address = {
  name: 'Aozora Audio, Warehouse 2',
  line1: '1-5 Ukishima-cho',
  city: 'Kawasaki',
  region: 'Kanagawa',
  postalCode: '210-0862',
  country: 'JP',
};

export const BUYER_A_SHOP: Address = {
  name: 'Kansai Sound Design, goods reception',
  line1: '2-3-14 Nipponbashi',
  city: 'Osaka',
  region: 'Osaka',
  postalCode: '556-0005',
  country: 'JP',
};
