/**
 * @module A fault-injecting TCP proxy for tests, on node:net (Toxiproxy cannot be installed
 * here). It listens on 127.0.0.1 and pipes every connection to an upstream host:port; a toxic,
 * switched at any time, breaks the traffic the way a network does. The toxic names and their
 * meaning follow Toxiproxy's, so a test can move to the real one where Docker is available:
 *
 * - `latency`: every chunk, both directions, is held `latencyMs` before it is forwarded (order
 *   kept). Chunks already queued keep their delay when the toxic changes.
 * - `reset_peer`: new connections are answered with a TCP RST (`resetAndDestroy()`), with
 *   `connections: 'all'` the open ones too, at once.
 * - `limit_data`: on each connection, forwards `bytes` bytes of one stream (`upstream` = client
 *   to server, `downstream` = server to client), counted from when the toxic was set, then
 *   closes the connection (both sides).
 * - `timeout` (Toxiproxy's timeout with timeout=0, a black hole): connections are accepted and
 *   read, nothing is forwarded either way, nothing is closed.
 * - `down` (Toxiproxy's disabled proxy): the listener is closed and open connections are cut;
 *   new connections are refused (ECONNREFUSED) until another toxic is set, when the proxy
 *   listens on the same port again.
 * - `none`: plain forwarding.
 */
import net, { type AddressInfo, type Server, type Socket } from 'node:net';

export type Stream = 'upstream' | 'downstream';

export type Toxic =
  | { type: 'none' }
  | { type: 'latency'; latencyMs: number }
  | { type: 'reset_peer'; connections: 'new' | 'all' }
  | { type: 'limit_data'; stream: Stream; bytes: number }
  | { type: 'timeout' }
  | { type: 'down' };

export interface ProxyStats {
  /** Connections the proxy accepted (reset ones included). */
  accepted: number;
  /** Connections open now. */
  open: number;
  /** Connections answered or cut with a TCP RST by `reset_peer`. */
  resets: number;
  /** Connections closed by `limit_data` once their limit was reached. */
  cuts: number;
  /** Connections cut because the proxy went `down`. */
  downCuts: number;
  /** Bytes forwarded client → upstream. */
  upstreamBytes: number;
  /** Bytes forwarded upstream → client. */
  downstreamBytes: number;
  /** Bytes read and thrown away (black hole, or past a limit). */
  droppedBytes: number;
}

export interface FaultProxy {
  host: string;
  port: number;
  /** Switches the toxic for every connection, open and new; resolves once it is in force. */
  setToxic(toxic: Toxic): Promise<void>;
  toxic(): Toxic;
  /** A copy of the counters since the proxy started. */
  stats(): ProxyStats;
  close(): Promise<void>;
}

interface Queued {
  chunk: Buffer;
  dueAt: number;
  /** limit_data reached with this chunk: close the connection once it is written. */
  cutAfter: boolean;
}

/** One direction of one connection: a FIFO of chunks, each written when it falls due. */
interface Flow {
  stream: Stream;
  from: Socket;
  to: Socket;
  queue: Queued[];
  timer: NodeJS.Timeout | undefined;
  /** Bytes forwarded under the current limit_data toxic (its epoch). */
  limited: number;
  limitEpoch: number;
  /** `from` sent its FIN: end `to` once the queue is written. */
  ended: boolean;
  /** `to` is full: `from` is paused until it drains. */
  waitingDrain: boolean;
}

interface Connection {
  client: Socket;
  upstream: Socket;
  flows: Record<Stream, Flow>;
  closed: boolean;
}

