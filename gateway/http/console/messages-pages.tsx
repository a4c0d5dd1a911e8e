import { LOG_EVENTS } from '../../core/messages/messages.repository.ts';
import type { MessageDetail, MessageSummary } from '../../core/messages/messages.service.ts';
import { decodeBody } from '../../core/messages/messages.service.ts';
import { Field, Head, href, Layout, Notice, Status, Time, type PageContext } from './layout.tsx';

/** The search form's fields, as the query string carries them. */
export type SearchQuery = Record<
  'partner' | 'type' | 'direction' | 'status' | 'event' | 'from' | 'to' | 'messageId' | 'ref',
  string
>;

export function Direction(props: { value: string }) {
  return <span title={props.value}>{props.value === 'inbound' ? 'in' : 'out'}</span>;
}

export function MessageRows(props: { messages: readonly MessageSummary[] }) {
  return (
    <table>
      <Head
        columns={[
          'Time',
          'Dir',
          'Partner',
          'Type',
          'Message id',
          'Event',
          'Status',
          ['Bytes', 'num'],
        ]}
      />
      <tbody>
        {props.messages.map((m) => (
          <tr>
            <td>
              <Time at={m.loggedAt} />
            </td>
            <td>
              <Direction value={m.direction} />
            </td>
            <td>{m.partnerId}</td>
            <td>{m.documentType ?? '–'}</td>
            <td class="mono">
              <a href={`/console/messages/${m.id}`}>{m.messageId ?? `entry ${m.id}`}</a>
            </td>
            <td>{m.event}</td>
            <td>
              <Status value={m.status} />
            </td>
            <td class="num">{m.size ?? '–'}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export function MessagesPage(props: {
  page: PageContext;
  query: SearchQuery;
  messages: readonly MessageSummary[];
  nextCursor: string | null;
  error: string | undefined;
}) {
  const { query } = props;
  return (
    <Layout title="Messages" section="messages" page={props.page}>
      <h1>Messages</h1>
      <form class="filters" method="get" action="/console/messages" role="search">
        <Field name="partner" label="Partner" value={query.partner} />
        <Field name="type" label="Document type" value={query.type} />
        <label>
          Direction
          <select name="direction">
            {[
              ['', 'any'],
              ['inbound', 'inbound'],
              ['outbound', 'outbound'],
            ].map(([value, label]) => (
              <option value={value} selected={query.direction === value}>
                {label}
              </option>
            ))}
          </select>
        </label>
        <Field name="status" label="Status" value={query.status} />
        <label>
          Event
          <select name="event">
            <option value="document" selected={query.event === 'document'}>
              documents
            </option>
            <option value="" selected={query.event === ''}>
              all events
            </option>
            {LOG_EVENTS.map((event) => (
              <option value={event} selected={query.event === event}>
                {event}
              </option>
            ))}
          </select>
        </label>
        <Field name="from" label="From (UTC)" value={query.from} type="datetime-local" />
        <Field name="to" label="To (UTC)" value={query.to} type="datetime-local" />
        <Field name="messageId" label="Message id" value={query.messageId} />
        <Field name="ref" label="Deal, reservation, check … id" value={query.ref} />
        <button type="submit">Search</button>
      </form>
      {props.error !== undefined ? (
        <Notice kind="bad">{props.error}</Notice>
      ) : props.messages.length === 0 ? (
        <p>No messages match.</p>
      ) : (
        <>
          <MessageRows messages={props.messages} />
          {props.nextCursor !== null && (
            <p class="pager">
              <a href={href('/console/messages', { ...query, before: props.nextCursor })}>
                Older messages →
              </a>
            </p>
          )}
        </>
      )}
    </Layout>
  );
}

function Json(props: { value: unknown }) {
  return <pre>{JSON.stringify(props.value, null, 2)}</pre>;
}

export function MessagePage(props: { page: PageContext; found: MessageDetail }) {
  const { message, body, delivery, history, receipt } = props.found;
  const refs = Object.entries(message.refs);
  const text = body === null ? undefined : decodeBody(body);
  return (
    <Layout title={message.messageId ?? `Entry ${message.id}`} section="messages" page={props.page}>
      <h1>
        {message.documentType ?? 'Log entry'}{' '}
        <span class="mono">{message.messageId ?? `#${message.id}`}</span>
      </h1>
      <div class="grid">
        <section class="card" aria-labelledby="entry-h">
          <h2 id="entry-h">Log entry {message.id}</h2>
          <dl class="facts">
            <dt>logged</dt>
            <dd>
              <Time at={message.loggedAt} />
            </dd>
            <dt>direction</dt>
            <dd>{message.direction}</dd>
            <dt>partner</dt>
            <dd>{message.partnerId}</dd>
            <dt>event</dt>
            <dd>{message.event}</dd>
            <dt>status</dt>
            <dd>
              <Status value={message.status} />
            </dd>
            <dt>content type</dt>
            <dd>{message.contentType ?? '–'}</dd>
            <dt>SHA-256</dt>
            <dd class="mono">{message.digest ?? '–'}</dd>
            <dt>request id</dt>
            <dd class="mono">{message.requestId ?? '–'}</dd>
          </dl>
        </section>
        <section class="card" aria-labelledby="refs-h">
          <h2 id="refs-h">Concerns</h2>
          {refs.length === 0 ? (
            <p class="muted">No gateway ids.</p>
          ) : (
            <dl class="facts">
              {refs.map(([key, id]) => (
                <>
                  <dt>{key}</dt>
                  <dd class="mono">
                    <a href={href('/console/timeline', { id })}>{id}</a>
                  </dd>
                </>
              ))}
            </dl>
          )}
        </section>
        {delivery !== null && (
          <section class="card" aria-labelledby="delivery-h">
            <h2 id="delivery-h">Delivery</h2>
            <dl class="facts">
              <dt>status</dt>
              <dd>
                <Status value={delivery.status} />
              </dd>
              <dt>attempts</dt>
              <dd>{delivery.attempts}</dd>
              <dt>delivered</dt>
              <dd>
                <Time at={delivery.deliveredAt} />
              </dd>
              <dt>dead since</dt>
              <dd>
                <Time at={delivery.deadAt} />
              </dd>
              <dt>last error</dt>
              <dd>{delivery.lastError ?? '–'}</dd>
            </dl>
          </section>
        )}
      </div>

      <h2 id="raw-h">Raw bytes</h2>
      {text === undefined ? (
        <p class="muted">This entry has no body.</p>
      ) : (
        <>
          <p>
            {body?.length ?? 0} bytes, shown {text.encoding === 'utf-8' ? 'as text' : 'in base64'}.{' '}
            <a href={`/console/messages/${message.id}/raw`} download>
              Download the exact bytes
            </a>
          </p>
          <pre aria-labelledby="raw-h" tabindex={0}>
            {text.text}
          </pre>
        </>
      )}

      {receipt !== null && (
        <>
          <h2>Receipt</h2>
          <Json value={receipt} />
        </>
      )}
      {message.detail !== null && (
        <>
          <h2>Detail</h2>
          <Json value={message.detail} />
        </>
      )}

      <h2 id="history-h">History of this message</h2>
      <table aria-labelledby="history-h">
        <Head columns={['Time', 'Event', 'Status', 'Detail']} />
        <tbody>
          {history.map((h) => (
            <tr aria-current={h.id === message.id ? 'true' : undefined}>
              <td>
                <a href={`/console/messages/${h.id}`}>
                  <Time at={h.loggedAt} />
                </a>
              </td>
              <td>{h.event}</td>
              <td>
                <Status value={h.status} />
              </td>
              <td class="mono">{h.detail === null ? '' : JSON.stringify(h.detail)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </Layout>
  );
}
