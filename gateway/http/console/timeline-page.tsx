import type { Timeline } from '../../core/messages/messages.service.ts';
import { Field, Head, Layout, Notice, Status, Time, type PageContext } from './layout.tsx';

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
        <Field
          name="id"
          label="Reservation, bid, deal, tender, check or order id"
          value={props.id}
          size={40}
          required
        />
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
          <table class="timeline">
            <caption class="muted">In the order of the message log</caption>
            <Head
              columns={[
                ['#', 'num'],
                'Time',
                'From → to',
                'Document',
                'Message id',
                'Status',
                'Now',
              ]}
            />
            <tbody>
              {timeline.documents.map((d, i) => (
                <tr>
                  <td class="num">{i + 1}</td>
                  <td>
                    <Time at={d.loggedAt} />
                  </td>
                  <td>
                    {d.direction === 'inbound'
                      ? `${d.partnerId} → gateway`
                      : `gateway → ${d.partnerId}`}
                  </td>
                  <td>
                    <a href={`/console/messages/${d.id}`}>{d.documentType ?? 'entry'}</a>
                  </td>
                  <td class="mono">{d.messageId}</td>
                  <td>
                    <Status value={d.status} />
                  </td>
                  <td>
                    {d.lastEvent !== null && d.lastEvent.event !== d.event ? (
                      <>
                        <Status value={d.lastEvent.status} /> <Time at={d.lastEvent.at} />
                      </>
                    ) : (
                      ''
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </Layout>
  );
}
