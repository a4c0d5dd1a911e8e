/**
 * The demo's timeline: every document, look-up, operator action and wait, printed the moment it
 * happens — as table rows for people, or as JSON lines for programs. A push that arrives while a
 * partner is still sending the document that caused it is held back until that document's row
 * is printed, so the table reads in cause-and-effect order.
 */
import type { Out } from '../cli/output.ts';

export type Phase = 'A' | 'B' | 'C' | 'D';

export type DemoEvent =
  | { kind: 'phase'; atMs: number; phase: Phase; title: string; about: string }
  | {
      kind: 'document';
      atMs: number;
      from: string;
      to: string;
      type: string;
      messageId: string;
      meaning: string;
    }
  /** A partner reading the gateway's API (catalogue, open reservations). */
  | { kind: 'request'; atMs: number; from: string; request: string; meaning: string }
  /** The operator using the admin API (fundings). */
  | { kind: 'operator'; atMs: number; action: string; meaning: string }
  /** The demo waiting for a deadline, a job or a delivery. */
  | { kind: 'wait'; atMs: number; text: string };

export interface TimelineOptions {
  out: Out;
  json: boolean;
  color: boolean;
  /** Line width to wrap the meaning column at. */
  width: number;
}

type Tone = 'bold' | 'in' | 'out' | 'operator' | 'wait';
const TONES: Readonly<Record<Tone, string>> = {
  bold: '\u001b[1m',
  in: '',
  out: '\u001b[36m',
  operator: '\u001b[35m',
  wait: '\u001b[33m',
};
const RESET = '\u001b[0m';

const TIME_W = 6;
const ROUTE_W = 20;
const TYPE_W = 23;
const MEANING_AT = TIME_W + 2 + ROUTE_W + 2 + TYPE_W + 2;
/** Below this many characters for the meaning column, the meaning goes under its row. */
const MIN_MEANING_W = 50;
/** Prose lines stay readable on a wide terminal. */
export const PROSE_W = 100;

/** Words of `text` in lines of at most `width` characters (a longer word gets a line of its own). */
export function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line !== '' && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else {
      line = line === '' ? word : `${line} ${word}`;
    }
  }
  lines.push(line);
  return lines;
}

/** A paragraph wrapped to `width`, its first line after `first`, the others after `indent`. */
export function printParagraph(
  out: Out,
  text: string,
  width: number,
  indent = '',
  first = indent,
): void {
  const lines = wrap(text, Math.min(width, PROSE_W) - indent.length);
  lines.forEach((line, i) => out(`${i === 0 ? first : indent}${line}`));
}

export interface Timeline {
  events: DemoEvent[];
  phase(phase: Phase, title: string, about: string): void;
  document(
    event: Omit<Extract<DemoEvent, { kind: 'document' }>, 'kind' | 'atMs'> & { at: number },
  ): void;
  /** A document pushed to a partner: held back while a send is in flight. */
  pushed(
    event: Omit<Extract<DemoEvent, { kind: 'document' }>, 'kind' | 'atMs'> & { at: number },
  ): void;
  request(from: string, request: string, meaning: string): void;
  operator(action: string, meaning: string): void;
  wait(text: string): void;
  /** Runs `work` with pushes held back until it ends (nested holds are counted). */
  holding<T>(work: () => Promise<T>): Promise<T>;
}

export function createTimeline(options: TimelineOptions): Timeline {
  const { out, json, color } = options;
  const events: DemoEvent[] = [];
  const held: DemoEvent[] = [];
  let holds = 0;

  const paint = (tone: Tone, text: string) =>
    color && TONES[tone] !== '' ? `${TONES[tone]}${text}${RESET}` : text;
  const seconds = (atMs: number) => `${(atMs / 1000).toFixed(1)}s`.padStart(TIME_W);
  // A narrow terminal gets the meaning on the lines under its row instead of beside it.
  const beside = options.width - MEANING_AT >= MIN_MEANING_W;
  const meaningAt = beside ? MEANING_AT : TIME_W + 2;

  function row(atMs: number, route: string, label: string, meaning: string, tone: Tone): void {
    const head = `${seconds(atMs)}  ${route.padEnd(ROUTE_W)}  ${label.padEnd(TYPE_W)}  `;
    const lines = wrap(meaning, options.width - meaningAt);
    if (beside) out(paint(tone, `${head}${lines.shift() ?? ''}`.trimEnd()));
    else out(paint(tone, head.trimEnd()));
    for (const line of lines) out(paint(tone, `${' '.repeat(meaningAt)}${line}`));
  }

  function print(event: DemoEvent): void {
    events.push(event);
    if (json) {
      out(JSON.stringify(event));
      return;
    }
    switch (event.kind) {
      case 'phase':
        out('');
        out(paint('bold', `${event.phase}. ${event.title}`));
        printParagraph(out, event.about, options.width, '   ');
        out('');
        out(
          paint(
            'bold',
            `${'time'.padStart(TIME_W)}  ${'from → to'.padEnd(ROUTE_W)}  ${'document'.padEnd(TYPE_W)}  what it says`,
          ),
        );
        return;
      case 'document':
        row(
          event.atMs,
          `${event.from} → ${event.to}`,
          event.type,
          event.meaning,
          event.from === 'G' ? 'out' : 'in',
        );
        return;
      case 'request':
        row(event.atMs, `${event.from} → G`, event.request, event.meaning, 'in');
        return;
      case 'operator':
        row(event.atMs, 'operator → G', event.action, event.meaning, 'operator');
        return;
      case 'wait': {
        const [first = '', ...rest] = wrap(event.text, options.width - TIME_W - 4);
        out(paint('wait', `${seconds(event.atMs)}  … ${first}`));
        for (const line of rest) out(paint('wait', `${' '.repeat(TIME_W + 4)}${line}`));
        return;
      }
    }
  }

  // Time zero is the first event: the rows count seconds since the first document.
  let start: number | undefined;
  const offset = (at: number) => {
    start ??= at;
    return Math.max(0, at - start);
  };

  return {
    events,
    phase(phase, title, about) {
      print({ kind: 'phase', atMs: offset(Date.now()), phase, title, about });
    },
    document({ at, ...rest }) {
      print({ kind: 'document', atMs: offset(at), ...rest });
    },
    pushed({ at, ...rest }) {
      const event: DemoEvent = { kind: 'document', atMs: offset(at), ...rest };
      if (holds > 0) held.push(event);
      else print(event);
    },
    request(from, request, meaning) {
      print({ kind: 'request', atMs: offset(Date.now()), from, request, meaning });
    },
    operator(action, meaning) {
      print({ kind: 'operator', atMs: offset(Date.now()), action, meaning });
    },
    wait(text) {
      print({ kind: 'wait', atMs: offset(Date.now()), text });
    },
    async holding(work) {
      holds++;
      try {
        return await work();
      } finally {
        holds--;
        if (holds === 0) for (const event of held.splice(0)) print(event);
      }
    },
  };
}
