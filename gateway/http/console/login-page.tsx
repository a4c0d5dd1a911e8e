import { Layout, Notice } from './layout.tsx';

export function LoginPage(props: { next: string; failed: boolean; off: boolean }) {
  return (
    <Layout title="Log in" section="login" page={undefined}>
      <div class="login">
        <h1>Nakadachi console</h1>
        {props.off ? (
          <Notice kind="bad">
            The console is off: set ADMIN_TOKEN (or AUDITOR_TOKEN) to use it.
          </Notice>
        ) : (
          <form method="post" action="/console/login">
            {props.failed && <Notice kind="bad">That token is not valid.</Notice>}
            <input type="hidden" name="next" value={props.next} />
            <label for="token">Admin or auditor token</label>
            <input
              id="token"
              name="token"
              type="password"
              autocomplete="current-password"
              required
              autofocus
            />
            <button type="submit">Log in</button>
          </form>
        )}
      </div>
    </Layout>
  );
}
