import type { Context, MiddlewareHandler } from 'hono';
import { AppError } from '../../errors.ts';
import { userForSession } from '../../sessions/sessions.ts';
import type { AppEnv, SignedIn } from '../env.ts';
import { sessionCookie } from '../sign-in.ts';
import { fromOwnOrigin, isSafeMethod } from './same-origin.ts';

/** The session token a request presents, and where it came from. */
export interface Presented {
  token: string;
  /** The cookie is attached by the browser to any site's request; a header is not. */
  source: 'header' | 'cookie';
}

/** The session token a request presents: `Authorization: Bearer ses_…`, else the session cookie. */
export function presentedSession(c: Context<AppEnv>): Presented | undefined {
  const header = c.req.header('authorization');
  if (header) {
    const [scheme, value] = header.split(' ', 2);
    const token = scheme?.toLowerCase() === 'bearer' && value ? value.trim() : '';
    return token ? { token, source: 'header' } : undefined;
  }
  const cookie = sessionCookie(c);
  return cookie ? { token: cookie, source: 'cookie' } : undefined;
}

/** The signed-in user of this request, or undefined (does not refuse). */
export async function optionalUser(c: Context<AppEnv>): Promise<SignedIn | undefined> {
  const presented = presentedSession(c);
  if (!presented) return undefined;
  const user = await userForSession(c.get('deps').db, presented.token);
  return user ? { user, sessionToken: presented.token, source: presented.source } : undefined;
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
  if (signedIn.source === 'cookie' && !isSafeMethod(c.req.method) && !fromOwnOrigin(c)) {
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
