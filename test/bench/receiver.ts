/**
 * The delivery bench's receiver, its own process: answers every push 200 and counts pushes and
 * distinct webhook-ids (lost = queued − distinct, duplicated = total − distinct).
 * GET /stats → { distinct, total }. Prints "listening <url>" when ready.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

const seen = new Set<string>();
let total = 0;

const server = http.createServer((request, response) => {
  if (request.method === 'GET' && request.url === '/stats') {
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end(JSON.stringify({ distinct: seen.size, total }));
    return;
  }
  request.resume();
  request.on('end', () => {
    const id = request.headers['webhook-id'];
    if (typeof id === 'string') {
      total++;
      seen.add(id);
    }
    response.writeHead(200);
    response.end();
  });
});
server.keepAliveTimeout = 65_000;
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`listening http://127.0.0.1:${(server.address() as AddressInfo).port}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
