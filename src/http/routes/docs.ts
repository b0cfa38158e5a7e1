import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { Scalar } from '@scalar/hono-api-reference';
import { Hono } from 'hono';
import { docsPolicy, htmlPolicy } from '../content-security.ts';
import type { AppEnv } from '../env.ts';

// The reference's browser bundle comes from the exact-pinned @scalar/api-reference in node_modules, so
// /docs works without internet; the version in its URL lets browsers keep it for a year. 1.46 is its last
// release for Node 20 (later ones declare node >=22, and npm ci warned about dozens of packages).
const scalarDist = dirname(createRequire(import.meta.url).resolve('@scalar/api-reference'));
const scalarVersion: string = JSON.parse(
  readFileSync(join(scalarDist, '..', 'package.json'), 'utf8'),
).version;
const standalonePath = join(scalarDist, 'browser', 'standalone.js');

/** Where /docs loads the reference's script from (same origin). */
export const DOCS_SCRIPT_PATH = `/docs/assets/scalar-${scalarVersion}/standalone.js`;

/**
 * `GET /docs` (the interactive reference) and the script it runs; nothing is loaded from elsewhere. The API's
 * root, the URL `npm start` prints first, leads there.
 */
export const docsRouter = new Hono<AppEnv>();

docsRouter.get('/', (c) => c.redirect('/docs', 302));

docsRouter.use('/docs', htmlPolicy(docsPolicy));
docsRouter.get(
  '/docs',
  Scalar({
    url: '/openapi.json',
    pageTitle: 'cardlink API',
    cdn: DOCS_SCRIPT_PATH,
    // The default fonts come from fonts.scalar.com; the system's fonts need no network.
    withDefaultFonts: false,
    telemetry: false,
    // On localhost this version offers an AI agent that fetches from Scalar's servers as the page opens.
    agent: { disabled: true },
  }),
);

docsRouter.get(DOCS_SCRIPT_PATH, async (c) => {
  c.header('content-type', 'text/javascript; charset=utf-8');
  c.header('cache-control', 'public, max-age=31536000, immutable');
  return c.body(await readFile(standalonePath));
});
