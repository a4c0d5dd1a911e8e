/**
 * A demo partner's outgoing side: it posts documents in its own format with its API key and,
 * like a careful partner, checks every receipt — the gateway's Ed25519 signature against the
 * published JWKS, and that the signed digest is the SHA-256 of exactly the bytes it sent. The
 * ids it goes on with are read from the signed payload, not from the unsigned envelope.
 */
import { createHash } from 'node:crypto';
import { compactVerify, createLocalJWKSet, type JSONWebKeySet } from 'jose';
import { decodeDocument, encodeDocument } from '../../adapters/codec/index.ts';
import type { ReceiptBody } from '../../schemas/documents.generated.ts';
import type { SchemaRegistry } from '../../schemas/registry.ts';
import type { CanonicalDocument, WireFormat } from '../core/document.ts';

const CONTENT_TYPES: Readonly<Record<WireFormat, string>> = {
  json: 'application/json',
  xml: 'application/xml',
};

export type KeySet = ReturnType<typeof createLocalJWKSet>;

export async function fetchGatewayKeys(gatewayUrl: string): Promise<KeySet> {
  const response = await fetch(`${gatewayUrl}/.well-known/jwks.json`);
  if (!response.ok) throw new Error(`the gateway's JWKS answered ${response.status}`);
  return createLocalJWKSet((await response.json()) as JSONWebKeySet);
}

export interface Sent {
  document: CanonicalDocument;
  /** The gateway ids the signed receipt assigned (itemId, reservationId, bidVersion …). */
  assigned: Record<string, string>;
}

export interface PartnerClient {
  id: string;
  format: WireFormat;
  /** Receipts whose signature and digest were verified so far. */
  verifiedReceipts(): number;
  send(type: string, body: object): Promise<Sent>;
  /** A GET of the partner API (catalogue, open reservations), as JSON. */
  get(path: string): Promise<unknown>;
}

function refusal(type: string, id: string, status: number, text: string): Error {
  let detail = text.slice(0, 300);
  try {
    const json = JSON.parse(text) as {
      body?: { errors?: { path: string; message: string }[] };
      error?: { message?: string };
    };
    const first = json.body?.errors?.[0];
    detail =
      first !== undefined ? `${first.path}: ${first.message}` : (json.error?.message ?? detail);
  } catch {
    // an XML receipt or a plain-text answer: its first characters say enough
  }
  return new Error(`the gateway refused ${id}'s ${type} (${status}): ${detail}`);
}

export function partnerClient(options: {
  gatewayUrl: string;
  id: string;
  apiKey: string;
  format: WireFormat;
  registry: SchemaRegistry;
  keys: KeySet;
}): PartnerClient {
  const { gatewayUrl, id, apiKey, format, registry, keys } = options;
  let serial = 0;
  let verified = 0;

  /** The receipt's signed payload, after checking it vouches for these very bytes. */
  async function verifiedReceipt(
    receipt: ReceiptBody,
    document: CanonicalDocument,
    bytes: string,
  ): Promise<ReceiptBody> {
    const { payload } = await compactVerify(receipt.signature, keys, { algorithms: ['EdDSA'] });
    const signed = JSON.parse(new TextDecoder().decode(payload)) as ReceiptBody;
    const digest = createHash('sha256').update(bytes).digest('hex');
    if (signed.digest !== digest || signed.messageId !== document.header.messageId) {
      throw new Error(
        `the receipt for ${document.header.messageId} does not vouch for what was sent`,
      );
    }
    verified++;
    return signed;
  }

  return {
    id,
    format,
    verifiedReceipts: () => verified,
    async send(type, body) {
      serial++;
      const document: CanonicalDocument = {
        header: {
          messageId: `${id}-${String(serial).padStart(4, '0')}`,
          type,
          sender: id,
          sentAt: new Date().toISOString(),
        },
        body: body as Record<string, unknown>,
      };
      const bytes = encodeDocument(document, format, registry);
      const response = await fetch(`${gatewayUrl}/v1/documents`, {
        method: 'POST',
        headers: { authorization: `Bearer ${apiKey}`, 'content-type': CONTENT_TYPES[format] },
        body: bytes,
      });
      const text = await response.text();
      if (response.status !== 200) throw refusal(type, id, response.status, text);
      // The receipt comes back in the format the document was sent in.
      const decoded = decodeDocument(text, format, registry);
      if (!decoded.ok || decoded.document.header.type !== 'Receipt') {
        const why = decoded.ok
          ? `a ${decoded.document.header.type}`
          : JSON.stringify(decoded.errors);
        throw new Error(
          `${id}'s ${type} was answered with something other than a receipt (${why}): ${text.slice(0, 500)}`,
        );
      }
      const signed = await verifiedReceipt(
        decoded.document.body as unknown as ReceiptBody,
        document,
        bytes,
      );
      if (signed.status !== 'accepted') throw refusal(type, id, response.status, text);
      return {
        document,
        assigned: Object.fromEntries(signed.assigned.map((a) => [a.name, a.value])),
      };
    },
    async get(path) {
      const response = await fetch(`${gatewayUrl}${path}`, {
        headers: { authorization: `Bearer ${apiKey}` },
      });
      if (!response.ok) throw new Error(`GET ${path} as ${id} answered ${response.status}`);
      return response.json();
    },
  };
}
