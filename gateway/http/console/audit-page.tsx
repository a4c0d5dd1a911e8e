import type { AuditReport } from '../../core/audit/verification.ts';
import type { AuditStatus } from '../../core/audit/verify.service.ts';
import { Layout, Notice, plural, Time, type PageContext } from './layout.tsx';

export function AuditPage(props: {
  page: PageContext;
  status: AuditStatus;
  report: AuditReport | undefined;
}) {
  const { status, report } = props;
  return (
    <Layout title="Audit" section="audit" page={props.page}>
      <h1>Audit log</h1>
      <p>
        Every message log entry is sealed by the <code>seal-audit</code> job into signed seals, each
        chained to the one before. Verifying recomputes every entry digest, Merkle root, seal hash
        and signature.
      </p>
      <dl class="facts">
        <dt>seals</dt>
        <dd class="mono">{status.seals}</dd>
        <dt>sealed entries</dt>
        <dd class="mono">{status.sealedEntries}</dd>
        <dt>not sealed yet</dt>
        <dd class="mono">{status.unsealed}</dd>
        <dt>last seal</dt>
        <dd>
          {status.head === null ? (
            '–'
          ) : (
            <>
              #{status.head.seq} at <Time at={status.head.sealedAt} />,{' '}
              <span class="mono">{status.head.hash}</span>
            </>
          )}
        </dd>
      </dl>
      <form method="get" action="/console/audit">
        <input type="hidden" name="verify" value="1" />
        <p>
          <button type="submit">Verify the whole log now</button>
        </p>
      </form>
      {report !== undefined &&
        (report.ok ? (
          <Notice kind="good">
            <strong>OK.</strong> {plural(report.seals, 'seal')} and{' '}
            {plural(report.entries, 'entry', 'entries')} verified
            {report.head === null ? '' : `, up to seal ${report.head.seq}`}.
          </Notice>
        ) : (
          <Notice kind="bad">
            <strong>Broken:</strong> {report.problem?.message}{' '}
            <span class="muted">
              ({report.problem?.code}; first broken seal {report.problem?.seal ?? '–'}, entry{' '}
              {report.problem?.entry ?? '–'})
            </span>
          </Notice>
        ))}
    </Layout>
  );
}
