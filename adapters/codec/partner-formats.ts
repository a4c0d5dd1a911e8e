/**
 * Every format partners speak, behind the two ports the core and the edges use: bytes in a
 * format → canonical documents (the pipeline's DecodeDocument), and a canonical document → the
 * text a partner receives (outbox, receipts). The gateway's own XML and JSON go to the codec,
 * UBL to adapters/ubl, CSV catalogue rows to adapters/csv.
 */
import type {
  CanonicalDocument,
  InboundFormat,
  OutboundFormat,
} from '../../gateway/core/document.ts';
import type { RenderContext } from '../../gateway/core/delivery/delivery.ts';
import type { PartnerDirectory } from '../../gateway/core/partners/identification.ts';
import type { Partner } from '../../gateway/core/partners/partners.ts';
import type { DecodeDocument } from '../../gateway/core/pipeline/pipeline.service.ts';
import type { SchemaRegistry } from '../../schemas/registry.ts';
import { decodeCsvRow } from '../csv/csv.ts';
import type { UblAdapter } from '../ubl/ubl-adapter.ts';
import { decodeDocument, encodeDocument, formatFromContentType } from './index.ts';

export const CONTENT_TYPES: Readonly<Record<OutboundFormat, string>> = {
  xml: 'application/xml; charset=utf-8',
  json: 'application/json; charset=utf-8',
  ubl: 'application/xml; charset=utf-8',
};

export interface PartnerFormats {
  decode: DecodeDocument;
  /**
   * The text of a document in a format partners receive (UBL falls back to the gateway's XML);
   * in UBL the recipient's party carries its own identifier alias when the context gives one.
   */
  encode: (doc: CanonicalDocument, format: OutboundFormat, context?: RenderContext) => string;
}

export function createPartnerFormats(deps: {
  registry: SchemaRegistry;
  ubl: UblAdapter;
  directory: PartnerDirectory;
}): PartnerFormats {
  const { registry, ubl, directory } = deps;
  return {
    decode(bytes, format, sender) {
      switch (format) {
        case 'ubl':
          return ubl.decode(bytes, { directory, partnerId: sender.id });
        case 'csv':
          return decodeCsvRow(bytes, sender.id, registry);
        default:
          return decodeDocument(bytes, format, registry);
      }
    },
    encode(doc, format, context) {
      if (format === 'ubl') {
        const { recipient } = doc.header;
        const alias = context?.recipientAlias;
        const aliases =
          alias === undefined || recipient === undefined
            ? undefined
            : new Map([[recipient, alias]]);
        return ubl.encode(doc, { aliases }) ?? encodeDocument(doc, 'xml', registry);
      }
      return encodeDocument(doc, format, registry);
    },
  };
}

/** A receipt answers in the form of the request (a UBL document gets an ApplicationResponse). */
export function receiptFormat(format: InboundFormat | undefined): OutboundFormat {
  return format === 'xml' || format === 'ubl' ? format : 'json';
}

const CSV_TYPE = /^text\/csv\s*(?:;\s*charset\s*=\s*"?utf-?8"?\s*)?$/i;

/**
 * The format of a request body from this partner: its Content-Type, read in the light of what
 * the partner was registered to send — application/xml is UBL for a UBL partner, text/csv is a
 * catalogue only from a CSV partner. Undefined: a format the gateway does not take from it.
 */
export function inboundFormatOf(
  contentType: string | null | undefined,
  partner: Pick<Partner, 'inboundFormat'>,
): InboundFormat | undefined {
  if (contentType !== null && contentType !== undefined && CSV_TYPE.test(contentType.trim())) {
    return partner.inboundFormat === 'csv' ? 'csv' : undefined;
  }
  const wire = formatFromContentType(contentType);
  return wire === 'xml' && partner.inboundFormat === 'ubl' ? 'ubl' : wire;
}
