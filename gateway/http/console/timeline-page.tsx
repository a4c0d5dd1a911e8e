import type { Timeline } from '../../core/messages/messages.service.ts';
import { Layout, Notice, Status, Time, type PageContext } from './layout.tsx';

export function TimelinePage(props: {
  page: PageContext;
  id: string;
  timeline: Timeline | undefined;
  error: string | undefined;
}) {
  const { timeline } = props;
  return (
    <Layout title="Deal timeline" section="timeline" page={props.page}>
      <h1>Deal timeline</h1>
      <form class="filters" method="get" action="/console/timeline" role="search">
        <label>
          Reservation, bid, deal, tender, check or order id
          <input name="id" value={props.id} size={40} required />
        </label>
        <button type="submit">Show</button>
      </form>
      {props.error !== undefined && <Notice kind="bad">{props.error}</Notice>}
      {timeline !== undefined && (
        <>
          <p>
            {timeline.documents.length} documents concern{' '}
            <span class="mono">{timeline.anchor}</span>
            {Object.entries(timeline.linked)
              .filter(([, ids]) => ids.some((id) => id !== timeline.anchor))
              .map(([key, ids]) => (
                <span>
                  {' '}
                  · {key}: <span class="mono">{ids.join(', ')}</span>
                </span>
              ))}
          </p>
          <ol class="timeline">
            {timeline.documents.map((d) => (
              <li>
                <Time at={d.loggedAt} />{' '}
                <strong>
                  {d.direction === 'inbound'
                    ? `${d.partnerId} → gateway`
                    : `gateway → ${d.partnerId}`}
                </strong>{' '}
                <a href={`/console/messages/${d.id}`}>{d.documentType ?? 'entry'}</a>{' '}
                <span class="mono muted">{d.messageId}</span> <Status value={d.status} />
                {d.lastEvent !== null && d.lastEvent.event !== d.event && (
                  <span>
                    {' '}
                    · now <Status value={d.lastEvent.status} /> (<Time at={d.lastEvent.at} />)
                  </span>
                )}
              </li>
            ))}
          </ol>
        </>
      )}
    </Layout>
  );
}
