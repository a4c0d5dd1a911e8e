/**
 * UBL under test: the OASIS examples, their parties registered as partners with the aliases
 * the examples use (and nothing else), their items in the catalogue, and reading the UBL the
 * gateway sends back (ApplicationResponse receipts, outbound documents).
 */
import fs from 'node:fs';
import path from 'node:path';
import { decodeWithMapping } from '../../adapters/ubl/engine.ts';
import { createUblAdapter } from '../../adapters/ubl/ubl-adapter.ts';
import { parseUbl } from '../../adapters/ubl/ubl-xml.ts';
import type { CanonicalDocument } from '../../gateway/core/document.ts';
import type { PartnerDirectory } from '../../gateway/core/partners/identification.ts';
import { createSchemaRegistry } from '../../schemas/registry.ts';
import { exampleDocument, postDocument } from './documents.ts';
import { registerPartner, type RegisteredPartner, type TestGateway } from './gateway.ts';

export const UBL_EXAMPLES = path.join(import.meta.dirname, '../../../shared/ubl-examples');

export function ublExample(name: string): string {
  return fs.readFileSync(path.join(UBL_EXAMPLES, name), 'utf8');
}

/** Each example, the party that sends it, and its roles. */
export const EXAMPLE_SENDERS: Readonly<Record<string, string>> = {
  'UBL-RequestForQuotation-2.1-Example.xml': 'GENTOFTE',
  'UBL-Quotation-2.1-Example.xml': 'DELCOMPUTER',
  'UBL-Order-2.1-Example.xml': 'JOHNSSONS',
  'UBL-OrderResponse-2.1-Example.xml': 'MODERNA',
  'UBL-DespatchAdvice-2.0-Example.xml': 'CONSORTIAL',
  'UBL-ReceiptAdvice-2.0-Example.xml': 'IYT',
  'UBL-TransportationStatus-2.1-Example.xml': 'TRUCKER',
};

/** The example parties, with the one alias each that its examples name it by. */
const PARTIES: { id: string; roles: string[]; alias?: { scheme: string; value: string } }[] = [
  { id: 'GENTOFTE', roles: ['buyer'], alias: { scheme: 'GLN', value: '5798000416604' } },
  { id: 'DELCOMPUTER', roles: ['seller'], alias: { scheme: 'DK:CVR', value: 'DK18296799' } },
  { id: 'JOHNSSONS', roles: ['buyer'], alias: { scheme: 'GLN', value: '7300070011115' } },
  { id: 'MODERNA', roles: ['seller'], alias: { scheme: 'GLN', value: '7302347231111' } },
  { id: 'CONSORTIAL', roles: ['seller'], alias: { scheme: 'NAME', value: 'Consortial' } },
  // The receipt advice's delivery customer confirms delivery: registered in the carrier role.
  { id: 'IYT', roles: ['carrier'], alias: { scheme: 'NAME', value: 'IYT Corporation' } },
  // The transportation status names no party: its sender is whoever sends it.
  { id: 'TRUCKER', roles: ['carrier'] },
];

/** The example items, as their sellers' catalogue entries. */
const ITEMS: {
  seller: string;
  sellerItemId: string;
  name: string;
  price: string;
  currency: string;
  gtin?: string;
}[] = [
  {
    seller: 'DELCOMPUTER',
    sellerItemId: 'DELL1052665',
    name: 'Dell Precision T3400',
    price: '4500.00',
    currency: 'DKK',
  },
  {
    seller: 'DELCOMPUTER',
    sellerItemId: 'DELL2363463',
    name: 'FP/BL 1908WFP',
    price: '1300.00',
    currency: 'DKK',
  },
  {
    seller: 'DELCOMPUTER',
    sellerItemId: 'DELL2367452',
    name: 'Dell mouse',
    price: '60.00',
    currency: 'DKK',
  },
  {
    seller: 'DELCOMPUTER',
    sellerItemId: 'DELL8436783',
    name: 'Dell Quietkey',
    price: '60.00',
    currency: 'DKK',
  },
  {
    seller: 'MODERNA',
    sellerItemId: 'SItemNo001',
    name: 'Falu Rödfärg',
    price: '55',
    currency: 'SEK',
    gtin: '1234567890123',
  },
  {
    seller: 'MODERNA',
    sellerItemId: 'SItemNo011',
    name: 'Pensel 20 mm',
    price: '15',
    currency: 'SEK',
    gtin: '123452340123',
  },
];

