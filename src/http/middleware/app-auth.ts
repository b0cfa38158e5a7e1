import type { Context, MiddlewareHandler } from 'hono';
import { AppError } from '../../errors.ts';
import { type AccessContext, checkAccessToken } from '../../oauth/access-tokens.ts';
import { SESSION_TOKEN_PREFIX } from '../../sessions/sessions.ts';
import type { AppEnv } from '../env.ts';

const MESSAGES = {
  malformed: 'The access token is malformed.',
  invalid: 'The access token is invalid.',
  expired: 'The access token has expired.',
  revoked: "The access token was revoked, or the user revoked this app's access.",
} as const;

/**
 * App routes: an OAuth access token from `/oauth/token` (the app's own, or a user's). The JWT is verified with
 * jose against our published keys, and the database is checked on every request (app active, token and grant
 * not revoked), so revocation takes effect at once. Refusals carry an RFC 6750 `WWW-Authenticate`.
 */
export const requireAppToken: MiddlewareHandler<AppEnv> = async (c, next) => {
  const header = c.req.header('authorization');
  const [scheme, token] = header?.split(' ', 2) ?? [];
  if (scheme?.toLowerCase() !== 'bearer' || !token) {
    c.header('www-authenticate', 'Bearer realm="cardlink"');
    throw new AppError('unauthorized', 'An OAuth access token is required (Authorization: Bearer <token>).');
  }
  if (token.startsWith(SESSION_TOKEN_PREFIX)) {
    // The mistake a newcomer makes: the token from POST /v1/sessions is for the cardholder's own routes.
    const detail =
      "This is a cardholder's session token; app routes take an OAuth access token from /oauth/token " +
      "(a user's, through the authorization code flow with PKCE).";
    c.header(
      'www-authenticate',
      `Bearer realm="cardlink", error="invalid_token", error_description="${detail}"`,
    );
    throw new AppError('unauthorized', detail);
  }
  const checked = await checkAccessToken(c.get('deps'), token.trim());
  if (!checked.ok) {
    c.header(
      'www-authenticate',
      `Bearer realm="cardlink", error="invalid_token", error_description="${MESSAGES[checked.reason]}"`,
    );
    throw new AppError('unauthorized', MESSAGES[checked.reason]);
  }
  c.set('appAccess', checked.access);
  await next();
};

/** Like `requireAppToken`, and the token must carry `scope` (403 `forbidden` with `insufficient_scope`). */
export const requireScope =
  (scope: string): MiddlewareHandler<AppEnv> =>
  async (c, next) => {
    const access = appAccess(c);
    if (!access.scopes.includes(scope)) {
      c.header('www-authenticate', `Bearer realm="cardlink", error="insufficient_scope", scope="${scope}"`);
      throw new AppError('forbidden', `This token lacks the "${scope}" scope.`);
    }
    await next();
  };

/** What `requireAppToken` admitted: the app, and the user and scopes for delegated tokens. */
export function appAccess(c: Context<AppEnv>): AccessContext {
  const access = c.get('appAccess');
  if (!access) throw new AppError('unauthorized', 'An OAuth access token is required.');
  return access;
}

/**
 * For what belongs to the app rather than to one of its users: only the app's own (client_credentials) token,
 * 403 for a user's. Goes after `requireAppToken`.
 */
export const requireAppOwnToken =
  (what: string): MiddlewareHandler<AppEnv> =>
  async (c, next) => {
    if (appAccess(c).kind !== 'app')
      throw new AppError(
        'forbidden',
        `${what} take the app's own access token (client_credentials), not a user's.`,
      );
    await next();
  };