export async function startFaultProxy(upstream: {
  host: string;
  port: number;
}): Promise<FaultProxy> {
  const host = '127.0.0.1';
  let toxic: Toxic = { type: 'none' };
  // Bumped on every limit_data toxic: each connection starts counting afresh from it.
  let limitEpoch = 0;
  const connections = new Set<Connection>();
  const stats: ProxyStats = {
    accepted: 0,
    open: 0,
    resets: 0,
    cuts: 0,
    downCuts: 0,
    upstreamBytes: 0,
    downstreamBytes: 0,
    droppedBytes: 0,
  };

  function closeConnection(connection: Connection, how: 'destroy' | 'reset'): void {
    if (connection.closed) return;
    connection.closed = true;
    connections.delete(connection);
    stats.open -= 1;
    for (const flow of Object.values(connection.flows)) {
      clearTimeout(flow.timer);
      flow.queue.length = 0;
    }
    if (how === 'reset' && !connection.client.destroyed) connection.client.resetAndDestroy();
    else connection.client.destroy();
    connection.upstream.destroy();
  }

  function pump(connection: Connection, flow: Flow): void {
    if (connection.closed) return;
    const now = Date.now();
    while (flow.queue.length > 0 && flow.queue[0]!.dueAt <= now) {
      const item = flow.queue.shift()!;
      if (flow.to.destroyed || !flow.to.writable) {
        stats.droppedBytes += item.chunk.length;
        if (item.cutAfter) closeConnection(connection, 'destroy');
        continue;
      }
      if (flow.stream === 'upstream') stats.upstreamBytes += item.chunk.length;
      else stats.downstreamBytes += item.chunk.length;
      if (item.cutAfter) {
        // Written in full first (the peer sees exactly the limit), then the connection goes.
        flow.to.write(item.chunk, () => closeConnection(connection, 'destroy'));
        stats.cuts += 1;
        flow.queue.length = 0;
        return;
      }
      if (!flow.to.write(item.chunk) && !flow.waitingDrain) {
        flow.waitingDrain = true;
        flow.from.pause();
        flow.to.once('drain', () => {
          flow.waitingDrain = false;
          flow.from.resume();
        });
      }
    }
    if (flow.queue.length > 0) {
      if (flow.timer === undefined) {
        flow.timer = setTimeout(
          () => {
            flow.timer = undefined;
            pump(connection, flow);
          },
          Math.max(flow.queue[0]!.dueAt - now, 0),
        );
      }
      return;
    }
    if (flow.ended && !flow.to.destroyed) flow.to.end();
  }

  function onData(connection: Connection, flow: Flow, chunk: Buffer): void {
    if (connection.closed) return;
    const current = toxic;
    if (current.type === 'timeout') {
      stats.droppedBytes += chunk.length;
      return;
    }
    let part = chunk;
    let cutAfter = false;
    if (current.type === 'limit_data' && current.stream === flow.stream) {
      if (flow.limitEpoch !== limitEpoch) {
        flow.limitEpoch = limitEpoch;
        flow.limited = 0;
      }
      const room = Math.max(current.bytes - flow.limited, 0);
      if (chunk.length >= room) {
        part = chunk.subarray(0, room);
        stats.droppedBytes += chunk.length - room;
        cutAfter = true;
        // Nothing more is taken from this connection; the cut closes it.
        flow.from.pause();
      }
      flow.limited += part.length;
    }
    const dueAt = Date.now() + (current.type === 'latency' ? current.latencyMs : 0);
    flow.queue.push({ chunk: part, dueAt, cutAfter });
    pump(connection, flow);
  }

  function flowOf(stream: Stream, from: Socket, to: Socket): Flow {
    return {
      stream,
      from,
      to,
      queue: [],
      timer: undefined,
      limited: 0,
      limitEpoch,
      ended: false,
      waitingDrain: false,
    };
  }

  function accept(client: Socket): void {
    stats.accepted += 1;
    if (toxic.type === 'reset_peer') {
      stats.resets += 1;
      client.on('error', () => undefined);
      client.resetAndDestroy();
      return;
    }
    const upstreamSocket = net.connect({
      host: upstream.host,
      port: upstream.port,
      allowHalfOpen: true,
    });
    const connection: Connection = {
      client,
      upstream: upstreamSocket,
      flows: {
        upstream: flowOf('upstream', client, upstreamSocket),
        downstream: flowOf('downstream', upstreamSocket, client),
      },
      closed: false,
    };
    connections.add(connection);
    stats.open += 1;
    for (const flow of Object.values(connection.flows)) {
      flow.from.on('data', (chunk: Buffer) => onData(connection, flow, chunk));
      flow.from.on('end', () => {
        flow.ended = true;
        pump(connection, flow);
      });
      // An error on either side (refused upstream, a peer's reset) ends the whole connection.
      flow.from.on('error', () => closeConnection(connection, 'destroy'));
    }
    // Both sides closed: nothing left to forward.
    const onClose = (): void => {
      if (client.destroyed && upstreamSocket.destroyed) closeConnection(connection, 'destroy');
    };
    client.on('close', onClose);
    upstreamSocket.on('close', onClose);
  }

  const server: Server = net.createServer({ allowHalfOpen: true }, accept);
  server.on('error', () => undefined);

  function listen(port: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const onError = (error: Error): void => reject(error);
      server.once('error', onError);
      server.listen(port, host, () => {
        server.off('error', onError);
        resolve();
      });
    });
  }

  function stopListening(): Promise<void> {
    return new Promise<void>((resolve) => {
      if (!server.listening) return resolve();
      server.close(() => resolve());
    });
  }

  await listen(0);
  const port = (server.address() as AddressInfo).port;

  return {
    host,
    port,
    async setToxic(next) {
      const previous = toxic;
      toxic = next;
      if (next.type === 'limit_data') limitEpoch += 1;
      if (next.type === 'reset_peer' && next.connections === 'all') {
        for (const connection of [...connections]) {
          stats.resets += 1;
          closeConnection(connection, 'reset');
        }
      }
      if (next.type === 'down') {
        const closing = stopListening();
        for (const connection of [...connections]) {
          stats.downCuts += 1;
          closeConnection(connection, 'destroy');
        }
        await closing;
      } else if (previous.type === 'down') {
        await listen(port);
      }
    },
    toxic: () => toxic,
    stats: () => ({ ...stats }),
    async close() {
      toxic = { type: 'down' };
      const closing = stopListening();
      for (const connection of [...connections]) closeConnection(connection, 'destroy');
      await closing;
    },
  };
}
