import { Alert, Layout, type SignedInHeader } from './layout.tsx';
import { scopeInWords } from './words.ts';

export function LoginPage(props: {
  next: string;
  csrf: string;
  error?: string | undefined;
  notice?: string | undefined;
  email?: string | undefined;
}) {
  return (
    <Layout title="Sign in">
      <h1>Sign in to cardlink</h1>
      <Alert message={props.error} />
      <Alert message={props.notice} kind="notice" />
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
      <p class="muted">
        New to cardlink? <a href={signupHref(props.next)}>Create an account</a>
      </p>
    </Layout>
  );
}

/** The other page keeps where the cardholder was going (an app's consent request, most often). */
const signupHref = (next: string) =>
  next === '/account' ? '/signup' : `/signup?next=${encodeURIComponent(next)}`;
const loginHref = (next: string) =>
  next === '/account' ? '/login' : `/login?next=${encodeURIComponent(next)}`;

export function SignupPage(props: {
  next: string;
  csrf: string;
  error?: string | undefined;
  fieldErrors?: { email?: string | undefined; password?: string | undefined };
  email?: string | undefined;
}) {
  const emailError = props.fieldErrors?.email;
  const passwordError = props.fieldErrors?.password;
  return (
    <Layout title="Create an account">
      <h1>Create your cardlink account</h1>
      <p>Link the cards you pay with, then choose which apps may reward your purchases.</p>
      <Alert message={props.error} />
      <form method="post" action="/signup">
        <input type="hidden" name="next" value={props.next} />
        <input type="hidden" name="csrf" value={props.csrf} />
        <label for="email">Email</label>
        {emailError ? (
          <span class="hint error-text" id="email-error">
            {emailError}
          </span>
        ) : null}
        <input
          id="email"
          name="email"
          type="email"
          autocomplete="email"
          required
          value={props.email ?? ''}
          aria-invalid={emailError ? 'true' : undefined}
          aria-describedby={emailError ? 'email-error' : undefined}
        />
        <label for="password">Password</label>
        <span class="hint" id="password-hint">
          At least 10 characters. A few unrelated words are easy to remember and hard to guess.
        </span>
        {passwordError ? (
          <span class="hint error-text" id="password-error">
            {passwordError}
          </span>
        ) : null}
        <input
          id="password"
          name="password"
          type="password"
          autocomplete="new-password"
          minlength={10}
          maxlength={256}
          required
          aria-invalid={passwordError ? 'true' : undefined}
          aria-describedby={passwordError ? 'password-hint password-error' : 'password-hint'}
        />
        <div class="actions">
          <button class="primary" type="submit">
            Create account
          </button>
        </div>
      </form>
      <p class="muted">
        Already have an account? <a href={loginHref(props.next)}>Sign in</a>
      </p>
    </Layout>
  );
}

export function SignOutPage(props: { header: SignedInHeader; error?: string | undefined }) {
  return (
    <Layout title="Sign out" signedIn={props.header}>
      <h1>Sign out of cardlink?</h1>
      <Alert message={props.error} />
      <p>You are signed in as {props.header.email}. Your cards and connected apps stay as they are.</p>
      <form method="post" action="/logout">
        <input type="hidden" name="csrf" value={props.header.logoutCsrf} />
        <div class="actions">
          <button class="primary" type="submit">
            Sign out
          </button>
          <a href="/account">Stay signed in</a>
        </div>
      </form>
    </Layout>
  );
}

export function ConsentPage(props: {
  appName: string;
  email: string;
  scopes: string[];
  hidden: Record<string, string>;
  csrf: string;
  header: SignedInHeader;
}) {
  return (
    <Layout title={`Connect ${props.appName}`} signedIn={props.header}>
      <h1>
        <strong>{props.appName}</strong> wants to connect to your cards
      </h1>
      <p class="muted">Signed in as {props.email}</p>
      <p>If you allow it, {props.appName} will be able to:</p>
      <ul class="scopes">
        {props.scopes.map((scope) => (
          <li>{scopeInWords(scope)}</li>
        ))}
      </ul>
      <p class="muted">
        {props.appName} never sees your card numbers. You can disconnect it at any time on your account page;
        it then stops at once.
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

export function ErrorPage(props: {
  title: string;
  message: string;
  /** What to do next; by default, back to the app (the OAuth pages' errors). */
  next?: { href: string; label: string } | undefined;
  header?: SignedInHeader | undefined;
}) {
  return (
    <Layout title={props.title} signedIn={props.header}>
      <h1>{props.title}</h1>
      <p class="error" role="alert">
        {props.message}
      </p>
      {props.next ? (
        <p>
          <a href={props.next.href}>{props.next.label}</a>
        </p>
      ) : (
        <p class="muted">Go back to the app you came from and try again.</p>
      )}
    </Layout>
  );
}
