/**
 * A demo partner's own endpoint: a real HTTP server on 127.0.0.1 that the gateway pushes to. It
 * does what a partner must: checks the Standard Webhooks signature over the exact bytes (and the
 * timestamp), decodes the document in the partner's format, and takes each `webhook-id` once —
 * delivery is at least once, so a repeat is acknowledged again but not acted on twice.
 */
import { timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import { decodeDocument } from '../../adapters/codec/index.ts';
import type { SchemaRegistry } from '../../schemas/registry.ts';
import type { CanonicalDocument, WireFormat } from '../core/document.ts';

/** Standard Webhooks: a timestamp further than this from now is refused (replay protection). */
const TOLERANCE_S = 5 * 60;

export interface Pushed {
  webhookId: string;
  /** Epoch milliseconds when the body had been read. */
  receivedAt: number;
  document: CanonicalDocument;
}

export interface WaitOptions {
  timeoutMs: number;
  /** Called once if nothing has arrived after `slowMs`: a wait never stalls silently. */
  onSlow?: () => void;
  slowMs?: number;
  signal?: AbortSignal;
}

export interface DemoReceiver {
  url: string;
  /** Every distinct document pushed, in arrival order. */
  documents: Pushed[];
  /** Repeats of a webhook-id already taken (acknowledged, not acted on). */
  duplicates(): number;
  /** Pushes refused: bad signature or timestamp, or a body that did not decode. */
  problems: string[];
  /** The partner's signing secret, known once the partner is registered. */
  trust(secret: string): void;
  /**
   * The first document of `type` matching `match` that no earlier take() returned, as soon as it
   * has arrived: a partner acts on each document it is pushed once.
   */
  take(
    type: string,
    match: (body: Record<string, unknown>) => boolean,
    options: WaitOptions,
  ): Promise<Pushed>;
  close(): Promise<void>;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function header(req: IncomingMessage, name: string): string | undefined {
  const values = req.headersDistinct[name];
  return values?.length === 1 ? values[0] : undefined;
}

/** Whether one of the signatures in the header is ours over `id.timestamp.body`. */
function signatureValid(
  secret: string,
  id: string,
  timestamp: string,
  body: string,
  signatures: string,
): boolean {
  // Webhook.verify() would also JSON-parse the body; XML partners sign again and compare.
  const expected = Buffer.from(
    new Webhook(secret).sign(id, new Date(Number(timestamp) * 1000), body),
  );
  return signatures.split(' ').some((candidate) => {
    const given = Buffer.from(candidate);
    return given.length === expected.length && timingSafeEqual(given, expected);
  });
}

export async function startDemoReceiver(options: {
  partnerId: string;
  format: WireFormat;
  registry: SchemaRegistry;
  /** Called for each new document as it arrives (the timeline prints it). */
  onDocument: (pushed: Pushed) => void;
}): Promise<DemoReceiver> {
  let secret: string | undefined;
  const documents: Pushed[] = [];
  const seen = new Set<string>();
  const taken = new Set<Pushed>();
  const problems: string[] = [];
  const waiters = new Set<() => void>();
  let repeats = 0;

  function answer(res: ServerResponse, status: number, text = ''): void {
    res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' });
    res.end(text);
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readBody(req);
    const id = header(req, 'webhook-id');
    const timestamp = header(req, 'webhook-timestamp');
    const signatures = header(req, 'webhook-signature');
    // Not registered yet: nothing can be checked, so the gateway is asked to retry later.
    if (secret === undefined) return answer(res, 503, 'not ready');
    if (id === undefined || timestamp === undefined || signatures === undefined) {
      problems.push(`${options.partnerId}: a push without Standard Webhooks headers`);
      return answer(res, 400, 'missing webhook headers');
    }
    if (
      !/^[0-9]+$/.test(timestamp) ||
      Math.abs(Date.now() / 1000 - Number(timestamp)) > TOLERANCE_S
    ) {
      problems.push(`${options.partnerId}: push ${id} has a stale or bad timestamp`);
      return answer(res, 400, 'bad timestamp');
    }
    if (!signatureValid(secret, id, timestamp, body, signatures)) {
      problems.push(`${options.partnerId}: push ${id} has a bad signature`);
      return answer(res, 401, 'bad signature');
    }
    if (seen.has(id)) {
      repeats++;
      return answer(res, 200);
    }
    const decoded = decodeDocument(body, options.format, options.registry);
    if (!decoded.ok) {
      problems.push(
        `${options.partnerId}: push ${id} does not decode: ${decoded.errors[0]?.message ?? decoded.code}`,
      );
      return answer(res, 400, 'undecodable');
    }
    seen.add(id);
    const pushed = { webhookId: id, receivedAt: Date.now(), document: decoded.document };
    documents.push(pushed);
    options.onDocument(pushed);
    for (const wake of [...waiters]) wake();
    answer(res, 200);
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      problems.push(`${options.partnerId}: ${String(error)}`);
      if (!res.headersSent) answer(res, 500);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;

  function find(type: string, match: (body: Record<string, unknown>) => boolean) {
    return documents.find(
      (d) => !taken.has(d) && d.document.header.type === type && match(d.document.body),
    );
  }

  return {
    url: `http://127.0.0.1:${port}/`,
    documents,
    duplicates: () => repeats,
    problems,
    trust(value) {
      secret = value;
    },
    take(type, match, wait) {
      const ready = find(type, match);
      if (ready !== undefined) {
        taken.add(ready);
        return Promise.resolve(ready);
      }
      return new Promise<Pushed>((resolve, reject) => {
        const timers: NodeJS.Timeout[] = [];
        const finish = () => {
          waiters.delete(check);
          for (const timer of timers) clearTimeout(timer);
          wait.signal?.removeEventListener('abort', aborted);
        };
        function check() {
          const found = find(type, match);
          if (found === undefined) return;
          taken.add(found);
          finish();
          resolve(found);
        }
        function aborted() {
          finish();
          reject(new Error('the demo was interrupted'));
        }
        if (wait.signal?.aborted === true) return aborted();
        waiters.add(check);
        wait.signal?.addEventListener('abort', aborted, { once: true });
        if (wait.onSlow !== undefined) timers.push(setTimeout(wait.onSlow, wait.slowMs ?? 2000));
        timers.push(
          setTimeout(() => {
            finish();
            const why = problems.length > 0 ? ` (${problems.join('; ')})` : '';
            reject(
              new Error(
                `${options.partnerId} was not pushed a ${type} within ${wait.timeoutMs / 1000} s${why}`,
              ),
            );
          }, wait.timeoutMs),
        );
      });
    },
    close() {
      return new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
