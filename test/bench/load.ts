/**
 * The load generator, run as its own process so it never shares an event loop with what it
 * measures: autocannon with N connections for D seconds, each request a fresh document from the
 * plan. It stays up for the whole bench (starting a TypeScript process costs about half a second,
 * which a quick run pays per load): reads one load as a JSON line on stdin, answers with its
 * result as one JSON line on stdout, and exits when stdin ends.
 */
import { createInterface } from 'node:readline';
import autocannon from 'autocannon';
import { nthRequest, type LoadPlan } from './documents.ts';

export interface LoadArgs {
  plan: LoadPlan;
  connections: number;
  durationS: number;
  /** For the reference apps: the path to POST to. */
  path: string;
}

async function runOne(args: LoadArgs) {
  let n = 0;
  let non2xx = 0;
  const statuses: Record<string, number> = {};
  const result = await autocannon({
    url: args.plan.url,
    connections: args.connections,
    duration: args.durationS,
    // autocannon looks at its stop flag once per sample: at the default 1,000 ms a 1.5 s load ran
    // for 2 s, and every load for up to a second longer than asked
    sampleInt: 100,
    pipelining: 1,
    requests: [
      {
        method: 'POST',
        path: args.path,
        setupRequest: (request) => {
          const next = nthRequest(args.plan, n++);
          return {
            ...request,
            headers: { 'content-type': 'application/xml', authorization: `Bearer ${next.apiKey}` },
            body: next.body,
          };
        },
        onResponse: (status, body) => {
          if (status < 200 || status > 299) {
            non2xx++;
            // the first answer of each refused kind, so a bench run says why it was refused
            statuses[status] ??= 0;
            if (statuses[status] === 0)
              process.stderr.write(
                `[load] ${status}: ${body.slice(body.indexOf('<Errors>'), body.indexOf('<Errors>') + 400)}\n`,
              );
            statuses[status]++;
          }
        },
      },
    ],
  });
  return {
    requests: result.requests.total,
    // Only 2xx answers count as documents ingested.
    docsPerSec: result['2xx'] / result.duration,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    non2xx,
    statuses,
    errors: result.errors,
    timeouts: result.timeouts,
  };
}

for await (const line of createInterface({ input: process.stdin })) {
  if (line.trim() === '') continue;
  process.stdout.write(`${JSON.stringify(await runOne(JSON.parse(line) as LoadArgs))}\n`);
}
