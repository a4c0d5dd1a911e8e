/** Partners: who may exchange documents through the gateway, in which roles, and how. */
import { PARTNER_ROLES, type PartnerRole } from '../../../schemas/document-types.ts';
import type { InboundFormat, OutboundFormat } from '../document.ts';
import { GatewayError } from '../errors.ts';

export { PARTNER_ROLES, type PartnerRole };

export type PartnerStatus = 'active' | 'suspended';
/** What the partner receives. */
export type PartnerFormat = OutboundFormat;
export type DeliveryMode = 'push' | 'mailbox' | 'file';

export const PARTNER_FORMATS: readonly PartnerFormat[] = ['xml', 'json', 'ubl'];
export const INBOUND_FORMATS: readonly InboundFormat[] = ['xml', 'json', 'ubl', 'csv'];
export const DELIVERY_MODES: readonly DeliveryMode[] = ['push', 'mailbox', 'file'];

export interface Partner {
  id: string;
  name: string;
  roles: PartnerRole[];
  status: PartnerStatus;
  /** What the partner receives: outbound documents and receipts. */
  format: PartnerFormat;
  /**
   * What the partner sends. The gateway's JSON and XML are always read; ubl makes
   * application/xml UBL (the gateway's XML is still recognised by its namespace); csv adds
   * CSV catalogues.
   */
  inboundFormat: InboundFormat;
  deliveryMode: DeliveryMode;
  endpointUrl: string | null;
  /** When the endpoint answered 410 Gone; pushes wait until an operator sets an endpoint again. */
  endpointDisabledAt: Date | null;
  requireSignedRequests: boolean;
  createdAt: Date;
  updatedAt: Date;
}

export interface NewPartner {
  id: string;
  name: string;
  roles: readonly string[];
  /** Both directions at once (csv: what it sends only); the two below override it. */
  format?: string;
  inboundFormat?: string;
  outboundFormat?: string;
  deliveryMode?: string;
  endpointUrl?: string;
  requireSignedRequests?: boolean;
}

export interface PartnerChanges {
  name?: string;
  roles?: readonly string[];
  format?: string;
  inboundFormat?: string;
  outboundFormat?: string;
  deliveryMode?: string;
  endpointUrl?: string | null;
  requireSignedRequests?: boolean;
}

/** Shown once, when created: only hashes of API keys are stored. */
export interface IssuedApiKey {
  keyId: string;
  apiKey: string;
}

/** The core's port for endpoint policy (https to public addresses unless the operator allows more). */
export type EndpointCheck = (url: string) => { ok: true } | { ok: false; message: string };

const PARTY_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export function checkPartnerId(id: string): string {
  if (!PARTY_ID.test(id)) {
    throw new GatewayError(
      'BAD_REQUEST',
      `partner id "${id}" is not valid: use letters, digits, ".", "_" or "-" (at most 64, starting with a letter or digit)`,
    );
  }
  return id;
}

export function parseRoles(roles: readonly string[]): PartnerRole[] {
  const unknown = roles.filter((r) => !(PARTNER_ROLES as readonly string[]).includes(r));
  if (unknown.length > 0) {
    throw new GatewayError(
      'BAD_REQUEST',
      `unknown role${unknown.length > 1 ? 's' : ''} ${unknown.map((r) => `"${r}"`).join(', ')}: roles are ${PARTNER_ROLES.join(', ')}`,
    );
  }
  if (roles.length === 0)
    throw new GatewayError('BAD_REQUEST', 'a partner needs at least one role');
  return [...new Set(roles as PartnerRole[])].sort(
    (a, b) => PARTNER_ROLES.indexOf(a) - PARTNER_ROLES.indexOf(b),
  );
}

export function parseChoice<T extends string>(
  what: string,
  value: string,
  choices: readonly T[],
): T {
  if (!(choices as readonly string[]).includes(value)) {
    throw new GatewayError(
      'BAD_REQUEST',
      `${what} must be one of ${choices.join(', ')}, got "${value}"`,
    );
  }
  return value as T;
}

/**
 * The formats a partner sends and receives, from `format` (both directions; csv is sent only, so
 * it leaves what the partner receives as it was) and the per-direction overrides.
 */
export function partnerFormats(
  input: { format?: string; inboundFormat?: string; outboundFormat?: string },
  current: { format: PartnerFormat; inboundFormat: InboundFormat } = {
    format: 'json',
    inboundFormat: 'json',
  },
): { format: PartnerFormat; inboundFormat: InboundFormat } {
  const both = input.format;
  const outbound = input.outboundFormat ?? (both === 'csv' ? undefined : both);
  if (outbound === 'csv') {
    throw new GatewayError(
      'BAD_REQUEST',
      'csv is a format partners send (catalogues), not one they receive: set it as the inbound format',
    );
  }
  return {
    format:
      outbound === undefined ? current.format : parseChoice('format', outbound, PARTNER_FORMATS),
    inboundFormat: parseChoice(
      'inbound format',
      input.inboundFormat ?? both ?? current.inboundFormat,
      INBOUND_FORMATS,
    ),
  };
}

export function hasRole(partner: Pick<Partner, 'roles'>, role: PartnerRole): boolean {
  return partner.roles.includes(role);
}
