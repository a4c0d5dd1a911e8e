/**
 * @module A local partner endpoint for tests and benches: records every request it fully
 * received and answers as told (status, headers, body, delay, or a destroyed socket).
 * Delivery checks count by `webhook-id`: lost = expected ids missing from `acknowledgedIds()`,
 * duplicated = ids whose `acknowledgedCounts()` is above 1.
 */

import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedRequest {
  /** 0-based arrival order (order of the body having been read completely). */
  n: number;
  method: string;
  /** Path and query as sent. */
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  /** `webhook-id` when exactly one such header was sent, else undefined. */
  messageId: string | undefined;
  /** The client's port: requests sharing one came over one keep-alive connection. */
  remotePort: number | undefined;
  /** Epoch milliseconds when the body had been read. */
  receivedAt: number;
  /** The status answered, or undefined while pending or when the socket was destroyed. */
  status: number | undefined;
}

export interface ReceiverReply {
  status: number;
  headers?: Record<string, string>;
  body?: string;
  /** Wait before answering (a slow or, with a large value, a silent partner). */
  delayMs?: number;
  /** Destroy the connection instead of answering (a reset mid-exchange). */
  destroy?: boolean;
}

export type ReceiverResponder = (request: ReceivedRequest, n: number) => ReceiverReply;

export interface ReceiverOptions {
  respond?: ReceiverResponder;
  /** Listen on this port (default: any free one), e.g. where a partner was unreachable before. */
  port?: number;
}

export interface Receiver {
  /** `http://127.0.0.1:<port>/`; append a path if the test needs one. */
  url: string;
  requests: ReceivedRequest[];
  /** Every distinct webhook-id received, whatever the answer. */
  distinctMessageIds(): Set<string>;
  /** Distinct webhook-ids answered with 2xx: the ones the sender may count as delivered. */
  acknowledgedIds(): Set<string>;
  /** How many times each webhook-id was answered with 2xx; more than 1 is a duplicate delivery. */
  acknowledgedCounts(): Map<string, number>;
  respondWith(respond: ReceiverResponder): void;
  close(): Promise<void>;
}

export async function startReceiver(options: ReceiverOptions = {}): Promise<Receiver> {
  const requests: ReceivedRequest[] = [];
  let respond: ReceiverResponder = options.respond ?? (() => ({ status: 200 }));
  const pending = new Set<NodeJS.Timeout>();

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const ids = req.headersDistinct['webhook-id'];
      const received: ReceivedRequest = {
        n: requests.length,
        method: req.method ?? '',
        path: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
        messageId: ids?.length === 1 ? ids[0] : undefined,
        remotePort: req.socket.remotePort,
        receivedAt: Date.now(),
        status: undefined,
      };
      requests.push(received);
      let reply: ReceiverReply;
      try {
        reply = respond(received, received.n);
      } catch (error) {
        reply = { status: 500, body: `responder threw: ${String(error)}` };
      }
      const answer = (): void => {
        if (reply.destroy) {
          res.socket?.destroy();
          return;
        }
        // The sender gave up (timeout) before a delayed answer: nothing was acknowledged.
        if (res.destroyed || res.socket === null || res.socket.destroyed) return;
        received.status = reply.status;
        send(res, reply);
      };
      if (reply.delayMs !== undefined && reply.delayMs > 0) {
        const timer = setTimeout(() => {
          pending.delete(timer);
          answer();
        }, reply.delayMs);
        pending.add(timer);
      } else {
        answer();
      }
    });
  });
  // Benches push thousands of requests per second over keep-alive sockets.
  server.keepAliveTimeout = 10_000;

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;

  function acknowledgedCounts(): Map<string, number> {
    const counts = new Map<string, number>();
    for (const request of requests) {
      if (request.messageId === undefined || request.status === undefined) continue;
      if (request.status < 200 || request.status > 299) continue;
      counts.set(request.messageId, (counts.get(request.messageId) ?? 0) + 1);
    }
    return counts;
  }

  return {
    url: `http://127.0.0.1:${port}/`,
    requests,
    distinctMessageIds() {
      return new Set(requests.flatMap((r) => (r.messageId === undefined ? [] : [r.messageId])));
    },
    acknowledgedIds() {
      return new Set(acknowledgedCounts().keys());
    },
    acknowledgedCounts,
    respondWith(next) {
      respond = next;
    },
    close() {
      for (const timer of pending) clearTimeout(timer);
      pending.clear();
      return new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Keep-alive and silent connections would otherwise hold close() open.
        server.closeAllConnections();
      });
    },
  };
}

function send(res: ServerResponse, reply: ReceiverReply): void {
  const body = reply.body ?? '';
  res.writeHead(reply.status, {
    'content-type': 'text/plain; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    ...reply.headers,
  });
  res.end(body);
}
