/**
 * The test fault proxy against a plain local echo server: plain forwarding, and each toxic doing
 * what it says — latency holds every chunk in both directions (order kept), reset_peer answers
 * with an RST (new or open connections), limit_data forwards exactly N bytes of one stream then
 * closes, timeout swallows everything, down refuses connections until the proxy is up again.
 */
import net, { type AddressInfo, type Socket } from 'node:net';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startFaultProxy, type FaultProxy } from '../support/fault-proxy.ts';

interface EchoServer {
  port: number;
  /** Connections the echo server accepted. */
  connections: number;
  /** Every byte it received, over all connections, in arrival order. */
  received(): Buffer;
  close(): Promise<void>;
}

async function startEchoServer(): Promise<EchoServer> {
  const chunks: Buffer[] = [];
  const sockets = new Set<Socket>();
  const echo: EchoServer = {
    port: 0,
    connections: 0,
    received: () => Buffer.concat(chunks),
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
  const server = net.createServer((socket) => {
    echo.connections += 1;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      socket.write(chunk);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  echo.port = (server.address() as AddressInfo).port;
  return echo;
}

interface Client {
  socket: Socket;
  /** Everything received so far. */
  received(): Buffer;
  /** Resolves when at least `bytes` bytes arrived. */
  receivedAtLeast(bytes: number): Promise<Buffer>;
  /** Resolves when the socket closed, with the error code that closed it (if any). */
  closed: Promise<string | undefined>;
}

function connect(port: number): Promise<Client> {
  return new Promise<Client>((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    const chunks: Buffer[] = [];
    const waiters: { bytes: number; resolve: (data: Buffer) => void }[] = [];
    let error: string | undefined;
    const closed = new Promise<string | undefined>((done) =>
      socket.once('close', () => done(error)),
    );
    socket.on('error', (e: NodeJS.ErrnoException) => (error = e.code));
    const received = (): Buffer => Buffer.concat(chunks);
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      const all = received();
      for (const waiter of waiters.filter((w) => all.length >= w.bytes)) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve(all);
      }
    });
    socket.once('connect', () =>
      resolve({
        socket,
        received,
        receivedAtLeast: (bytes) =>
          received().length >= bytes
            ? Promise.resolve(received())
            : new Promise<Buffer>((done) => waiters.push({ bytes, resolve: done })),
        closed,
      }),
    );
    socket.once('error', (e: NodeJS.ErrnoException) => reject(e));
  });
}

/** A connection attempt's error code, or 'connected'. */
function connectOutcome(port: number): Promise<string> {
  return new Promise<string>((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve('connected');
    });
    socket.once('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'));
  });
}

/** Connects and waits for the close: the error code that ended the connection. */
function closeReason(port: number): Promise<string | undefined> {
  return new Promise<string | undefined>((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    let code: string | undefined;
    socket.on('error', (e: NodeJS.ErrnoException) => (code = e.code));
    socket.once('close', () => resolve(code));
  });
}

function payload(length: number, fill = 'x'): Buffer {
  return Buffer.alloc(length, fill);
}

let echo: EchoServer;
let proxy: FaultProxy;
const clients: Client[] = [];

async function client(): Promise<Client> {
  const opened = await connect(proxy.port);
  clients.push(opened);
  return opened;
}

beforeAll(async () => {
  echo = await startEchoServer();
});
afterAll(() => echo.close());
beforeEach(async () => {
  proxy = await startFaultProxy({ host: '127.0.0.1', port: echo.port });
});
afterEach(async () => {
  for (const opened of clients.splice(0)) opened.socket.destroy();
  await proxy.close();
});

