import { z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { getCookie, setCookie } from 'hono/cookie';
import { AppError } from '../../errors.ts';
import { randomToken } from '../../lib/secrets.ts';
import {
  FORM_TTL_SECONDS,
  issuedLoginNonce,
  loginCsrfToken,
  loginCsrfValid,
  loginNonceCookie,
} from '../../sessions/csrf.ts';
import { render } from '../../web/render.tsx';
import { SIGN_IN_POLICY } from '../content-security.ts';
import type { AppEnv } from '../env.ts';
import { foreignFormMessage, fromOwnOrigin } from '../middleware/same-origin.ts';
import { optionalUser } from '../middleware/user-auth.ts';
import { createRouter } from '../router.ts';
import { setSessionCookie, signIn } from '../sign-in.ts';

const LOGIN_CSRF_COOKIE = 'cardlink_login_csrf';

/**
 * Where to go after signing in: only a path on this site (`/…`, not `//host` or `/\host`), so the login page
 * cannot be used as an open redirect. Anything else falls back to `/login`.
 */
export function safeNext(next: string | undefined, publicUrl: string): string {
  if (!next?.startsWith('/') || next.startsWith('//') || next.startsWith('/\\')) return '/login';
  try {
    const base = new URL(publicUrl);
    const target = new URL(next, base);
    if (target.origin !== base.origin) return '/login';
    return `${target.pathname}${target.search}`;
  } catch {
    return '/login';
  }
}

const secureCookies = (c: Context<AppEnv>) => c.get('deps').config.publicUrl.startsWith('https:');

/**
 * Over https the form's cookie is `__Host-` prefixed: browsers accept it only from this exact host, with
 * Secure and Path=/, so a sibling subdomain cannot plant one. Plain http (local development) cannot use it.
 */
const loginCookiePrefix = (c: Context<AppEnv>) => (secureCookies(c) ? 'host' : undefined);

/** The nonce of the form's cookie, if this server issued it. */
const loginNonce = (c: Context<AppEnv>) =>
  issuedLoginNonce(c.get('deps').config.secretsKey, getCookie(c, LOGIN_CSRF_COOKIE, loginCookiePrefix(c)));

/**
 * The sign-in form's token, signed over the nonce of the form's cookie. A cookie the server did not issue
 * (planted, or from before the key changed) is replaced by a fresh one, so the server never signs a nonce
 * somebody else chose.
 */
function loginCsrf(c: Context<AppEnv>): string {
  const { secretsKey } = c.get('deps').config;
  let nonce = loginNonce(c);
  if (!nonce) {
    nonce = randomToken('', 24);
    setCookie(c, LOGIN_CSRF_COOKIE, loginNonceCookie(secretsKey, nonce), {
      httpOnly: true,
      sameSite: 'Lax',
      secure: secureCookies(c),
      // `__Host-` requires Path=/; on http it stays /login, where it replaces an older cookie of that name.
      path: secureCookies(c) ? '/' : '/login',
      maxAge: FORM_TTL_SECONDS,
      prefix: loginCookiePrefix(c),
    });
  }
  return loginCsrfToken(secretsKey, nonce);
}

const noStore = (c: Context<AppEnv>) => {
  c.header('cache-control', 'no-store');
  c.header('x-frame-options', 'DENY');
  c.header('content-security-policy', SIGN_IN_POLICY);
};

export const webRouter = createRouter();

webRouter.openAPIRegistry.registerPath({
  method: 'get',
  path: '/login',
  tags: ['Web pages'],
  summary: 'Sign-in page (HTML)',
  description:
    'A server-rendered sign-in form. `next` (a path on this site only) is where a successful sign-in goes.',
  request: { query: z.object({ next: z.string().optional() }) },
  responses: { 200: { description: 'The sign-in page', content: { 'text/html': { schema: z.string() } } } },
});
webRouter.get('/login', async (c) => {
  noStore(c);
  const next = safeNext(c.req.query('next'), c.get('deps').config.publicUrl);
  const signedIn = await optionalUser(c);
  if (signedIn && next !== '/login') return c.redirect(next, 302);
  if (signedIn) return c.html(render.signedIn({ email: signedIn.user.email }));
  return c.html(render.login({ next, csrf: loginCsrf(c) }));
});

webRouter.openAPIRegistry.registerPath({
  method: 'post',
  path: '/login',
  tags: ['Web pages'],
  summary: 'Sign in from the page (HTML form)',
  description:
    'Form fields `email`, `password`, `next`, `csrf` (the page’s token, signed over the nonce in its cookie). A ' +
    'foreign or `null` `Origin` → 403. Success sets the ' +
    'HttpOnly session cookie and answers 303 to `next`; failure re-renders the page (401, or 429 when rate limited).',
  request: {
    body: {
      content: {
        'application/x-www-form-urlencoded': {
          schema: z.object({
            email: z.string(),
            password: z.string(),
            next: z.string().optional(),
            csrf: z.string(),
          }),
        },
      },
    },
  },
  responses: {
    303: { description: 'Signed in; redirect to `next`' },
    400: { description: 'Missing fields or a stale form (HTML)' },
    403: { description: 'Sent from another site (HTML)' },
    401: { description: 'Wrong email or password (HTML)' },
    429: { description: 'Too many attempts (HTML, with Retry-After)' },
  },
});
webRouter.post('/login', async (c) => {
  noStore(c);
  const deps = c.get('deps');
  if (!fromOwnOrigin(c)) {
    // Login CSRF: another site must not sign the browser in to an account of its choosing.
    return c.html(render.error({ title: 'Form refused', message: foreignFormMessage(c, 'sign-in') }), 403);
  }
  const form = await c.req.parseBody().catch(() => ({}) as Record<string, unknown>);
  const field = (name: string) => (typeof form[name] === 'string' ? (form[name] as string) : undefined);
  const next = safeNext(field('next'), deps.config.publicUrl);
  const email = field('email')?.slice(0, 254);
  const password = field('password')?.slice(0, 256);
  const nonce = loginNonce(c);
  const csrf = field('csrf');
  if (!nonce || !csrf || !loginCsrfValid(deps.config.secretsKey, nonce, csrf)) {
    return c.html(
      render.login({ next, csrf: loginCsrf(c), error: 'The form expired; please try again.', email }),
      400,
    );
  }
  if (!email || !password) {
    return c.html(render.login({ next, csrf, error: 'Enter your email and password.', email }), 400);
  }
  try {
    const { token } = await signIn(c, deps, { email, password });
    setSessionCookie(c, token);
    return c.redirect(next, 303);
  } catch (error) {
    if (error instanceof AppError && (error.code === 'unauthorized' || error.code === 'rate_limited')) {
      const status = error.code === 'rate_limited' ? 429 : 401;
      return c.html(render.login({ next, csrf, error: error.message, email }), status);
    }
    throw error;
  }
});
