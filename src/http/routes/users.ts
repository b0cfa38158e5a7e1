import { createRoute, z } from '@hono/zod-openapi';
import { consentHistory } from '../../grants/grants.ts';
import { signUpFrom } from '../../users/sign-up.ts';
import { getUser, normaliseEmail } from '../../users/users.ts';
import { clientAddress } from '../client-address.ts';
import { ConsentHistory, presentConsent } from '../consent-schema.ts';
import { createdIdempotently } from '../idempotent.ts';
import { requireAdmin } from '../middleware/admin.ts';
import { requireUser, signedInUser } from '../middleware/user-auth.ts';
import { createRouter } from '../router.ts';
import {
  errorResponses,
  IdempotencyHeader,
  IdParam,
  jsonBody,
  jsonResponse,
  ListQuery,
  pageQuery,
  presentPage,
} from '../schemas.ts';
import { Email, Password, presentUser, User } from '../user-schema.ts';

export const usersRouter = createRouter();
usersRouter.openAPIRegistry.registerComponent('securitySchemes', 'sessionToken', {
  type: 'http',
  scheme: 'bearer',
  description:
    'A cardholder session token from `POST /v1/sessions` (`ses_…`). The web pages use the same session from the ' +
    'HttpOnly `cardlink_session` cookie instead.',
});

usersRouter.openapi(
  createRoute({
    method: 'post',
    path: '/v1/users',
    tags: ['Cardholders'],
    summary: 'Sign up',
    description:
      'Creates a cardholder account. Emails are compared case-insensitively; passwords (10 to 256 characters) are ' +
      'stored only as an argon2id hash. An email already registered → 409 `conflict`; past ' +
      '`SIGNUP_REFUSALS_PER_IP_PER_HOUR` such refusals from one client address, every sign-up from it is 429 ' +
      '`rate_limited` for the rest of the hour.',
    request: {
      headers: IdempotencyHeader,
      body: jsonBody(z.object({ email: Email, password: Password }).strict()),
    },
    responses: { 201: jsonResponse(User, 'The new user'), ...errorResponses },
  }),
  async (c) => {
    const body = c.req.valid('json');
    const deps = c.get('deps');
    const address = clientAddress(c);
    return createdIdempotently(c, `signup:${normaliseEmail(body.email)}`, body, async (db) =>
      presentUser(await signUpFrom({ db, limiters: deps.limiters }, body, address)),
    );
  },
);

usersRouter.openapi(
  createRoute({
    method: 'get',
    path: '/v1/me',
    tags: ['Cardholders'],
    security: [{ sessionToken: [] }],
    summary: 'The signed-in user',
    middleware: [requireUser] as const,
    responses: { 200: jsonResponse(User, 'The user'), ...errorResponses },
  }),
  (c) => c.json(presentUser(signedInUser(c).user), 200),
);

usersRouter.openapi(
  createRoute({
    method: 'get',
    path: '/v1/users/{id}/consents',
    tags: ['Operator: users'],
    security: [{ adminToken: [] }],
    summary: 'A user’s consent history (operator)',
    description:
      'Every grant, scope change and revocation the user made, newest first, for support and audits.',
    middleware: [requireAdmin] as const,
    request: { params: IdParam('usr'), query: ListQuery },
    responses: { 200: jsonResponse(ConsentHistory, 'A page of consent events'), ...errorResponses },
  }),
  async (c) => {
    const { db } = c.get('deps');
    const user = await getUser(db, c.req.valid('param').id);
    const page = await consentHistory(db, user.id, pageQuery(c.req.valid('query')));
    return c.json(presentPage(page, presentConsent), 200);
  },
);
