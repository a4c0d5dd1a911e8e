/**
 * The load generator, run as its own process so it never shares an event loop with what it
 * measures: autocannon with N connections for D seconds, each request a fresh document from the
 * plan. Reads the plan as JSON on argv[2], prints the result as one JSON line.
 */
import autocannon from 'autocannon';
import { nthRequest, type LoadPlan } from './documents.ts';

interface LoadArgs {
  plan: LoadPlan;
  connections: number;
  durationS: number;
  /** For the reference apps: the path to POST to. */
  path: string;
}

const args = JSON.parse(process.argv[2] ?? '{}') as LoadArgs;
let n = 0;
let non2xx = 0;
const statuses: Record<string, number> = {};

const result = await autocannon({
  url: args.plan.url,
  connections: args.connections,
  duration: args.durationS,
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

process.stdout.write(
  `${JSON.stringify({
    requests: result.requests.total,
    // Only 2xx answers count as documents ingested.
    docsPerSec: result['2xx'] / result.duration,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    non2xx,
    statuses,
    errors: result.errors,
    timeouts: result.timeouts,
  })}\n`,
);
