import type { Overview } from '../../core/operations/overview.service.ts';
import { Head, href, Layout, Status, Time, type PageContext } from './layout.tsx';

export function OverviewPage(props: { page: PageContext; overview: Overview }) {
  const { overview } = props;
  const dead = overview.outbox.dead ?? 0;
  const { audit } = overview;
  return (
    <Layout title="Overview" section="overview" page={props.page}>
      <h1>Overview</h1>
      <p class="muted">
        Since <Time at={overview.since} /> (the last 24 hours).
      </p>
      <div class="grid">
        <section class="card" aria-labelledby="outbox-h">
          <h2 id="outbox-h">Outbox</h2>
          <dl class="facts">
            {['pending', 'delivering', 'delivered', 'dead'].map((status) => (
              <>
                <dt>{status}</dt>
                <dd class="mono">{overview.outbox[status] ?? 0}</dd>
              </>
            ))}
          </dl>
        </section>
        <section class="card" aria-labelledby="dead-h">
          <h2 id="dead-h">Dead letters</h2>
          <p>
            <Status value={String(dead)} tone={dead === 0 ? 'ok' : 'bad'} />{' '}
            {dead === 1 ? 'document' : 'documents'} could not be delivered.
          </p>
          <p>
            <a href="/console/dead-letters">Review and replay</a>
          </p>
        </section>
        <section class="card" aria-labelledby="audit-h">
          <h2 id="audit-h">Audit log</h2>
          <dl class="facts">
            <dt>seals</dt>
            <dd class="mono">{audit.seals}</dd>
            <dt>sealed entries</dt>
            <dd class="mono">{audit.sealedEntries}</dd>
            <dt>not sealed yet</dt>
            <dd class="mono">{audit.unsealed}</dd>
            <dt>last seal</dt>
            <dd>{audit.head === null ? '–' : <Time at={audit.head.sealedAt} />}</dd>
          </dl>
          <p>
            <a href="/console/audit">Verify the log</a>
          </p>
        </section>
      </div>

      <h2 id="traffic-h">Traffic by document type</h2>
      {overview.traffic.length === 0 ? (
        <p class="muted">No documents in this period.</p>
      ) : (
        <table aria-labelledby="traffic-h">
          <Head columns={['Type', ['In', 'num'], ['Out', 'num'], ['Rejected', 'num']]} />
          <tbody>
            {overview.traffic.map((line) => (
              <tr>
                <td>
                  <a href={href('/console/messages', { type: line.documentType })}>
                    {line.documentType}
                  </a>
                </td>
                <td class="num">{line.inbound}</td>
                <td class="num">{line.outbound}</td>
                <td class="num">
                  {line.rejected === 0 ? (
                    '0'
                  ) : (
                    <a
                      href={href('/console/messages', {
                        type: line.documentType,
                        status: 'rejected',
                      })}
                    >
                      {line.rejected}
                    </a>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}

      <h2 id="rejects-h">Recent rejections</h2>
      {overview.recentRejections.length === 0 ? (
        <p class="muted">None.</p>
      ) : (
        <table aria-labelledby="rejects-h">
          <Head columns={['Time', 'Partner', 'Type', 'Message id']} />
          <tbody>
            {overview.recentRejections.map((m) => (
              <tr>
                <td>
                  <Time at={m.loggedAt} />
                </td>
                <td>{m.partnerId}</td>
                <td>{m.documentType ?? '–'}</td>
                <td>
                  <a href={`/console/messages/${m.id}`}>{m.messageId ?? `entry ${m.id}`}</a>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}

      <h2 id="jobs-h">Jobs: last run of each</h2>
      {overview.jobs.length === 0 ? (
        <p class="muted">No job has run yet.</p>
      ) : (
        <table aria-labelledby="jobs-h">
          <Head columns={['Job', 'Started', 'Outcome', 'Counts', 'Error']} />
          <tbody>
            {overview.jobs.map((run) => (
              <tr>
                <td>{run.job}</td>
                <td>
                  <Time at={run.startedAt} />
                </td>
                <td>
                  <Status value={run.outcome} />
                </td>
                <td class="mono">
                  {Object.entries(run.counts)
                    .map(([name, n]) => `${name} ${n}`)
                    .join(', ') || '–'}
                </td>
                <td>{run.error ?? ''}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </Layout>
  );
}
