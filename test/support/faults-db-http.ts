/**
 * Talking to real gateway processes (child-gateway.ts) over HTTP in the database fault and
 * replica tests: their URL, partners registered through the admin API, documents posted with
 * fetch, and what PostgreSQL says about the processes' sessions.
 */
import pg from 'pg';
import type { ChildGateway } from './child-gateway.ts';
import type { TestDocument } from './documents.ts';
import type { RegisteredPartner } from './gateway.ts';

export const FAULTS_ADMIN_TOKEN = 'faults-admin-token-0123456789abcdef';

/** The base URL a child gateway logged when it started listening. */
export function childUrl(child: ChildGateway): string {
  const match = /"url":"(http:[^"]+)"/.exec(child.output());
  if (match === null) throw new Error(`no URL in the gateway's log:\n${child.output()}`);
  return match[1]!;
}

/** Is the process still there? (signal 0 checks without signalling) */
export function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export interface HttpAnswer {
  status: number;
  headers: Headers;
  text: string;
  /** The body as JSON, or undefined when it is not JSON. */
  json: any;
}

export async function call(
  base: string,
  method: string,
  path: string,
  options: { token?: string; body?: string; contentType?: string } = {},
): Promise<HttpAnswer> {
  const headers: Record<string, string> = {};
  if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
  if (options.body !== undefined)
    headers['content-type'] = options.contentType ?? 'application/json';
  const response = await fetch(new URL(path, base), { method, headers, body: options.body });
  const text = await response.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: response.status, headers: response.headers, text, json };
}

export async function registerOver(
  base: string,
  partner: { id: string; roles: string[] } & Record<string, unknown>,
): Promise<RegisteredPartner> {
  const answer = await call(base, 'POST', '/admin/v1/partners', {
    token: FAULTS_ADMIN_TOKEN,
    body: JSON.stringify({ name: partner.id, ...partner }),
  });
  if (answer.status !== 201) {
    throw new Error(`registering ${partner.id}: ${answer.status} ${answer.text}`);
  }
  return {
    id: partner.id,
    apiKey: answer.json.apiKey as string,
    signingSecret: answer.json.signingSecret as string,
  };
}

/** Posts the exact bytes given (a retry must send the same bytes). */
export function postBytes(base: string, partner: RegisteredPartner, bytes: string) {
  return call(base, 'POST', '/v1/documents', { token: partner.apiKey, body: bytes });
}

/** Posts a document and requires it to be accepted; the ids its receipt assigned. */
export async function sendAccepted(
  base: string,
  partner: RegisteredPartner,
  doc: TestDocument,
): Promise<Record<string, string>> {
  const answer = await postBytes(base, partner, JSON.stringify(doc));
  if (answer.status !== 200) {
    throw new Error(`${doc.header.type} from ${partner.id}: ${answer.status} ${answer.text}`);
  }
  return assignedIds(answer);
}

export function assignedIds(answer: HttpAnswer): Record<string, string> {
  const assigned = (answer.json?.body?.assigned ?? []) as { name: string; value: string }[];
  return Object.fromEntries(assigned.map((a) => [a.name, a.value]));
}

/** A plain client on the server (for locks held by the test, and pg_stat_activity). */
export async function connectClient(url: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url });
  // A client of the test's whose session is ended by the server must not crash the test run.
  client.on('error', () => undefined);
  await client.connect();
  return client;
}

export interface Backend {
  pid: number;
  state: string | null;
  waitEventType: string | null;
  query: string;
  /** The backend's transaction has written something (it holds a transaction id). */
  wrote: boolean;
}

/** The sessions a gateway process holds, by the application_name its DATABASE_URL gives. */
export async function backendsOf(client: pg.Client, applicationName: string): Promise<Backend[]> {
  const result = await client.query<{
    pid: number;
    state: string | null;
    wait_event_type: string | null;
    query: string;
    wrote: boolean;
  }>(
    `select pid, state, wait_event_type, query, backend_xid is not null as wrote
       from pg_stat_activity where application_name = $1 and pid <> pg_backend_pid()`,
    [applicationName],
  );
  return result.rows.map((r) => ({
    pid: r.pid,
    state: r.state,
    waitEventType: r.wait_event_type,
    query: r.query,
    wrote: r.wrote,
  }));
}

export async function terminate(client: pg.Client, pids: readonly number[]): Promise<void> {
  for (const pid of pids) {
    const result = await client.query<{ done: boolean }>(
      'select pg_terminate_backend($1) as done',
      [pid],
    );
    if (result.rows[0]?.done !== true) throw new Error(`backend ${pid} was not terminated`);
  }
}
