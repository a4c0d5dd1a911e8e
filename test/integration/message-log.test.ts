/**
 * The message log's batch append (deliverer attempts, dead letters): every entry as given — nulls
 * kept null, bytes exact, JSON as JSON — in the order given.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { DatabaseHandle } from '../../gateway/db/database.ts';
import { appendLogs, type LogEntry } from '../../gateway/core/messages/message-log.repository.ts';
import { logFields } from '../../gateway/core/messages/messages.repository.ts';
import { openTestDatabase } from '../support/database.ts';

let database: DatabaseHandle;
beforeAll(async () => {
  database = await openTestDatabase();
});
afterAll(() => database.close());

it('appends entries in order, each exactly as given', async () => {
  const entries: LogEntry[] = [
    {
      direction: 'outbound',
      event: 'delivery-attempt',
      partnerId: 'LOG-P1',
      messageId: 'LOG-M1',
      documentType: 'NoAward',
      status: 'delivered',
      detail: { attempt: 1, httpStatus: 200, note: 'quote " and \\ backslash, 新' },
      refs: { reservationId: 'RSV-1' },
    },
    { direction: 'outbound', event: 'dead-lettered', partnerId: 'LOG-P2', status: 'dead' },
    {
      direction: 'inbound',
      event: 'received',
      partnerId: 'LOG-P1',
      messageId: 'LOG-M3',
      status: 'rejected',
      contentType: 'application/xml',
      body: new Uint8Array([0, 1, 0xfe, 0xff, 0x7b]),
      digest: 'd'.repeat(64),
      requestId: 'req-3',
    },
    {
      direction: 'inbound',
      event: 'received',
      partnerId: 'LOG-P2',
      status: 'rejected',
      body: new Uint8Array([0x3c, 0x00, 0x3e]),
    },
  ];
  await appendLogs(database.db, entries);
  const rows = await database.db
    .selectFrom('message_log')
    .selectAll()
    .where('partner_id', 'like', 'LOG-P%')
    .orderBy('id')
    .execute();
  expect(
    rows.map((row) => ({
      ...logFields(row),
      body: row.body === null ? null : [...row.body],
      detail: row.detail,
    })),
  ).toEqual([
    {
      direction: 'outbound',
      event: 'delivery-attempt',
      partnerId: 'LOG-P1',
      messageId: 'LOG-M1',
      documentType: 'NoAward',
      status: 'delivered',
      contentType: null,
      body: null,
      digest: null,
      refs: { reservationId: 'RSV-1' },
      detail: { attempt: 1, httpStatus: 200, note: 'quote " and \\ backslash, 新' },
      requestId: null,
    },
    {
      direction: 'outbound',
      event: 'dead-lettered',
      partnerId: 'LOG-P2',
      messageId: null,
      documentType: null,
      status: 'dead',
      contentType: null,
      body: null,
      digest: null,
      refs: {},
      detail: null,
      requestId: null,
    },
    {
      direction: 'inbound',
      event: 'received',
      partnerId: 'LOG-P1',
      messageId: 'LOG-M3',
      documentType: null,
      status: 'rejected',
      contentType: 'application/xml',
      body: [0, 1, 0xfe, 0xff, 0x7b],
      digest: 'd'.repeat(64),
      refs: {},
      detail: null,
      requestId: 'req-3',
    },
    {
      direction: 'inbound',
      event: 'received',
      partnerId: 'LOG-P2',
      messageId: null,
      documentType: null,
      status: 'rejected',
      contentType: null,
      body: [0x3c, 0x00, 0x3e],
      digest: null,
      refs: {},
      detail: null,
      requestId: null,
    },
  ]);
});

it('keeps a NUL of free text, which PostgreSQL cannot store, as U+FFFD', async () => {
  // A partner's error answer to a push is logged with its delivery attempt.
  const [id] = await appendLogs(database.db, [
    {
      direction: 'outbound',
      event: 'delivery-attempt',
      partnerId: 'LOG-NUL',
      status: 'retry',
      detail: { response: 'bad\u0000answer' },
    },
  ]);
  const row = await database.db
    .selectFrom('message_log')
    .select('detail')
    .where('id', '=', id!)
    .executeTakeFirstOrThrow();
  expect(row.detail).toEqual({ response: 'bad\uFFFDanswer' });
});