/** Registers the example parties (UBL both ways) with their aliases and publishes their items. */
export async function registerExampleParties(
  gateway: TestGateway,
  extra: Record<string, unknown> = {},
): Promise<Record<string, RegisteredPartner>> {
  const partners: Record<string, RegisteredPartner> = {};
  for (const party of PARTIES) {
    partners[party.id] = await registerPartner(gateway, {
      id: party.id,
      roles: party.roles,
      format: 'ubl',
      ...extra,
    });
    if (party.alias !== undefined) {
      const added = await gateway.admin(
        'POST',
        `/admin/v1/partners/${party.id}/aliases`,
        party.alias,
      );
      if (added.status !== 201) throw new Error(`alias for ${party.id}: ${await added.text()}`);
    }
  }
  for (const item of ITEMS) {
    const notice = exampleDocument('ItemNotice', item.seller, {
      sellerItemId: item.sellerItemId,
      name: item.name,
      category: 'office',
      releaseDate: '2036-09-01',
      listPrice: { amount: item.price, currency: item.currency },
      quantityAvailable: 1000,
      ...(item.gtin === undefined ? {} : { gtin: item.gtin }),
    });
    delete notice.body.itemId;
    if (item.gtin === undefined) delete notice.body.gtin;
    const response = await postDocument(gateway.app, partners[item.seller]!.apiKey, notice);
    if (response.status !== 200)
      throw new Error(`item ${item.sellerItemId}: ${await response.text()}`);
  }
  return partners;
}

const registry = createSchemaRegistry();
const adapter = createUblAdapter(registry);

/** Outbound UBL names parties by gateway id and items by catalogue id. */
const gatewayIds: PartnerDirectory = {
  findParty: (ids) => Promise.resolve(ids.find((i) => i.scheme === 'NAKADACHI')?.value),
  findItem: ({ itemIds }) =>
    Promise.resolve(itemIds[0] === undefined ? undefined : { itemId: itemIds[0] }),
};

/** A UBL document the gateway sent, read back with the mapping that wrote `type`. */
export async function readOutboundUbl(text: string, type: string): Promise<CanonicalDocument> {
  const mapping = adapter.mappings.outboundFor(type);
  const parsed = parseUbl(text);
  const binding = registry.binding(type);
  if (mapping === undefined || !parsed.ok || binding === undefined) {
    throw new Error(`not a UBL ${type}: ${text.slice(0, 300)}`);
  }
  const decoded = await decodeWithMapping(parsed.root, mapping, binding, {
    directory: gatewayIds,
    partnerId: 'NAKADACHI',
  });
  if (!decoded.ok) throw new Error(`unreadable ${type}: ${JSON.stringify(decoded.errors)}`);
  const document = decoded.documents[0];
  if (document === undefined) throw new Error(`no ${type}`);
  return document;
}

/** The receipt an ApplicationResponse carries. */
export function ublReceipt(text: string): Promise<CanonicalDocument> {
  return readOutboundUbl(text, 'Receipt');
}

/** The root element of an XML text, for telling UBL from the gateway's own XML. */
export function rootOf(text: string): { name: string; namespace: string } {
  const match = /<([A-Za-z]+)\s+xmlns="([^"]+)"/.exec(text);
  return { name: match?.[1] ?? '', namespace: match?.[2] ?? '' };
}
