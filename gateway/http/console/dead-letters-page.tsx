import type { DeadLetter } from '../../core/delivery/dead-letters.service.ts';
import { Field, Head, href, Layout, Notice, Time, type PageContext } from './layout.tsx';

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
        <Field name="partner" label="Partner" value={props.filter.partner} />
        <Field name="type" label="Document type" value={props.filter.type} />
        <button type="submit">Filter</button>
      </form>
      {props.letters.length === 0 ? (
        <p>No dead letters.</p>
      ) : (
        <table>
          <Head
            columns={[
              'Message id',
              'Partner',
              'Type',
              ['Attempts', 'num'],
              'Dead since',
              'Last error',
              ...(canReplay ? ['Action'] : []),
            ]}
          />
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
