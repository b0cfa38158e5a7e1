import { createHash } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';

const sourceHash = (text: string) => `'sha256-${createHash('sha256').update(text).digest('base64')}'`;

const policy = (directives: Record<string, string>) =>
  Object.entries(directives)
    .map(([name, value]) => `${name} ${value}`)
    .join('; ');

const CARDHOLDER_PAGE = {
  'default-src': "'none'",
  'style-src': "'self'",
  'base-uri': "'none'",
  'frame-ancestors': "'none'",
};

/**
 * The cardholder's pages (sign-up, sign-in, account, errors) load nothing but their style sheet from this
 * origin, run no script, and their forms post only here.
 */
export const PAGE_POLICY = policy({ ...CARDHOLDER_PAGE, 'form-action': "'self'" });

/**
 * The consent page: as the others, but `form-action` is left open on purpose: the consent form's answer
 * redirects to the app's registered redirect URI, and Chromium applies form-action to that redirect too.
 */
export const CONSENT_POLICY = policy(CARDHOLDER_PAGE);

/**
 * The pages of the libraries we serve (the API reference, the queue dashboard): everything from this origin
 * only, so a browser refuses anything from outside even if a new version of the page asks for it. Both style
 * their elements inline at run time (Vue and React style attributes, injected <style> tags), which hashes
 * cannot cover, so styles are the one 'unsafe-inline' (Chromium refused both pages' styles without it; it
 * refuses nothing with this policy, test/e2e/browser.test.ts).
 */
const LIBRARY_PAGE = {
  'default-src': "'self'",
  'style-src': "'self' 'unsafe-inline'",
  'object-src': "'none'",
  'base-uri': "'self'",
  'frame-ancestors': "'none'",
};

/** The queue dashboard (bull-board): its scripts are files under /admin/queues/static; no inline script runs. */
export const DASHBOARD_POLICY = policy(LIBRARY_PAGE);

const INLINE_SCRIPT = /<script\b(?![^>]*\bsrc=)[^>]*>([\s\S]*?)<\/script>/gi;

/**
 * The API reference (Scalar): its script from /docs/assets, plus the one inline script that starts it. The page
 * is rendered from our fixed configuration alone (nothing from the request reaches it), so the inline scripts
 * it holds are Scalar's and are allowed by hash, never with 'unsafe-inline'.
 */
export function docsPolicy(html: string): string {
  const inline = [...html.matchAll(INLINE_SCRIPT)].map((match) => sourceHash(match[1] ?? ''));
  return policy({ ...LIBRARY_PAGE, 'script-src': ["'self'", ...inline].join(' ') });
}

/** Sets the policy on HTML answers (the libraries' pages; their JSON and scripts need none). */
export const htmlPolicy =
  (policyOf: string | ((html: string) => string)): MiddlewareHandler =>
  async (c, next) => {
    await next();
    if (!c.res.headers.get('content-type')?.startsWith('text/html')) return;
    const value = typeof policyOf === 'string' ? policyOf : policyOf(await c.res.clone().text());
    c.res.headers.set('content-security-policy', value);
  };
