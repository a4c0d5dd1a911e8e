/**
 * The outbox's renderer (core port `RenderDocument`): a canonical outbound document, validated
 * against its type's schema, encoded in the recipient's format. The gateway must never queue a
 * document its own contract refuses, so an invalid one is an internal error with the details.
 */
import type { RenderContext, RenderDocument } from '../../gateway/core/delivery/delivery.ts';
import type { CanonicalDocument, OutboundFormat } from '../../gateway/core/document.ts';
import { GatewayError } from '../../gateway/core/errors.ts';
import type { SchemaRegistry } from '../../schemas/registry.ts';
import { encodeDocument } from './index.ts';
import { CONTENT_TYPES } from './partner-formats.ts';

/**
 * `encode` is PartnerFormats.encode where UBL partners are served; without it, a UBL recipient
 * gets the gateway's XML.
 */
export function createRenderer(
  registry: SchemaRegistry,
  encode: (doc: CanonicalDocument, format: OutboundFormat, context?: RenderContext) => string = (
    doc,
    format,
  ) => encodeDocument(doc, format === 'json' ? 'json' : 'xml', registry),
): RenderDocument {
  const encoder = new TextEncoder();
  return (doc, format, context) => {
    const checked = registry.validate(doc);
    if (!checked.ok) {
      const first = checked.errors[0];
      throw new GatewayError(
        'INTERNAL',
        `outbound ${doc.header.type} fails its schema${first === undefined ? '' : `: ${first.path} ${first.message}`}`,
        { details: checked.errors },
      );
    }
    return {
      body: encoder.encode(encode(doc, format, context)),
      contentType: CONTENT_TYPES[format],
    };
  };
}