describe('fault proxy', () => {
  it('forwards both ways and counts connections and bytes without a toxic', async () => {
    const before = echo.received().length;
    const c = await client();
    c.socket.write('hello, upstream');
    expect((await c.receivedAtLeast(15)).toString()).toBe('hello, upstream');
    expect(echo.received().subarray(before).toString()).toBe('hello, upstream');
    expect(proxy.stats()).toMatchObject({
      accepted: 1,
      open: 1,
      upstreamBytes: 15,
      downstreamBytes: 15,
      resets: 0,
      cuts: 0,
    });
    c.socket.end();
    expect(await c.closed).toBeUndefined();
    await expect.poll(() => proxy.stats().open).toBe(0);
  });

  it('latency: delays every chunk in both directions and keeps their order', async () => {
    await proxy.setToxic({ type: 'latency', latencyMs: 500 });
    const c = await client();
    const started = Date.now();
    const parts = Array.from({ length: 20 }, (_, i) => `<${String(i).padStart(2, '0')}>`);
    for (const part of parts) c.socket.write(part);
    const echoed = await c.receivedAtLeast(parts.join('').length);
    // Held on the way up and again on the way down (timers may round a millisecond early).
    expect(Date.now() - started).toBeGreaterThanOrEqual(2 * 500 - 5);
    expect(echoed.toString()).toBe(parts.join(''));

    // Switched off: later chunks are not held (they still queue behind any held ones).
    await proxy.setToxic({ type: 'none' });
    const quick = Date.now();
    c.socket.write('now');
    await c.receivedAtLeast(parts.join('').length + 3);
    expect(Date.now() - quick).toBeLessThan(500);
  });

  it('reset_peer: new connections get an RST and never reach upstream', async () => {
    const upstreamConnections = echo.connections;
    await proxy.setToxic({ type: 'reset_peer', connections: 'new' });
    expect(await closeReason(proxy.port)).toBe('ECONNRESET');
    expect(echo.connections).toBe(upstreamConnections);
    expect(proxy.stats()).toMatchObject({ accepted: 1, resets: 1, open: 0 });
  });

  it('reset_peer: "new" leaves open connections alone, "all" resets them at once', async () => {
    const open = await client();
    open.socket.write('ping');
    await open.receivedAtLeast(4);
    await proxy.setToxic({ type: 'reset_peer', connections: 'new' });
    open.socket.write('pong');
    expect((await open.receivedAtLeast(8)).toString()).toBe('pingpong');

    await proxy.setToxic({ type: 'reset_peer', connections: 'all' });
    expect(await open.closed).toBe('ECONNRESET');
    expect(proxy.stats()).toMatchObject({ resets: 1, open: 0 });
  });

  it('limit_data upstream: forwards exactly N bytes to the server, then closes', async () => {
    const before = echo.received().length;
    await proxy.setToxic({ type: 'limit_data', stream: 'upstream', bytes: 40 });
    const c = await client();
    c.socket.write(payload(100, 'u'));
    await c.closed;
    await expect.poll(() => echo.received().length - before).toBe(40);
    expect(echo.received().subarray(before).toString()).toBe('u'.repeat(40));
    // What came back is at most what went up.
    expect(c.received().length).toBeLessThanOrEqual(40);
    expect(proxy.stats()).toMatchObject({ cuts: 1, upstreamBytes: 40, open: 0 });
  });

  it('limit_data downstream: the client gets exactly N bytes of the answer, then a close', async () => {
    const before = echo.received().length;
    await proxy.setToxic({ type: 'limit_data', stream: 'downstream', bytes: 40 });
    const c = await client();
    c.socket.write(payload(100, 'd'));
    await c.closed;
    expect(c.received().toString()).toBe('d'.repeat(40));
    // The server had the whole request.
    await expect.poll(() => echo.received().length - before).toBe(100);
    expect(proxy.stats()).toMatchObject({ cuts: 1, downstreamBytes: 40 });
  });

  it('limit_data counts from when it is set on connections already open', async () => {
    const c = await client();
    c.socket.write(payload(30, 'a'));
    await c.receivedAtLeast(30);
    await proxy.setToxic({ type: 'limit_data', stream: 'downstream', bytes: 10 });
    c.socket.write(payload(30, 'b'));
    await c.closed;
    expect(c.received().toString()).toBe(`${'a'.repeat(30)}${'b'.repeat(10)}`);
  });

  it('timeout: accepts and reads, forwards nothing, closes nothing', async () => {
    const open = await client();
    await proxy.setToxic({ type: 'timeout' });
    const fresh = await client();
    const before = echo.received().length;
    open.socket.write('swallowed-1');
    fresh.socket.write('swallowed-2');
    await expect.poll(() => proxy.stats().droppedBytes).toBe(22);
    expect(open.socket.destroyed || fresh.socket.destroyed).toBe(false);

    // Back to none: the next bytes arrive first, so the swallowed ones were never forwarded.
    await proxy.setToxic({ type: 'none' });
    open.socket.write('after');
    expect((await open.receivedAtLeast(5)).toString()).toBe('after');
    expect(echo.received().subarray(before).toString()).toBe('after');
    expect(proxy.stats()).toMatchObject({ accepted: 2, open: 2, resets: 0, cuts: 0 });
  });

  it('down: cuts open connections and refuses new ones until it is up again', async () => {
    const open = await client();
    await proxy.setToxic({ type: 'down' });
    await open.closed;
    expect(await connectOutcome(proxy.port)).toBe('ECONNREFUSED');
    expect(proxy.stats()).toMatchObject({ downCuts: 1, open: 0 });

    await proxy.setToxic({ type: 'none' });
    const again = await client();
    again.socket.write('back');
    expect((await again.receivedAtLeast(4)).toString()).toBe('back');
  });
});
