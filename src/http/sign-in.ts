import type { Context } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import type { UserRow } from '../db/schema/index.ts';
import type { Deps } from '../deps.ts';
import { AppError } from '../errors.ts';
import { consumeLoginAttempt, recordLoginSuccess } from '../sessions/login-limiter.ts';
import { createSession, endSession, SESSION_COOKIE, SESSION_TTL_MS } from '../sessions/sessions.ts';
import { authenticateUser } from '../users/users.ts';
import { clientAddress } from './client-address.ts';
import type { AppEnv } from './env.ts';

// Signing in from a request, shared by POST /v1/sessions and the web login page.

const overHttps = (c: Context<AppEnv>) => c.get('deps').config.publicUrl.startsWith('https:');

/**
 * Over https the session cookie is `__Host-` prefixed: browsers take it only from this exact host, Secure and
 * with Path=/, so a sibling subdomain cannot plant a session of its choosing. Plain http cannot use it.
 */
const sessionCookiePrefix = (c: Context<AppEnv>) => (overHttps(c) ? ('host' as const) : undefined);

/** The session token in the request's cookie, if any. */
export const sessionCookie = (c: Context<AppEnv>) => getCookie(c, SESSION_COOKIE, sessionCookiePrefix(c));

/**
 * Sets the web session cookie: HttpOnly, SameSite=Lax, Secure (and `__Host-`) when PUBLIC_URL is https. The
 * session the browser held before (signing in again, or as someone else) ends: its token is not left live.
 */
export async function setSessionCookie(c: Context<AppEnv>, token: string) {
  const previous = sessionCookie(c);
  if (previous && previous !== token) await endSession(c.get('deps').db, previous);
  setCookie(c, SESSION_COOKIE, token, {
    httpOnly: true,
    sameSite: 'Lax',
    secure: overHttps(c),
    path: '/',
    maxAge: Math.floor(SESSION_TTL_MS / 1000),
    prefix: sessionCookiePrefix(c),
  });
}

/** Clears the web session cookie. */
export const clearSessionCookie = (c: Context<AppEnv>) =>
  deleteCookie(c, SESSION_COOKIE, { path: '/', secure: overHttps(c), prefix: sessionCookiePrefix(c) });

/**
 * Checks credentials under the login limits and opens a session. Wrong email or password → 401 (the same
 * answer for both); too many attempts → 429 with `Retry-After`.
 */
export async function signIn(
  c: Context<AppEnv>,
  deps: Deps,
  credentials: { email: string; password: string },
): Promise<{ user: UserRow; token: string; expiresAt: Date }> {
  const address = clientAddress(c);
  try {
    await consumeLoginAttempt(deps, credentials.email, address);
  } catch (error) {
    if (error instanceof AppError && error.code === 'rate_limited')
      c.header('retry-after', String(error.extra?.retry_after ?? 60));
    throw error;
  }
  const user = await authenticateUser(deps.db, credentials);
  if (!user) throw new AppError('unauthorized', 'Wrong email or password.');
  await recordLoginSuccess(deps, credentials.email, address);
  const session = await createSession(deps.db, user.id);
  return { user, token: session.token, expiresAt: session.expiresAt };
}
