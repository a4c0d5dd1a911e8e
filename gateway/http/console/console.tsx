/**
 * The operator console under /console: server-rendered pages (hono/jsx) over the same core
 * services as the admin API, behind a login with the admin token (everything) or the auditor
 * token (read-only). Plain HTML forms and links; it needs no JavaScript.
 */
import { Hono, type Context } from 'hono';
import { createMiddleware } from 'hono/factory';
import type { HtmlEscapedString } from 'hono/utils/html';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { Kysely } from 'kysely';
import { auditStatus, verifyAuditLog } from '../../core/audit/verify.service.ts';
import { listDeadLetters, replayDeadLetters } from '../../core/delivery/dead-letters.service.ts';
import { GatewayError, isGatewayError } from '../../core/errors.ts';
import { dealTimeline, getMessage, searchMessages } from '../../core/messages/messages.service.ts';
import { operationsOverview } from '../../core/operations/overview.service.ts';
import { listPartners } from '../../core/partners/partners.service.ts';
import type { Database } from '../../db/tables.ts';
import type { AppEnv } from '../env.ts';
import { statusFor } from '../errors.ts';
import { logFilterFrom } from '../log-filter.ts';
import { rawResponse } from '../routes/admin-messages.ts';
import { AuditPage } from './audit-page.tsx';
import { CONSOLE_CSS } from './console-css.ts';
import { DeadLettersPage } from './dead-letters-page.tsx';
import { ErrorPage, type PageContext } from './layout.tsx';
import { LoginPage } from './login-page.tsx';
import { MessagePage, MessagesPage, type SearchQuery } from './messages-pages.tsx';
import { OverviewPage } from './overview-page.tsx';
import { PartnersPage } from './partners-page.tsx';
import {
  csrfToken,
  endSession,
  readSession,
  roleForToken,
  sameOrigin,
  sessionSecret,
  startSession,
  validCsrf,
  type ConsoleTokens,
  type Session,
} from './session.ts';
import { TimelinePage } from './timeline-page.tsx';

export interface ConsoleDeps extends ConsoleTokens {
  db: Kysely<Database>;
  gatewayId: string;
}

interface ConsoleEnv {
  Variables: AppEnv['Variables'] & { session: Session; page: PageContext };
}

const CSP =
  "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

async function render(
  c: Context,
  page: HtmlEscapedString | Promise<HtmlEscapedString>,
  status: ContentfulStatusCode = 200,
) {
  return c.html(`<!doctype html>${(await page).toString()}`, status);
}

/** Where to go after login: only a path of the console itself (no open redirect). */
function safeNext(next: unknown): string {
  return typeof next === 'string' && /^\/console(\/[^/\\]|\?|$)/.test(next) ? next : '/console';
}

/** A request mistake shown on the page instead of an error document. */
async function orError<T>(work: () => Promise<T>): Promise<T | { error: string }> {
  try {
    return await work();
  } catch (error) {
    if (isGatewayError(error) && (error.code === 'BAD_REQUEST' || error.code === 'NOT_FOUND')) {
      return { error: error.message };
    }
    throw error;
  }
}

function failed<T>(result: T | { error: string }): result is { error: string } {
  return typeof result === 'object' && result !== null && 'error' in result;
}

