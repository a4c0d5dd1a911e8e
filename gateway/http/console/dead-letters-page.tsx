import type { DeadLetter } from '../../core/delivery/dead-letters.service.ts';
import { href, Layout, Notice, Time, type PageContext } from './layout.tsx';

export function DeadLettersPage(props: {
  page: PageContext;
  filter: { partner: string; type: string };
  letters: readonly DeadLetter[];
  nextCursor: string | null;
  replayed: string | undefined;
  error: string | undefined;
}) {
  const canReplay = props.page.role === 'admin';
  return (
    <Layout title="Dead letters" section="dead-letters" page={props.page}>
      <h1>Dead letters</h1>
      {props.replayed !== undefined && (
        <Notice kind="good">
          Replayed <span class="mono">{props.replayed}</span>: it is back in the queue with the same
          message id.
        </Notice>
      )}
      {props.error !== undefined && <Notice kind="bad">{props.error}</Notice>}
      <form class="filters" method="get" action="/console/dead-letters" role="search">
        <label>
          Partner
          <input name="partner" value={props.filter.partner} size={14} />
        </label>
        <label>
          Document type
          <input name="type" value={props.filter.type} size={14} />
        </label>
        <button type="submit">Filter</button>
      </form>
      {props.letters.length === 0 ? (
        <p>No dead letters.</p>
      ) : (
        <table>
          <thead>
            <tr>
              <th scope="col">Message id</th>
              <th scope="col">Partner</th>
              <th scope="col">Type</th>
              <th scope="col" class="num">
                Attempts
              </th>
              <th scope="col">Dead since</th>
              <th scope="col">Last error</th>
              {canReplay && <th scope="col">Action</th>}
            </tr>
          </thead>
          <tbody>
            {props.letters.map((letter) => (
              <tr>
                <td class="mono">
                  <a href={href('/console/messages', { messageId: letter.messageId, event: '' })}>
                    {letter.messageId}
                  </a>
                </td>
                <td>{letter.recipientId}</td>
                <td>{letter.type}</td>
                <td class="num">{letter.attempts}</td>
                <td>
                  <Time at={letter.deadAt} />
                </td>
                <td>{letter.lastError ?? '–'}</td>
                {canReplay && (
                  <td>
                    <form
                      class="inline"
                      method="post"
                      action={`/console/dead-letters/${encodeURIComponent(letter.messageId)}/replay`}
                    >
                      <input type="hidden" name="_csrf" value={props.page.csrf} />
                      <button type="submit" aria-label={`Replay ${letter.messageId}`}>
                        Replay
                      </button>
                    </form>
                  </td>
                )}
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {props.nextCursor !== null && (
        <p class="pager">
          <a href={href('/console/dead-letters', { ...props.filter, after: props.nextCursor })}>
            More →
          </a>
        </p>
      )}
    </Layout>
  );
}
