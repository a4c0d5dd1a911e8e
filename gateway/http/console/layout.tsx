/** The console's page frame and the small pieces every page uses. No scripts anywhere. */
import type { Child } from 'hono/jsx';
import type { ConsoleRole } from './session.ts';

export interface PageContext {
  role: ConsoleRole;
  /** CSRF token for forms that change something. */
  csrf: string;
  gatewayId: string;
}

const NAV = [
  ['overview', '/console', 'Overview'],
  ['messages', '/console/messages', 'Messages'],
  ['timeline', '/console/timeline', 'Deal timeline'],
  ['dead-letters', '/console/dead-letters', 'Dead letters'],
  ['partners', '/console/partners', 'Partners'],
  ['audit', '/console/audit', 'Audit'],
] as const;

export type Section = (typeof NAV)[number][0];

export function Layout(props: {
  title: string;
  section: Section | 'login';
  page: PageContext | undefined;
  children?: Child;
}) {
  const { page } = props;
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>{`${props.title} · Nakadachi console`}</title>
        <link rel="stylesheet" href="/console/assets/console.css" />
      </head>
      <body>
        <a class="skip" href="#main">
          Skip to content
        </a>
        {page !== undefined && (
          <header class="top">
            <a class="brand" href="/console">
              Nakadachi · {page.gatewayId}
            </a>
            <nav aria-label="Console">
              <ul>
                {NAV.map(([section, href, label]) => (
                  <li>
                    <a href={href} aria-current={section === props.section ? 'page' : undefined}>
                      {label}
                    </a>
                  </li>
                ))}
              </ul>
            </nav>
            <div class="who">
              <span>{page.role === 'admin' ? 'Operator' : 'Auditor (read-only)'}</span>
              <form class="inline" method="post" action="/console/logout">
                <input type="hidden" name="_csrf" value={page.csrf} />
                <button type="submit">Log out</button>
              </form>
            </div>
          </header>
        )}
        <main id="main">{props.children}</main>
      </body>
    </html>
  );
}

/** A UTC time, readable and machine-readable. */
export function Time(props: { at: Date | string | null | undefined }) {
  if (props.at === null || props.at === undefined) return <span class="muted">–</span>;
  const iso = typeof props.at === 'string' ? props.at : props.at.toISOString();
  return <time datetime={iso}>{iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z')}</time>;
}

/** A status word, coloured by itself or by `tone` (ok, bad …) — never by colour alone. */
export function Status(props: { value: string; tone?: string }) {
  const tone = (props.tone ?? props.value).replace(/[^a-z-]/g, '');
  return <span class={`status-${tone}`}>{props.value}</span>;
}

export function Notice(props: { kind?: 'good' | 'bad'; children?: Child }) {
  return (
    <div class={props.kind === undefined ? 'notice' : `notice ${props.kind}`} role="status">
      {props.children}
    </div>
  );
}

/** A table's header row; a column given as [label, 'num'] holds numbers (right-aligned). */
export function Head(props: { columns: readonly (string | readonly [string, 'num'])[] }) {
  return (
    <thead>
      <tr>
        {props.columns.map((column) =>
          typeof column === 'string' ? (
            <th scope="col">{column}</th>
          ) : (
            <th scope="col" class="num">
              {column[0]}
            </th>
          ),
        )}
      </tr>
    </thead>
  );
}

/** A labelled input of a filter form (the label wraps it: no ids to keep unique). */
export function Field(props: {
  name: string;
  label: string;
  value: string;
  type?: 'text' | 'datetime-local';
  size?: number;
  required?: boolean;
}) {
  const type = props.type ?? 'text';
  return (
    <label>
      {props.label}
      <input
        name={props.name}
        type={type}
        value={props.value}
        size={type === 'text' ? (props.size ?? 14) : undefined}
        required={props.required}
      />
    </label>
  );
}

/** "1 seal", "2 seals", "2 entries". */
export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** A link to /console/<path> with the query kept as given (empty values dropped). */
export function href(path: string, query: Record<string, string | undefined>): string {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query)) {
    if (value !== undefined && value !== '') params.set(name, value);
  }
  const search = params.toString();
  return search === '' ? path : `${path}?${search}`;
}

/** A refusal or a missing page, as a page (the admin API answers JSON instead). */
export function ErrorPage(props: { status: number; message: string }) {
  return (
    <Layout title={`Error ${props.status}`} section="login" page={undefined}>
      <h1>{props.status === 404 ? 'Not found' : props.status === 403 ? 'Refused' : 'Error'}</h1>
      <Notice kind="bad">{props.message}</Notice>
      <p>
        <a href="/console">Back to the console</a>
      </p>
    </Layout>
  );
}
