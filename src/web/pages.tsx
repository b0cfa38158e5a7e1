import { SCOPE_DESCRIPTIONS, type Scope } from '../grants/scopes.ts';
import { Layout } from './layout.tsx';

export function LoginPage(props: {
  next: string;
  csrf: string;
  error?: string | undefined;
  email?: string | undefined;
}) {
  return (
    <Layout title="Sign in">
      <h1>Sign in to cardlink</h1>
      {props.error ? (
        <p class="error" role="alert">
          {props.error}
        </p>
      ) : null}
      <form method="post" action="/login">
        <input type="hidden" name="next" value={props.next} />
        <input type="hidden" name="csrf" value={props.csrf} />
        <label for="email">Email</label>
        <input
          id="email"
          name="email"
          type="email"
          autocomplete="username"
          required
          value={props.email ?? ''}
        />
        <label for="password">Password</label>
        <input id="password" name="password" type="password" autocomplete="current-password" required />
        <div class="actions">
          <button class="primary" type="submit">
            Sign in
          </button>
        </div>
      </form>
    </Layout>
  );
}

export function SignedInPage(props: { email: string }) {
  return (
    <Layout title="Signed in">
      <h1>You are signed in</h1>
      <p>
        Signed in as <strong>{props.email}</strong>.
      </p>
    </Layout>
  );
}

export function ConsentPage(props: {
  appName: string;
  email: string;
  scopes: string[];
  hidden: Record<string, string>;
  csrf: string;
}) {
  return (
    <Layout title={`Connect ${props.appName}`}>
      <h1>
        <strong>{props.appName}</strong> wants to connect to your cards
      </h1>
      <p class="muted">Signed in as {props.email}</p>
      <p>If you allow it, {props.appName} will be able to:</p>
      <ul class="scopes">
        {props.scopes.map((scope) => (
          <li>{SCOPE_DESCRIPTIONS[scope as Scope] ?? scope}</li>
        ))}
      </ul>
      <p class="muted">
        {props.appName} never sees your card numbers. You can disconnect it at any time; it then stops at
        once.
      </p>
      <form method="post" action="/oauth/authorize">
        {Object.entries(props.hidden).map(([name, value]) => (
          <input type="hidden" name={name} value={value} />
        ))}
        <input type="hidden" name="csrf" value={props.csrf} />
        <div class="actions">
          <button class="primary" type="submit" name="decision" value="approve">
            Allow
          </button>
          <button class="secondary" type="submit" name="decision" value="deny">
            Deny
          </button>
        </div>
      </form>
    </Layout>
  );
}

export function ErrorPage(props: { title: string; message: string }) {
  return (
    <Layout title={props.title}>
      <h1>{props.title}</h1>
      <p class="error" role="alert">
        {props.message}
      </p>
      <p class="muted">Go back to the app you came from and try again.</p>
    </Layout>
  );
}