export function consoleRoutes(deps: ConsoleDeps) {
  const secret = sessionSecret(deps);
  const app = new Hono<ConsoleEnv>();

  app.use(async (c, next) => {
    await next();
    c.header('content-security-policy', CSP);
    c.header('cache-control', 'no-store');
  });

  app.get('/assets/console.css', (c) =>
    c.body(CONSOLE_CSS, 200, {
      'content-type': 'text/css; charset=utf-8',
      'cache-control': 'public, max-age=3600',
    }),
  );

  app.get('/login', async (c) =>
    render(
      c,
      <LoginPage next={safeNext(c.req.query('next'))} failed={false} off={secret === undefined} />,
      secret === undefined ? 404 : 200,
    ),
  );

  app.post('/login', async (c) => {
    const form = await c.req.parseBody();
    const next = safeNext(form.next);
    if (secret === undefined) return render(c, <LoginPage next={next} failed={false} off />, 404);
    if (!sameOrigin(c)) throw new GatewayError('FORBIDDEN', 'cross-site login refused');
    const role = typeof form.token === 'string' ? roleForToken(deps, form.token) : undefined;
    if (role === undefined) {
      return render(c, <LoginPage next={next} failed off={false} />, 401);
    }
    await startSession(c, secret, role);
    return c.redirect(next, 303);
  });

  // Everything below needs a session; POSTs also need the session's CSRF token.
  const authenticated = createMiddleware<ConsoleEnv>(async (c, next) => {
    const session = secret === undefined ? undefined : await readSession(c, secret);
    if (secret === undefined || session === undefined) {
      const target = c.req.method === 'GET' ? c.req.path + new URL(c.req.url).search : '/console';
      return c.redirect(`/console/login?next=${encodeURIComponent(target)}`, 303);
    }
    if (c.req.method === 'POST') {
      const form = await c.req.parseBody();
      if (!sameOrigin(c) || !validCsrf(secret, session, form._csrf)) {
        throw new GatewayError('FORBIDDEN', 'the form is stale: reload the page and try again');
      }
    }
    c.set('session', session);
    c.set('page', {
      role: session.role,
      csrf: csrfToken(secret, session),
      gatewayId: deps.gatewayId,
    });
    await next();
  });
  // (A Hono wildcard matches the bare prefix too: one registration.)
  app.use('/*', authenticated);

  app.post('/logout', (c) => {
    endSession(c);
    return c.redirect('/console/login', 303);
  });

  app.get('/', async (c) =>
    render(c, <OverviewPage page={c.get('page')} overview={await operationsOverview(deps.db)} />),
  );

  app.get('/partners', async (c) =>
    render(c, <PartnersPage page={c.get('page')} partners={await listPartners(deps.db)} />),
  );

  app.get('/messages', async (c) => {
    const get = (name: string) => c.req.query(name);
    // A first visit lists documents, not every delivery attempt.
    const query: SearchQuery = {
      partner: get('partner') ?? '',
      type: get('type') ?? '',
      direction: get('direction') ?? '',
      status: get('status') ?? '',
      event: get('event') ?? 'document',
      from: get('from') ?? '',
      to: get('to') ?? '',
      messageId: get('messageId') ?? '',
      ref: get('ref') ?? '',
    };
    const result = await orError(() =>
      searchMessages(
        deps.db,
        logFilterFrom((name) => query[name as keyof SearchQuery]),
        {
          before: get('before'),
          limit: 50,
        },
      ),
    );
    return render(
      c,
      <MessagesPage
        page={c.get('page')}
        query={query}
        messages={failed(result) ? [] : result.messages}
        nextCursor={failed(result) ? null : result.nextCursor}
        error={failed(result) ? result.error : undefined}
      />,
      failed(result) ? 400 : 200,
    );
  });

  app.get('/messages/:id', async (c) => {
    const found = await getMessage(deps.db, c.req.param('id'));
    return render(c, <MessagePage page={c.get('page')} found={found} />);
  });

  app.get('/messages/:id/raw', async (c) =>
    rawResponse(c, await getMessage(deps.db, c.req.param('id'))),
  );

  app.get('/timeline', async (c) => {
    const id = c.req.query('id')?.trim() ?? '';
    const result = id === '' ? undefined : await orError(() => dealTimeline(deps.db, id));
    return render(
      c,
      <TimelinePage
        page={c.get('page')}
        id={id}
        timeline={result === undefined || failed(result) ? undefined : result}
        error={result !== undefined && failed(result) ? result.error : undefined}
      />,
      result !== undefined && failed(result) ? 404 : 200,
    );
  });

  app.get('/dead-letters', async (c) => {
    const filter = { partner: c.req.query('partner') ?? '', type: c.req.query('type') ?? '' };
    const result = await orError(() =>
      listDeadLetters(
        deps.db,
        { partnerId: filter.partner || undefined, type: filter.type || undefined },
        { after: c.req.query('after'), limit: 50 },
      ),
    );
    return render(
      c,
      <DeadLettersPage
        page={c.get('page')}
        filter={filter}
        letters={failed(result) ? [] : result.deadLetters}
        nextCursor={failed(result) || result.deadLetters.length < 50 ? null : result.nextCursor}
        replayed={c.req.query('replayed')}
        error={failed(result) ? result.error : undefined}
      />,
    );
  });

  app.post('/dead-letters/:messageId/replay', async (c) => {
    if (c.get('session').role !== 'admin') {
      throw new GatewayError('FORBIDDEN', 'auditors cannot replay dead letters');
    }
    const messageId = c.req.param('messageId');
    const result = await replayDeadLetters(
      deps.db,
      { messageIds: [messageId] },
      c.get('requestId'),
    );
    if (result.replayed.length === 0)
      throw new GatewayError('NOT_FOUND', `no dead letter ${messageId}`);
    return c.redirect(`/console/dead-letters?replayed=${encodeURIComponent(messageId)}`, 303);
  });

  app.get('/audit', async (c) => {
    const report = c.req.query('verify') === '1' ? await verifyAuditLog(deps.db) : undefined;
    return render(
      c,
      <AuditPage page={c.get('page')} status={await auditStatus(deps.db)} report={report} />,
    );
  });

  app.onError((error, c) => {
    if (!isGatewayError(error)) throw error;
    const status = statusFor(error.code);
    return render(
      c,
      <ErrorPage status={status} message={status === 500 ? 'internal error' : error.message} />,
      status,
    );
  });
  return app;
}
