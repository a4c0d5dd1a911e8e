/**
 * Query parameters shared by the admin API and the console: the message-log filter and the
 * period of an audit export, each mistake a 400 that names the parameter.
 */
import type { EntryFilter } from '../core/audit/audit.repository.ts';
import { GatewayError } from '../core/errors.ts';
import { LOG_EVENTS } from '../core/messages/messages.repository.ts';
import type { LogFilter } from '../core/messages/messages.service.ts';

type Get = (name: string) => string | undefined;

function bad(name: string, message: string): never {
  throw new GatewayError('BAD_REQUEST', `${name} ${message}`, {
    details: [{ path: `?${name}`, code: 'BAD_REQUEST', message }],
  });
}

function text(get: Get, name: string, maxLength = 200): string | undefined {
  const raw = get(name)?.trim();
  if (raw === undefined || raw === '') return undefined;
  if (raw.length > maxLength) bad(name, `must be at most ${maxLength} characters`);
  return raw;
}

/** RFC 3339, or a date, or a date and time without offset (both read as UTC, as forms send). */
export function timeParam(get: Get, name: string): Date | undefined {
  const raw = text(get, name, 40);
  if (raw === undefined) return undefined;
  const match =
    /^(\d{4}-\d{2}-\d{2})(T\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?)?(Z|[+-]\d{2}:\d{2})?$/.exec(raw);
  const zoned = match === null ? raw : `${match[1]}${match[2] ?? 'T00:00'}${match[5] ?? 'Z'}`;
  const time = Date.parse(zoned);
  if (match === null || Number.isNaN(time)) {
    bad(name, 'must be a time like 2036-03-20T09:00:00Z (or a date: 2036-03-20)');
  }
  return new Date(time);
}

export function logFilterFrom(get: Get): LogFilter {
  const direction = text(get, 'direction');
  if (direction !== undefined && direction !== 'inbound' && direction !== 'outbound') {
    bad('direction', 'must be inbound or outbound');
  }
  const event = text(get, 'event');
  if (
    event !== undefined &&
    event !== 'document' &&
    !(LOG_EVENTS as readonly string[]).includes(event)
  ) {
    bad('event', `must be document or one of ${LOG_EVENTS.join(', ')}`);
  }
  return {
    partnerId: text(get, 'partner'),
    documentType: text(get, 'type'),
    direction,
    status: text(get, 'status'),
    event: event as LogFilter['event'],
    from: timeParam(get, 'from'),
    to: timeParam(get, 'to'),
    messageId: text(get, 'messageId'),
    ref: text(get, 'ref'),
  };
}

export function exportFilterFrom(get: Get): EntryFilter {
  return {
    from: timeParam(get, 'from'),
    to: timeParam(get, 'to'),
    partnerId: text(get, 'partner'),
  };
}
