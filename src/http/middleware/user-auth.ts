import type { Context, MiddlewareHandler } from 'hono';
import { getCookie } from 'hono/cookie';
import { AppError } from '../../errors.ts';
import { SESSION_COOKIE, userForSession } from '../../sessions/sessions.ts';
import type { AppEnv, SignedIn } from '../env.ts';
import { fromOwnOrigin, isSafeMethod } from './same-origin.ts';

/** The session token a request presents: `Authorization: Bearer ses_…`, else the session cookie. */
export function presentedSession(c: Context<AppEnv>): string | undefined {
  const header = c.req.header('authorization');
  if (header) {
    const [scheme, value] = header.split(' ', 2);
    return scheme?.toLowerCase() === 'bearer' && value ? value.trim() : undefined;
  }
  return getCookie(c, SESSION_COOKIE) || undefined;
}

/** The signed-in user of this request, or undefined (does not refuse). */
export async function optionalUser(c: Context<AppEnv>): Promise<SignedIn | undefined> {
  const token = presentedSession(c);
  if (!token) return undefined;
  const user = await userForSession(c.get('deps').db, token);
  return user ? { user, sessionToken: token } : undefined;
}

/**
 * Cardholder routes: a live session as a bearer token or the session cookie, else 401. A change made with the
 * cookie must come from our own pages (403 otherwise): the browser attaches the cookie to any site's request.
 */
export const requireUser: MiddlewareHandler<AppEnv> = async (c, next) => {
  const signedIn = await optionalUser(c);
  if (!signedIn) {
    c.header('www-authenticate', 'Bearer realm="cardlink"');
    throw new AppError(
      'unauthorized',
      'Sign in first: send the session token from POST /v1/sessions as a bearer token.',
    );
  }
  const byCookie = c.req.header('authorization') === undefined;
  if (byCookie && !isSafeMethod(c.req.method) && !fromOwnOrigin(c)) {
    throw new AppError(
      'forbidden',
      'Cross-site request refused: changes made with the session cookie must come from this site’s pages.',
    );
  }
  c.set('signedIn', signedIn);
  await next();
};

/** The user `requireUser` admitted. */
export function signedInUser(c: Context<AppEnv>): SignedIn {
  const signedIn = c.get('signedIn');
  if (!signedIn) throw new AppError('unauthorized', 'Sign in first.');
  return signedIn;
}
