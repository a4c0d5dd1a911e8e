import type { Partner } from '../../core/partners/partners.ts';
import { Head, href, Layout, Status, Time, type PageContext } from './layout.tsx';

export function PartnersPage(props: { page: PageContext; partners: Partner[] }) {
  return (
    <Layout title="Partners" section="partners" page={props.page}>
      <h1>Partners</h1>
      <table>
        <caption class="muted">{`${props.partners.length} registered`}</caption>
        <Head
          columns={['Id', 'Name', 'Roles', 'Status', 'Format', 'Delivery', 'Endpoint', 'Since']}
        />
        <tbody>
          {props.partners.map((p) => (
            <tr>
              <td>
                <a href={href('/console/messages', { partner: p.id })}>{p.id}</a>
              </td>
              <td>{p.name}</td>
              <td>{p.roles.join(', ')}</td>
              <td>
                <Status value={p.status} tone={p.status === 'active' ? 'ok' : 'bad'} />
              </td>
              <td>{p.format}</td>
              <td>{p.deliveryMode}</td>
              <td class="mono">
                {p.endpointUrl ?? '–'}
                {p.endpointDisabledAt !== null && (
                  <span class="status-bad"> (off since 410 Gone)</span>
                )}
              </td>
              <td>
                <Time at={p.createdAt} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </Layout>
  );
}
