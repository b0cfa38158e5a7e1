import { createHash } from 'node:crypto';

/**
 * The one style sheet of every cardholder page, served by cardlink (the pages' Content-Security-Policy allows
 * styles from this origin only, never inline). Phone width first; colours keep at least 4.5:1 contrast.
 */
export const SITE_CSS = `
*, *::before, *::after { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body { font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; background: #f6f7f9; color: #1d2330;
  margin: 0; }
a { color: #1f48c9; }
a:hover { color: #14308a; }
:focus-visible { outline: 3px solid #1f48c9; outline-offset: 2px; }
.skip { position: absolute; left: -999px; top: 0; background: #fff; padding: .5rem 1rem; z-index: 1; }
.skip:focus { left: .5rem; top: .5rem; }
.visually-hidden { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0);
  clip-path: inset(50%); white-space: nowrap; }
header.site { background: #fff; border-bottom: 1px solid #dde1e8; }
header.site .bar { max-width: 44rem; margin: 0 auto; padding: .75rem 1rem; display: flex; align-items: center;
  justify-content: space-between; gap: 1rem; flex-wrap: wrap; }
.brand { font-weight: 700; font-size: 1.15rem; color: #1d2330; text-decoration: none; }
header.site nav { display: flex; align-items: center; gap: 1rem; }
header.site nav form { margin: 0; }
main { max-width: 28rem; margin: 1.5rem auto; background: #fff; padding: 1.5rem 1.25rem; border-radius: 12px;
  box-shadow: 0 1px 3px rgba(0,0,0,.08); }
main.wide { max-width: 44rem; }
@media (max-width: 30rem) { main { margin: 0; border-radius: 0; box-shadow: none; } }
h1 { font-size: 1.4rem; line-height: 1.25; margin: 0 0 .75rem; }
h2 { font-size: 1.15rem; margin: 2rem 0 .75rem; padding-top: 1rem; border-top: 1px solid #e4e7ed; }
h3 { font-size: 1rem; margin: 1.25rem 0 .5rem; }
label { display: block; margin: 1rem 0 .25rem; font-weight: 600; }
.hint { display: block; color: #4f5869; font-size: .9rem; margin: 0 0 .35rem; }
input[type=email], input[type=password], input[type=text] { width: 100%; padding: .65rem; font: inherit;
  color: inherit; border: 1px solid #8a93a5; border-radius: 8px; background: #fff; }
input[aria-invalid=true] { border-color: #b3261e; }
button, .button { display: inline-block; font: inherit; padding: .6rem 1.2rem; border-radius: 8px;
  border: 1px solid #1f48c9; cursor: pointer; text-decoration: none; line-height: 1.5; }
.primary { background: #1f48c9; color: #fff; }
.primary:hover { background: #14308a; color: #fff; }
.secondary { background: #fff; color: #1f48c9; }
.danger { background: #b3261e; border-color: #b3261e; color: #fff; }
.danger:hover { background: #8c1d17; }
button.link { background: none; border: none; padding: 0; color: #1f48c9; text-decoration: underline; }
.actions { display: flex; flex-wrap: wrap; gap: .75rem; margin-top: 1.5rem; align-items: center; }
.error-text { color: #8a1c1c; }
.error { background: #fdecec; color: #8a1c1c; padding: .75rem; border-radius: 8px; }
.notice { background: #e7f5ec; color: #14532d; padding: .75rem; border-radius: 8px; }
.muted { color: #4f5869; font-size: .9rem; }
.empty { background: #f6f7f9; border: 1px dashed #b9c0cc; padding: .75rem; border-radius: 8px; }
ul.plain, ol.plain { list-style: none; padding: 0; margin: 0; }
ul.plain > li, ol.plain > li { padding: .75rem 0; border-bottom: 1px solid #e4e7ed; }
ul.plain > li:last-child, ol.plain > li:last-child { border-bottom: none; }
ul.scopes { padding-left: 1.25rem; }
ul.scopes li { margin: .3rem 0; }
.row { display: flex; flex-wrap: wrap; justify-content: space-between; gap: .25rem 1rem; align-items: baseline; }
.amount { font-variant-numeric: tabular-nums; font-weight: 600; white-space: nowrap; }
dl.figures { display: grid; grid-template-columns: repeat(3, minmax(0, 1fr)); gap: .5rem; margin: .5rem 0 0; }
dl.figures div { background: #f6f7f9; border-radius: 8px; padding: .5rem; }
dl.figures dt { font-size: .8rem; color: #4f5869; }
dl.figures dd { margin: 0; font-weight: 600; font-variant-numeric: tabular-nums; }
ul.outcomes { margin: .4rem 0 0; padding-left: 1.25rem; }
ul.outcomes li { margin: .2rem 0; }
.earned { color: #14532d; }
nav.toc ul { display: flex; flex-wrap: wrap; gap: .5rem 1rem; list-style: none; padding: 0; margin: .5rem 0 0; }
code { font-size: 1rem; background: #f1f3f6; padding: .1rem .3rem; border-radius: 4px; }
`;

/** Where pages link the sheet: named by its content, so a browser may keep it for good and still see changes. */
export const STYLESHEET_PATH = `/assets/site.${createHash('sha256').update(SITE_CSS).digest('hex').slice(0, 12)}.css`;
