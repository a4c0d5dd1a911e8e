/**
 * `GET /v1/mailbox?after=&limit=` and `POST /v1/mailbox/ack`: pull delivery for mailbox-mode
 * partners (DESIGN §3). One JSON envelope for both formats: `document` is the parsed object for a
 * JSON partner and the XML text for an XML partner, so a client reads a page with one parser and
 * hands each document to the codec it already has; `contentType` says which it got.
 */
import { Hono } from 'hono';
import type { Kysely } from 'kysely';
import { GatewayError } from '../../core/errors.ts';
import {
  acknowledgeMailbox,
  readMailbox,
  type AckRequest,
  type MailboxDocument,
} from '../../core/delivery/mailbox.service.ts';
import type { Database } from '../../db/tables.ts';
import type { AppEnv } from '../env.ts';
import { jsonObjectBody, optionalStringList, wholeNumber } from '../request-body.ts';

const utf8 = new TextDecoder('utf-8', { fatal: true });

function documentView(doc: MailboxDocument) {
  const text = utf8.decode(doc.body);
  return {
    cursor: doc.cursor,
    messageId: doc.messageId,
    type: doc.type,
    contentType: doc.contentType,
    document: doc.format === 'json' ? (JSON.parse(text) as unknown) : text,
  };
}

function ackRequest(body: Record<string, unknown>): AckRequest {
  const messageIds = optionalStringList(body, 'messageIds');
  const upTo = body.upTo;
  if ((messageIds === undefined) === (upTo === undefined || upTo === null)) {
    throw new GatewayError('BAD_REQUEST', 'give either messageIds (a list) or upTo (a cursor)');
  }
  if (messageIds !== undefined) return { messageIds };
  if (typeof upTo !== 'string' && !(typeof upTo === 'number' && Number.isSafeInteger(upTo))) {
    throw new GatewayError('BAD_REQUEST', 'upTo must be a cursor');
  }
  return { upTo: String(upTo) };
}

export function mailboxRoutes(deps: { db: Kysely<Database> }) {
  return new Hono<AppEnv>()
    .get('/', async (c) => {
      const page = await readMailbox(deps.db, c.get('caller').partner, {
        after: c.req.query('after'),
        limit: wholeNumber(c.req.query('limit'), 'limit'),
      });
      return c.json({ documents: page.documents.map(documentView), nextCursor: page.nextCursor });
    })
    .post('/ack', async (c) => {
      const request = ackRequest(await jsonObjectBody(c));
      const result = await acknowledgeMailbox(
        deps.db,
        c.get('caller').partner,
        request,
        c.get('requestId'),
      );
      return c.json(result);
    });
}
