import { z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { getCookie, setCookie } from 'hono/cookie';
import { AppError } from '../../errors.ts';
import { randomToken } from '../../lib/secrets.ts';
import {
  FORM_TTL_SECONDS,
  issuedNonce,
  nonceCookie,
  nonceFormToken,
  nonceFormTokenValid,
  type SignedOutForm,
  sessionFormTokenValid,
} from '../../sessions/csrf.ts';
import { createSession, endSession } from '../../sessions/sessions.ts';
import { signUpFrom } from '../../users/sign-up.ts';
import { render } from '../../web/render.tsx';
import { clientAddress } from '../client-address.ts';
import type { AppEnv } from '../env.ts';
import { foreignFormMessage, fromOwnOrigin } from '../middleware/same-origin.ts';
import { optionalUser } from '../middleware/user-auth.ts';
import { createRouter } from '../router.ts';
import { clearSessionCookie, setSessionCookie, signIn } from '../sign-in.ts';
import { Email, Password } from '../user-schema.ts';
import { formBody, formFields, headerFor, pageHeaders, secureCookies } from '../web-page.ts';

// The signed-out pages (sign-in, sign-up) and signing out.

/** Where a cardholder goes after signing in or up, unless they came from elsewhere on the site. */
const HOME = '/account';

/**
 * Where to go after signing in: only a path on this site (`/…`, not `//host` or `/\host`), so the login page
 * cannot be used as an open redirect. Anything else falls back to the account page.
 */
export function safeNext(next: string | undefined, publicUrl: string): string {
  if (!next?.startsWith('/') || next.startsWith('//') || next.startsWith('/\\')) return HOME;
  try {
    const base = new URL(publicUrl);
    const target = new URL(next, base);
    // Dot segments normalise away (`/.//evil.example` → `//evil.example`): check the path that comes out.
    if (
      target.origin !== base.origin ||
      target.pathname.startsWith('//') ||
      target.pathname.startsWith('/\\')
    )
      return HOME;
    return `${target.pathname}${target.search}`;
  } catch {
    return HOME;
  }
}

const NONCE_COOKIES: Record<SignedOutForm, string> = {
  login: 'cardlink_login_csrf',
  signup: 'cardlink_signup_csrf',
};

/**
 * Over https a form's cookie is `__Host-` prefixed: browsers accept it only from this exact host, with
 * Secure and Path=/, so a sibling subdomain cannot plant one. Plain http (local development) cannot use it.
 */
const cookiePrefix = (c: Context<AppEnv>) => (secureCookies(c) ? 'host' : undefined);

/** The nonce of the form's cookie, if this server issued it. */
const formNonce = (c: Context<AppEnv>, form: SignedOutForm) =>
  issuedNonce(c.get('deps').config.secretsKey, form, getCookie(c, NONCE_COOKIES[form], cookiePrefix(c)));

/**
 * A signed-out form's token, signed over the nonce of the form's cookie. A cookie the server did not issue
 * (planted, or from before the key changed) is replaced by a fresh one, so the server never signs a nonce
 * somebody else chose. The cookie is set again on every render, so it lives as long as the token just shown.
 */
function formCsrf(c: Context<AppEnv>, form: SignedOutForm): string {
  const { secretsKey } = c.get('deps').config;
  const nonce = formNonce(c, form) ?? randomToken('', 24);
  setCookie(c, NONCE_COOKIES[form], nonceCookie(secretsKey, form, nonce), {
    httpOnly: true,
    sameSite: 'Lax',
    secure: secureCookies(c),
    // `__Host-` requires Path=/; on http it stays on the form's own path.
    path: secureCookies(c) ? '/' : `/${form}`,
    maxAge: FORM_TTL_SECONDS,
    prefix: cookiePrefix(c),
  });
  return nonceFormToken(secretsKey, form, nonce);
}

const formCsrfValid = (c: Context<AppEnv>, form: SignedOutForm, token: string | undefined) => {
  const nonce = formNonce(c, form);
  return !!nonce && !!token && nonceFormTokenValid(c.get('deps').config.secretsKey, form, nonce, token);
};

/** The only notices the sign-in page shows: chosen by code, so a link cannot make the page say anything else. */
const LOGIN_NOTICES: Record<string, string> = { signed_out: 'You are signed out.' };

const html = { 'text/html': { schema: z.string() } };
/** The fields of the sign-in and sign-up forms. */
const SignedOutFields = z.object({
  email: z.string(),
  password: z.string(),
  next: z.string().optional(),
  csrf: z.string(),
});
const nextQuery = z.object({ next: z.string().optional() });

export const webRouter = createRouter();

webRouter.openAPIRegistry.registerPath({
  method: 'get',
  path: '/login',
  tags: ['Web pages'],
  summary: 'Sign-in page (HTML)',
  description:
    'A server-rendered sign-in form. `next` (a path on this site only; by default `/account`) is where a ' +
    'successful sign-in goes. Already signed in → 302 to `next`.',
  request: { query: nextQuery },
  responses: {
    200: { description: 'The sign-in page', content: html },
    302: { description: 'Already signed in: to `next`' },
  },
});
webRouter.get('/login', async (c) => {
  pageHeaders(c);
  const next = safeNext(c.req.query('next'), c.get('deps').config.publicUrl);
  if (await optionalUser(c)) return c.redirect(next, 302);
  const notice = LOGIN_NOTICES[c.req.query('notice') ?? ''];
  return c.html(render.login({ next, csrf: formCsrf(c, 'login'), notice }));
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
    body: formBody(SignedOutFields),
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
  pageHeaders(c);
  const deps = c.get('deps');
  if (!fromOwnOrigin(c)) {
    // Login CSRF: another site must not sign the browser in to an account of its choosing.
    return c.html(render.error({ title: 'Form refused', message: foreignFormMessage(c, 'sign-in') }), 403);
  }
  const field = await formFields(c);
  const next = safeNext(field('next'), deps.config.publicUrl);
  const email = field('email', 254);
  const password = field('password', 256);
  if (!formCsrfValid(c, 'login', field('csrf'))) {
    return c.html(
      render.login({ next, csrf: formCsrf(c, 'login'), error: 'The form expired; please try again.', email }),
      400,
    );
  }
  const csrf = formCsrf(c, 'login');
  if (!email || !password) {
    return c.html(render.login({ next, csrf, error: 'Enter your email and password.', email }), 400);
  }
  try {
    const { token } = await signIn(c, deps, { email, password });
    await setSessionCookie(c, token);
    return c.redirect(next, 303);
  } catch (error) {
    if (error instanceof AppError && (error.code === 'unauthorized' || error.code === 'rate_limited')) {
      const status = error.code === 'rate_limited' ? 429 : 401;
      return c.html(render.login({ next, csrf, error: error.message, email }), status);
    }
    throw error;
  }
});

webRouter.openAPIRegistry.registerPath({
  method: 'get',
  path: '/signup',
  tags: ['Web pages'],
  summary: 'Sign-up page (HTML)',
  description:
    'A server-rendered form creating a cardholder account (the same verb as `POST /v1/users`). `next`, as on ' +
    '`/login`, is where the new cardholder goes; by default `/account`. Already signed in → 302 to `next`.',
  request: { query: nextQuery },
  responses: {
    200: { description: 'The sign-up page', content: html },
    302: { description: 'Already signed in: to `next`' },
  },
});
webRouter.get('/signup', async (c) => {
  pageHeaders(c);
  const next = safeNext(c.req.query('next'), c.get('deps').config.publicUrl);
  if (await optionalUser(c)) return c.redirect(next, 302);
  return c.html(render.signup({ next, csrf: formCsrf(c, 'signup') }));
});

webRouter.openAPIRegistry.registerPath({
  method: 'post',
  path: '/signup',
  tags: ['Web pages'],
  summary: 'Sign up from the page (HTML form)',
  description:
    'Form fields `email`, `password` (10 to 256 characters), `next`, `csrf` (signed over the nonce in the ' +
    'page’s cookie, as on `/login`). A foreign or `null` `Origin` → 403. Success creates the account, sets the ' +
    'HttpOnly session cookie and answers 303 to `next`. Otherwise the page is shown again, with the email but ' +
    'never the password: 400 for a stale form, 422 naming the field, 409 for an email already registered, 429 ' +
    'once this address has had too many of those (as `POST /v1/users`).',
  request: {
    body: formBody(SignedOutFields),
  },
  responses: {
    303: { description: 'Signed up and in; redirect to `next`' },
    400: { description: 'A stale form (HTML)' },
    403: { description: 'Sent from another site (HTML)' },
    409: { description: 'An account with this email exists (HTML)' },
    422: { description: 'A field is missing or invalid (HTML)' },
    429: { description: 'Too many sign-ups for registered emails from this address (HTML)' },
  },
});
webRouter.post('/signup', async (c) => {
  pageHeaders(c);
  const deps = c.get('deps');
  if (!fromOwnOrigin(c)) {
    return c.html(render.error({ title: 'Form refused', message: foreignFormMessage(c, 'sign-up') }), 403);
  }
  const field = await formFields(c);
  const next = safeNext(field('next'), deps.config.publicUrl);
  const email = field('email', 1024)?.trim() ?? '';
  const password = field('password') ?? '';
  if (!formCsrfValid(c, 'signup', field('csrf'))) {
    return c.html(
      render.signup({
        next,
        csrf: formCsrf(c, 'signup'),
        error: 'The form expired; please try again.',
        email,
      }),
      400,
    );
  }
  const csrf = formCsrf(c, 'signup');
  const emailError = Email.safeParse(email).success
    ? undefined
    : 'Enter an email address, such as ada@example.com.';
  const passwordCheck = Password.safeParse(password);
  const passwordError = passwordCheck.success
    ? undefined
    : `The password ${passwordCheck.error.issues[0]?.message}.`;
  if (emailError || passwordError) {
    return c.html(
      render.signup({
        next,
        csrf,
        email,
        error: 'Please correct the fields below.',
        fieldErrors: { email: emailError, password: passwordError },
      }),
      422,
    );
  }
  try {
    const user = await signUpFrom(deps, { email, password }, clientAddress(c));
    const session = await createSession(deps.db, user.id);
    await setSessionCookie(c, session.token);
    return c.redirect(next, 303);
  } catch (error) {
    if (error instanceof AppError && error.code === 'conflict') {
      return c.html(
        render.signup({
          next,
          csrf,
          email,
          error: 'An account with this email already exists. Sign in instead, or use another email.',
        }),
        409,
      );
    }
    if (error instanceof AppError && error.code === 'rate_limited') {
      c.header('retry-after', String(error.extra?.retry_after ?? 60));
      return c.html(render.signup({ next, csrf, email, error: error.message }), 429);
    }
    throw error;
  }
});

webRouter.openAPIRegistry.registerPath({
  method: 'get',
  path: '/logout',
  tags: ['Web pages'],
  summary: 'Sign-out page (HTML)',
  description:
    'Asks to confirm signing out (a form, since it changes state). Not signed in → 302 to `/login`.',
  responses: {
    200: { description: 'The sign-out page', content: html },
    302: { description: 'Not signed in: to `/login`' },
  },
});
webRouter.get('/logout', async (c) => {
  pageHeaders(c);
  const signedIn = await optionalUser(c);
  if (!signedIn) return c.redirect('/login', 302);
  return c.html(render.signOut({ header: headerFor(c, signedIn) }));
});

webRouter.openAPIRegistry.registerPath({
  method: 'post',
  path: '/logout',
  tags: ['Web pages'],
  summary: 'Sign out from the page (HTML form)',
  description:
    'Form field `csrf` (the token of the page’s sign-out form, bound to the session). Ends the session, clears ' +
    'the cookie and answers 303 to `/login`. A foreign `Origin` or a wrong token → 403 and the session stays.',
  request: {
    body: { content: { 'application/x-www-form-urlencoded': { schema: z.object({ csrf: z.string() }) } } },
  },
  responses: {
    303: { description: 'Signed out; to `/login`' },
    403: { description: 'Sent from another site, or a stale form (HTML)' },
  },
});
webRouter.post('/logout', async (c) => {
  pageHeaders(c);
  const deps = c.get('deps');
  if (!fromOwnOrigin(c)) {
    return c.html(render.error({ title: 'Form refused', message: foreignFormMessage(c, 'sign-out') }), 403);
  }
  const signedIn = await optionalUser(c);
  if (!signedIn) return c.redirect('/login', 303);
  const field = await formFields(c);
  const csrf = field('csrf') ?? '';
  if (!sessionFormTokenValid(deps.config.secretsKey, signedIn.sessionToken, 'logout', csrf)) {
    return c.html(
      render.signOut({ header: headerFor(c, signedIn), error: 'The form expired; please try again.' }),
      403,
    );
  }
  await endSession(deps.db, signedIn.sessionToken);
  clearSessionCookie(c);
  return c.redirect('/login?notice=signed_out', 303);
});
