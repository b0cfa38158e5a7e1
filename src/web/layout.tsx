import type { Child } from 'hono/jsx';

/** The one style sheet of every page, inline (its hash is what the pages' Content-Security-Policy allows). */
export const PAGE_STYLE = `
  body { font: 16px/1.5 system-ui, sans-serif; background: #f6f7f9; color: #1d2330; margin: 0; }
  main { max-width: 28rem; margin: 4rem auto; background: #fff; padding: 2rem; border-radius: 12px;
         box-shadow: 0 1px 3px rgba(0,0,0,.08); }
  h1 { font-size: 1.35rem; margin-top: 0; }
  label { display: block; margin: 1rem 0 .25rem; font-weight: 600; }
  input[type=email], input[type=password] { width: 100%; box-sizing: border-box; padding: .6rem; font: inherit;
         border: 1px solid #c9ced8; border-radius: 8px; }
  button { font: inherit; padding: .6rem 1.2rem; border-radius: 8px; border: 1px solid #2f5bea; cursor: pointer; }
  .primary { background: #2f5bea; color: #fff; }
  .secondary { background: #fff; color: #2f5bea; }
  .actions { display: flex; gap: .75rem; margin-top: 1.5rem; }
  .error { background: #fdecec; color: #8a1c1c; padding: .75rem; border-radius: 8px; }
  ul.scopes li { margin: .4rem 0; }
  .muted { color: #5b6475; font-size: .9rem; }
`;

/** The frame of every cardholder page. */
export function Layout(props: { title: string; children: Child }) {
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="referrer" content="no-referrer" />
        <title>{`${props.title} · cardlink`}</title>
        <style>{PAGE_STYLE}</style>
      </head>
      <body>
        <main>{props.children}</main>
      </body>
    </html>
  );
}
