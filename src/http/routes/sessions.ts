import { createRoute, z } from '@hono/zod-openapi';
import { endSession } from '../../sessions/sessions.ts';
import { presentedSession, requireUser } from '../middleware/user-auth.ts';
import { createRouter } from '../router.ts';
import { errorResponses, jsonBody, jsonResponse, ProblemSchema, Timestamp } from '../schemas.ts';
import { clearSessionCookie, setSessionCookie, signIn } from '../sign-in.ts';
import { Email, presentUser, User } from '../user-schema.ts';

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
    await setSessionCookie(c, token);
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
    clearSessionCookie(c);
    return c.body(null, 204);
  },
);
