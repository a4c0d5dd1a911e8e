import type { Config } from '../config.ts';
import { call, openAdminChannel } from './admin-channel.ts';
import { need, parse, UsageError, type Options, type Values } from './args.ts';
import { printJson, printTable, type Out } from './output.ts';

const FILTER: Options = {
  partner: { type: 'string' },
  type: { type: 'string' },
  'older-than': { type: 'string' },
  'newer-than': { type: 'string' },
};

function filterOf(values: Values): Record<string, string> {
  const filter: Record<string, string> = {};
  const names: [string, string][] = [
    ['partner', 'partner'],
    ['type', 'type'],
    ['older-than', 'olderThan'],
    ['newer-than', 'newerThan'],
  ];
  for (const [option, field] of names) {
    const value = values[option];
    if (typeof value === 'string' && value !== '') filter[field] = value;
  }
  return filter;
}

function positiveInteger(values: Values, name: string): number | undefined {
  const value = values[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || !/^[1-9][0-9]{0,8}$/.test(value)) {
    throw new UsageError(`--${name} must be a positive whole number`);
  }
  return Number(value);
}

interface DeadLetterLine {
  messageId: string;
  partner: string;
  type: string;
  attempts: number;
  deadAt: string | null;
  lastError: string | null;
}

export async function deadLettersCommand(
  config: Readonly<Config>,
  args: string[],
  out: Out,
): Promise<void> {
  const [sub, ...rest] = args;
  const specs: Record<string, Options> = {
    list: { ...FILTER, limit: { type: 'string' }, after: { type: 'string' } },
    show: { id: { type: 'string' } },
    replay: {
      ...FILTER,
      id: { type: 'string' },
      all: { type: 'boolean' },
      limit: { type: 'string' },
    },
  };
  const spec = sub === undefined ? undefined : specs[sub];
  if (sub === undefined || spec === undefined) {
    throw new UsageError(`dead-letters needs a subcommand: ${Object.keys(specs).join(', ')}`);
  }
  const values = parse(rest, spec);
  const json = values.json === true;
  if (sub === 'show') need(values, 'id');
  const limit = positiveInteger(values, 'limit');
  const filter = filterOf(values);
  if (sub === 'replay') {
    const given = [values.id !== undefined, Object.keys(filter).length > 0, values.all === true];
    if (given.filter(Boolean).length !== 1) {
      throw new UsageError(
        'dead-letters replay needs one of: --id ID[,ID…], a filter (--partner, --type, --older-than, --newer-than) or --all',
      );
    }
  }

  const channel = await openAdminChannel(config);
  try {
    switch (sub) {
      case 'list': {
        const query = new URLSearchParams(filter);
        if (limit !== undefined) query.set('limit', String(limit));
        if (typeof values.after === 'string') query.set('after', values.after);
        const result = await call(channel, 'GET', `/admin/v1/dead-letters?${query.toString()}`);
        if (json) return printJson(out, result);
        const letters = result.deadLetters as DeadLetterLine[];
        if (letters.length === 0) return out('no dead letters');
        printTable(
          out,
          ['MESSAGE ID', 'PARTNER', 'TYPE', 'ATTEMPTS', 'DEAD AT', 'LAST ERROR'],
          letters.map((l) => [
            l.messageId,
            l.partner,
            l.type,
            String(l.attempts),
            l.deadAt ?? '-',
            l.lastError ?? '-',
          ]),
        );
        if (letters.length === (limit ?? 100)) {
          out(`more may follow: --after ${String(result.nextCursor)}`);
        }
        return;
      }
      case 'show': {
        const id = encodeURIComponent(String(values.id));
        const result = await call(channel, 'GET', `/admin/v1/dead-letters/${id}`);
        if (json) return printJson(out, result);
        const letter = result.deadLetter as DeadLetterLine & { createdAt: string };
        for (const [label, value] of [
          ['message id', letter.messageId],
          ['partner', letter.partner],
          ['type', letter.type],
          ['created', letter.createdAt],
          ['dead since', letter.deadAt ?? '-'],
          ['attempts', String(letter.attempts)],
          ['last error', letter.lastError ?? '-'],
        ] as const) {
          out(`${label.padEnd(12)} ${value}`);
        }
        const history = result.history as { loggedAt: string; event: string; status: string }[];
        out('');
        for (const h of history) out(`${h.loggedAt}  ${h.event.padEnd(16)} ${h.status}`);
        return;
      }
      case 'replay': {
        const body =
          typeof values.id === 'string'
            ? {
                messageIds: values.id
                  .split(',')
                  .map((id) => id.trim())
                  .filter((id) => id !== ''),
              }
            : { ...filter, all: values.all === true ? true : undefined, limit };
        const result = await call(channel, 'POST', '/admin/v1/dead-letters/replay', body);
        if (json) return printJson(out, result);
        const replayed = result.replayed as string[];
        const notFound = result.notFound as string[];
        out(`replayed ${replayed.length} dead letter${replayed.length === 1 ? '' : 's'}`);
        for (const id of replayed) out(`  ${id}`);
        if (notFound.length > 0) out(`not dead letters: ${notFound.join(', ')}`);
        return;
      }
    }
  } finally {
    await channel.close();
  }
}
