import type { Child } from 'hono/jsx';
import { STYLESHEET_PATH } from './stylesheet.ts';

/** What the header shows a signed-in cardholder: where they are, and how to sign out (a form: it changes state). */
export interface SignedInHeader {
  email: string;
  logoutCsrf: string;
}

/** The frame of every cardholder page. `wide` for the account pages, narrow for the forms. */
export function Layout(props: {
  title: string;
  children: Child;
  signedIn?: SignedInHeader | undefined;
  wide?: boolean;
}) {
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>{`${props.title} · cardlink`}</title>
        <link rel="stylesheet" href={STYLESHEET_PATH} />
      </head>
      <body>
        <a class="skip" href="#main">
          Skip to content
        </a>
        <header class="site">
          <div class="bar">
            <a class="brand" href={props.signedIn ? '/account' : '/login'}>
              cardlink
            </a>
            {props.signedIn ? (
              <nav aria-label="Account">
                <a href="/account">Your account</a>
                <form method="post" action="/logout">
                  <input type="hidden" name="csrf" value={props.signedIn.logoutCsrf} />
                  <button class="link" type="submit">
                    Sign out
                  </button>
                </form>
              </nav>
            ) : null}
          </div>
        </header>
        <main id="main" class={props.wide ? 'wide' : undefined}>
          {props.children}
        </main>
      </body>
    </html>
  );
}

/** An error or confirmation line, announced by screen readers when the page loads. */
export function Alert(props: { message: string | undefined; kind?: 'error' | 'notice' }) {
  if (!props.message) return null;
  const kind = props.kind ?? 'error';
  return kind === 'error' ? (
    <p class="error" role="alert">
      {props.message}
    </p>
  ) : (
    <p class="notice" role="status">
      {props.message}
    </p>
  );
}
