/** `POST /v1/documents` and `GET /v1/documents/{messageId}/receipt`: the partner document API. */
import { Hono, type Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { Kysely } from 'kysely';
import {
  CONTENT_TYPES,
  inboundFormatOf,
  receiptFormat,
  type PartnerFormats,
} from '../../../adapters/codec/partner-formats.ts';
import type { CanonicalDocument, OutboundFormat } from '../../core/document.ts';
import { GatewayError } from '../../core/errors.ts';
import { findReceipt } from '../../core/pipeline/inbound.repository.ts';
import { receiveDocument, type PipelineDeps } from '../../core/pipeline/pipeline.service.ts';
import { rememberRequestSignature } from '../../core/pipeline/request-signatures.ts';
import type { Database } from '../../db/tables.ts';
import type { AppEnv } from '../env.ts';
import { statusFor } from '../errors.ts';
import { startSignatureCheck } from '../request-signature.ts';

export interface DocumentRouteDeps {
  pipeline: PipelineDeps;
  formats: PartnerFormats;
  db: Kysely<Database>;
}

function sendDocument(
  c: Context<AppEnv>,
  doc: CanonicalDocument,
  format: OutboundFormat,
  status: ContentfulStatusCode,
  formats: PartnerFormats,
): Response {
  return c.body(formats.encode(doc, format), status, { 'content-type': CONTENT_TYPES[format] });
}

/** Standard Webhooks signature of a partner that must sign, and refusal of a replayed one. */
async function verifyRequestSignature(
  c: Context<AppEnv>,
  db: Kysely<Database>,
  bytes: Uint8Array,
): Promise<void> {
  const { partner, signingSecret } = c.get('caller');
  if (!partner.requireSignedRequests) return;
  const signature = startSignatureCheck(signingSecret, {
    id: c.req.header('webhook-id'),
    timestamp: c.req.header('webhook-timestamp'),
    signature: c.req.header('webhook-signature'),
  });
  signature.update(bytes);
  signature.verify();
  if (!(await rememberRequestSignature(db, partner.id, signature.id))) {
    throw new GatewayError(
      'BAD_SIGNATURE',
      'request signature refused: this webhook-id was already used (replay)',
    );
  }
}

export function documentRoutes(deps: DocumentRouteDeps) {
  return new Hono<AppEnv>()
    .post('/', async (c) => {
      const bytes = new Uint8Array(await c.req.arrayBuffer());
      await verifyRequestSignature(c, deps.db, bytes);
      const contentType = c.req.header('content-type') ?? '';
      const { partner } = c.get('caller');
      const format = inboundFormatOf(contentType, partner);
      const outcome = await receiveDocument(deps.pipeline, {
        sender: partner,
        bytes,
        format,
        contentType,
        requestId: c.get('requestId'),
      });
      if (outcome.kind === 'accepted') {
        if (outcome.replayed) c.header('idempotent-replayed', 'true');
        return sendDocument(c, outcome.receipt, receiptFormat(format), 200, deps.formats);
      }
      const status = statusFor(outcome.code);
      if (outcome.receipt !== undefined && format !== undefined) {
        return sendDocument(c, outcome.receipt, receiptFormat(format), status, deps.formats);
      }
      throw new GatewayError(outcome.code, outcome.message, { details: outcome.errors });
    })
    .get('/:messageId/receipt', async (c) => {
      const { partner } = c.get('caller');
      const receipt = await findReceipt(deps.db, partner.id, c.req.param('messageId'));
      if (receipt === undefined) {
        throw new GatewayError(
          'NOT_FOUND',
          `no document ${c.req.param('messageId')} from ${partner.id}`,
        );
      }
      const accept = c.req.header('accept') ?? '';
      const format: OutboundFormat = /xml/.test(accept)
        ? receiptFormat(inboundFormatOf('application/xml', partner))
        : /json/.test(accept)
          ? 'json'
          : partner.format;
      return sendDocument(c, receipt, format, 200, deps.formats);
    });
}
