/**
 * `/admin/v1/messages`: search the message log (partner, type, direction, status, event, period,
 * messageId, any gateway id it concerns) newest first with a cursor; one entry with its bytes,
 * receipt and delivery history; the raw bytes alone.
 */
import { Hono, type Context } from 'hono';
import type { Kysely } from 'kysely';
import {
  decodeBody,
  getMessage,
  searchMessages,
  type MessageDetail,
  type MessageSummary,
} from '../../core/messages/messages.service.ts';
import type { Database } from '../../db/tables.ts';
import type { AppEnv } from '../env.ts';
import { logFilterFrom } from '../log-filter.ts';
import { wholeNumber } from '../request-body.ts';

export function messageView(message: MessageSummary) {
  return { ...message, loggedAt: message.loggedAt.toISOString() };
}

/** A file name for the raw bytes: the messageId (or entry id) and an extension for the type. */
export function rawFileName(message: MessageSummary): string {
  const base = (message.messageId ?? `entry-${message.id}`).replace(/[^A-Za-z0-9._-]/g, '_');
  const type = message.contentType ?? '';
  return `${base}.${/json/.test(type) ? 'json' : /xml/.test(type) ? 'xml' : 'bin'}`;
}

/** The stored bytes, for download only: partner content is never rendered on our origin. */
export function rawResponse(c: Context, found: MessageDetail): Response {
  return c.body(found.body === null ? new Uint8Array() : new Uint8Array(found.body), 200, {
    'content-type': found.message.contentType ?? 'application/octet-stream',
    'content-disposition': `attachment; filename="${rawFileName(found.message)}"`,
    'content-security-policy': "sandbox; default-src 'none'",
  });
}

export function adminMessageRoutes(deps: { db: Kysely<Database> }) {
  return new Hono<AppEnv>()
    .get('/', async (c) => {
      const page = await searchMessages(
        deps.db,
        logFilterFrom((name) => c.req.query(name)),
        { before: c.req.query('before'), limit: wholeNumber(c.req.query('limit'), 'limit') },
      );
      return c.json({ messages: page.messages.map(messageView), nextCursor: page.nextCursor });
    })
    .get('/:id', async (c) => {
      const found = await getMessage(deps.db, c.req.param('id'));
      const iso = (d: Date | null) => d?.toISOString() ?? null;
      return c.json({
        message: messageView(found.message),
        body: found.body === null ? null : decodeBody(found.body),
        receipt: found.receipt,
        delivery:
          found.delivery === null
            ? null
            : {
                ...found.delivery,
                nextAttemptAt: iso(found.delivery.nextAttemptAt),
                deliveredAt: iso(found.delivery.deliveredAt),
                deadAt: iso(found.delivery.deadAt),
              },
        history: found.history.map(messageView),
      });
    })
    .get('/:id/raw', async (c) => rawResponse(c, await getMessage(deps.db, c.req.param('id'))));
}
