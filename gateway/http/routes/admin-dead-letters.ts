/**
 * `/admin/v1/dead-letters`: list (filter by partner, type, age), show one with its delivery
 * history, replay one or many. Ages are durations: `90` (seconds), `30s`, `15m`, `2h`, `7d`.
 */
import { Hono } from 'hono';
import type { Kysely } from 'kysely';
import {
  getDeadLetter,
  listDeadLetters,
  replayDeadLetters,
  type DeadLetter,
  type DeadLetterFilter,
  type ReplayRequest,
} from '../../core/delivery/dead-letters.service.ts';
import { GatewayError } from '../../core/errors.ts';
import type { Database } from '../../db/tables.ts';
import type { AppEnv } from '../env.ts';
import {
  jsonObjectBody,
  optionalBoolean,
  optionalString,
  optionalStringList,
  wholeNumber,
} from '../request-body.ts';

const UNIT_MS: Readonly<Record<string, number>> = {
  '': 1000,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};

/** `90`, `30s`, `15m`, `2h`, `7d` → milliseconds; undefined when absent. */
export function parseDuration(value: string | undefined, what: string): number | undefined {
  if (value === undefined || value === '') return undefined;
  const match = /^([0-9]{1,9})([smhd]?)$/.exec(value.trim());
  if (match === null) {
    throw new GatewayError('BAD_REQUEST', `${what} must be a duration like 90, 30s, 15m, 2h or 7d`);
  }
  return Number(match[1]) * (UNIT_MS[match[2] ?? ''] ?? 1000);
}

function filterFrom(get: (name: string) => string | undefined): DeadLetterFilter {
  return {
    partnerId: get('partner') || undefined,
    type: get('type') || undefined,
    olderThanMs: parseDuration(get('olderThan'), 'olderThan'),
    newerThanMs: parseDuration(get('newerThan'), 'newerThan'),
  };
}

function deadLetterView(letter: DeadLetter) {
  return {
    cursor: letter.cursor,
    messageId: letter.messageId,
    partner: letter.recipientId,
    type: letter.type,
    format: letter.format,
    attempts: letter.attempts,
    createdAt: letter.createdAt.toISOString(),
    deadAt: letter.deadAt?.toISOString() ?? null,
    lastError: letter.lastError,
  };
}

function replayRequest(body: Record<string, unknown>): ReplayRequest {
  const messageIds = optionalStringList(body, 'messageIds');
  if (messageIds !== undefined) return { messageIds };
  const filter = filterFrom((name) => optionalString(body, name));
  const chosen = Object.values(filter).some((v) => v !== undefined);
  if (!chosen && optionalBoolean(body, 'all') !== true) {
    throw new GatewayError(
      'BAD_REQUEST',
      'say what to replay: messageIds, a filter (partner, type, olderThan, newerThan) or all: true',
    );
  }
  return { filter, limit: wholeNumber(body.limit, 'limit') };
}

export function adminDeadLetterRoutes(deps: { db: Kysely<Database> }) {
  return new Hono<AppEnv>()
    .get('/', async (c) => {
      const page = await listDeadLetters(
        deps.db,
        filterFrom((name) => c.req.query(name)),
        { after: c.req.query('after'), limit: wholeNumber(c.req.query('limit'), 'limit') },
      );
      return c.json({
        deadLetters: page.deadLetters.map(deadLetterView),
        nextCursor: page.nextCursor,
      });
    })
    .post('/replay', async (c) => {
      const result = await replayDeadLetters(
        deps.db,
        replayRequest(await jsonObjectBody(c)),
        c.get('requestId'),
      );
      return c.json(result);
    })
    .get('/:messageId', async (c) => {
      const letter = await getDeadLetter(deps.db, c.req.param('messageId'));
      return c.json({
        deadLetter: { ...deadLetterView(letter), contentType: letter.contentType },
        history: letter.history.map((h) => ({
          loggedAt: h.loggedAt.toISOString(),
          event: h.event,
          status: h.status,
          detail: h.detail,
        })),
      });
    })
    .post('/:messageId/replay', async (c) => {
      const messageId = c.req.param('messageId');
      const result = await replayDeadLetters(
        deps.db,
        { messageIds: [messageId] },
        c.get('requestId'),
      );
      if (result.replayed.length === 0) {
        throw new GatewayError('NOT_FOUND', `no dead letter ${messageId}`);
      }
      return c.json(result);
    });
}
