import { createRoute, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { deleteCookie, setCookie } from 'hono/cookie';
import type { UserRow } from '../../db/schema/index.ts';
import type { Deps } from '../../deps.ts';
import { AppError } from '../../errors.ts';
import { consumeLoginAttempt, recordLoginSuccess } from '../../sessions/login-limiter.ts';
import { createSession, endSession, SESSION_COOKIE, SESSION_TTL_MS } from '../../sessions/sessions.ts';
import { authenticateUser } from '../../users/users.ts';
import { clientAddress } from '../client-address.ts';
import type { AppEnv } from '../env.ts';
import { presentedSession, requireUser } from '../middleware/user-auth.ts';
import { createRouter } from '../router.ts';
import { errorResponses, jsonBody, jsonResponse, ProblemSchema, Timestamp } from '../schemas.ts';
import { Email, presentUser, User } from './users.ts';

/** Sets the web session cookie: HttpOnly, SameSite=Lax, Secure when PUBLIC_URL is https. */
export function setSessionCookie(c: Context<AppEnv>, token: string) {
  setCookie(c, SESSION_COOKIE, token, {
    httpOnly: true,
    sameSite: 'Lax',
    secure: c.get('deps').config.publicUrl.startsWith('https:'),
    path: '/',
    maxAge: Math.floor(SESSION_TTL_MS / 1000),
  });
}

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

const Session = z
  .object({
    token: z.string().openapi({ description: 'Send as `Authorization: Bearer <token>`. Shown once.' }),
    expires_at: Timestamp,
    user: User,
  })
  .openapi('Session');

export const sessionsRouter = createRouter();

sessionsRouter.openapi(
  createRoute({
    method: 'post',
    path: '/v1/sessions',
    tags: ['Cardholders'],
    summary: 'Sign in',
    description:
      'Returns a bearer session token (valid 14 days) and also sets it as the HttpOnly, SameSite=Lax ' +
      '`cardlink_session` cookie (Secure when PUBLIC_URL is https) for the web pages. Wrong email or password → ' +
      '401. Failed attempts are limited per email (5 per 15 minutes, cleared by a successful sign-in) and per ' +
      'client address (100 per 15 minutes) in Redis → 429 `rate_limited` with `Retry-After`; if Redis is unreachable each API ' +
      'process enforces the same limits in memory.',
    request: {
      body: jsonBody(z.object({ email: Email, password: z.string().min(1).max(256) }).strict()),
    },
    responses: {
      200: jsonResponse(Session, 'Signed in'),
      ...errorResponses,
      429: {
        description: 'Too many attempts',
        content: { 'application/problem+json': { schema: ProblemSchema } },
      },
    },
  }),
  async (c) => {
    const deps = c.get('deps');
    const { user, token, expiresAt } = await signIn(c, deps, c.req.valid('json'));
    setSessionCookie(c, token);
    return c.json({ token, expires_at: expiresAt.toISOString(), user: presentUser(user) }, 200);
  },
);

sessionsRouter.openapi(
  createRoute({
    method: 'delete',
    path: '/v1/sessions/current',
    tags: ['Cardholders'],
    security: [{ sessionToken: [] }],
    summary: 'Sign out',
    description: 'Ends the presented session (bearer token or cookie) and clears the cookie.',
    middleware: [requireUser] as const,
    responses: { 204: { description: 'Signed out' }, ...errorResponses },
  }),
  async (c) => {
    const presented = presentedSession(c);
    if (presented) await endSession(c.get('deps').db, presented.token);
    deleteCookie(c, SESSION_COOKIE, { path: '/' });
    return c.body(null, 204);
  },
);
