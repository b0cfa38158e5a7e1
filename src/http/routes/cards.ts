import { createRoute, z } from '@hono/zod-openapi';
import { enrollCard, listCards, removeCard, resolveAppCard } from '../../cards/cards.ts';
import { underEnrollmentLimits } from '../../cards/enroll-limiter.ts';
import { cardIdForApp, cardIdFromApp } from '../../cards/pseudonyms.ts';
import { CARD_SCHEMES, type CardRow } from '../../db/schema/index.ts';
import { AppError, invalidFields, notFound } from '../../errors.ts';
import { createdIdempotently } from '../idempotent.ts';
import { appAccess, requireAppToken } from '../middleware/app-auth.ts';
import { requireUser, signedInUser } from '../middleware/user-auth.ts';
import { createRouter } from '../router.ts';
import {
  errorResponses,
  IdempotencyHeader,
  IdParam,
  jsonBody,
  jsonResponse,
  ListQuery,
  listOf,
  ProblemSchema,
  pageQuery,
  presentPage,
  Timestamp,
} from '../schemas.ts';

const Card = z
  .object({
    id: z.string().openapi({ example: 'crd_01jh…' }),
    object: z.literal('card'),
    scheme: z.enum(CARD_SCHEMES),
    bin: z.string().openapi({ description: 'The first 6 digits', example: '411111' }),
    last4: z.string().openapi({ example: '1111' }),
    exp_month: z.number().int(),
    exp_year: z.number().int(),
    created_at: Timestamp,
  })
  .openapi('Card');

const AppCard = z
  .object({
    id: z.string().openapi({
      description: 'This app’s own id for the card: stable for the app, different for every other app.',
      example: 'crd_7q2m…',
    }),
    object: z.literal('card'),
    scheme: z.enum(CARD_SCHEMES),
    last4: z.string(),
    exp_month: z.number().int(),
    exp_year: z.number().int(),
  })
  .openapi('AppCard');

const present = (row: CardRow): z.infer<typeof Card> => ({
  id: row.id,
  object: 'card',
  scheme: row.scheme,
  bin: row.bin,
  last4: row.last4,
  exp_month: row.expMonth,
  exp_year: row.expYear,
  created_at: row.createdAt.toISOString(),
});

const presentForApp = (secretsKey: string, appId: string, row: CardRow): z.infer<typeof AppCard> => ({
  id: cardIdForApp({ secretsKey }, appId, row.id),
  object: 'card',
  scheme: row.scheme,
  last4: row.last4,
  exp_month: row.expMonth,
  exp_year: row.expYear,
});

// The PAN is validated in the verb so that no error message, zod's included, can ever carry its digits.
const Pan = z
  .string({ message: 'must be a string of digits' })
  .min(1, 'is required')
  .max(40, 'is too long')
  .openapi({
    description:
      'The card number (spaces and dashes allowed). Used in memory only, never stored, logged or returned.',
    example: '4242 4242 4242 4242',
  });

const tags = ['Cardholders: cards'];
const security = [{ sessionToken: [] }];

export const cardsRouter = createRouter();
cardsRouter.openAPIRegistry.registerComponent('securitySchemes', 'appToken', {
  type: 'oauth2',
  description:
    'An access token from `POST /oauth/token` (authorization code + PKCE for a user, or client_credentials).',
  flows: {
    authorizationCode: {
      authorizationUrl: '/oauth/authorize',
      tokenUrl: '/oauth/token',
      refreshUrl: '/oauth/token',
      scopes: {
        transactions: 'Be notified of purchases',
        receipts: 'Digital receipts',
        loyalty: 'Loyalty points',
        cashback: 'Cashback',
        coupons: 'Coupons',
        social: 'Social posts on the user’s behalf',
      },
    },
    clientCredentials: { tokenUrl: '/oauth/token', scopes: {} },
  },
});

cardsRouter.openapi(
  createRoute({
    method: 'post',
    path: '/v1/me/cards',
    tags,
    security,
    summary: 'Enroll a card',
    description:
      'Checks the number (12-19 digits, Luhn, a Visa, Mastercard, American Express or Discover BIN range) and ' +
      'that the expiry is not past. Only a keyed fingerprint (HMAC-SHA256 with CARD_FINGERPRINT_KEY), the BIN ' +
      'and the last 4 digits are kept. A card the user already enrolled → 409 `conflict`. A number that is not a ' +
      'card, of another scheme, or enrolled by another user gets one answer (422 on `pan`, `cannot be enrolled`), ' +
      'so it never says that someone else enrolled it. Errors name the `pan` field but never repeat its value. ' +
      'Each user may make 20 enrollment attempts per hour, and have 10 refused per day because the number is ' +
      'enrolled (`ENROLL_REFUSALS_PER_USER_PER_DAY`; typos in length, Luhn, scheme or expiry are not counted); ' +
      'beyond either, 429 `rate_limited` with `Retry-After`.',
    middleware: [requireUser] as const,
    request: {
      headers: IdempotencyHeader,
      body: jsonBody(
        z.strictObject({
          pan: Pan,
          exp_month: z.number().int().min(1).max(12),
          exp_year: z.number().int().min(2000).max(2100),
        }),
      ),
    },
    responses: {
      201: jsonResponse(Card, 'The enrolled card'),
      ...errorResponses,
      429: {
        description: 'Too many attempts',
        content: { 'application/problem+json': { schema: ProblemSchema } },
      },
    },
  }),
  async (c) => {
    const body = c.req.valid('json');
    const deps = c.get('deps');
    const { user } = signedInUser(c);
    const input = { pan: body.pan, expMonth: body.exp_month, expYear: body.exp_year };
    // A limit's 429 carries Retry-After from its problem (src/http/problem.ts).
    return underEnrollmentLimits(deps, user.id, () =>
      createdIdempotently(c, user.id, body, async (db) =>
        present(await enrollCard({ ...deps, db }, user.id, input)),
      ),
    );
  },
);

cardsRouter.openapi(
  createRoute({
    method: 'get',
    path: '/v1/me/cards',
    tags,
    security,
    summary: 'List my cards',
    middleware: [requireUser] as const,
    request: { query: ListQuery },
    responses: {
      200: jsonResponse(listOf(Card, 'CardList'), 'A page of live cards, newest first'),
      ...errorResponses,
    },
  }),
  async (c) => {
    const page = await listCards(c.get('deps').db, signedInUser(c).user.id, pageQuery(c.req.valid('query')));
    return c.json(presentPage(page, present), 200);
  },
);

cardsRouter.openapi(
  createRoute({
    method: 'delete',
    path: '/v1/me/cards/{id}',
    tags,
    security,
    summary: 'Remove a card',
    description:
      'The card stops matching events at once. Its history is kept (events still name it); the same card can be ' +
      'enrolled again later.',
    middleware: [requireUser] as const,
    request: { params: IdParam('crd') },
    responses: { 204: { description: 'Removed' }, ...errorResponses },
  }),
  async (c) => {
    await removeCard(c.get('deps').db, signedInUser(c).user.id, c.req.valid('param').id);
    return c.body(null, 204);
  },
);

const appTags = ['Apps: cards'];
const appSecurity = [{ appToken: [] }];

/** A user's token: these routes act on one user's cards. */
function delegatedAccess(c: Parameters<typeof appAccess>[0]) {
  const access = appAccess(c);
  if (access.kind !== 'user' || !access.userId)
    throw new AppError('forbidden', 'This endpoint needs a user’s access token (authorization code flow).');
  return { ...access, userId: access.userId };
}

cardsRouter.openapi(
  createRoute({
    method: 'get',
    path: '/v1/cards',
    tags: appTags,
    security: appSecurity,
    summary: 'The user’s cards, as this app sees them',
    description:
      'With a user’s access token: the user’s live cards under this app’s own card ids (the same ids its ' +
      'webhooks carry). Two apps never see the same id for one card.',
    middleware: [requireAppToken] as const,
    request: { query: ListQuery },
    responses: {
      200: jsonResponse(listOf(AppCard, 'AppCardList'), 'A page of the cards, newest first'),
      ...errorResponses,
    },
  }),
  async (c) => {
    const deps = c.get('deps');
    const access = delegatedAccess(c);
    const { limit, starting_after } = c.req.valid('query');
    // The cursor is one of this app's own card ids: back to the platform id it stands for.
    const startingAfter =
      starting_after === undefined ? undefined : cardIdFromApp(deps.config, access.appId, starting_after);
    if (starting_after !== undefined && !startingAfter)
      throw invalidFields([{ path: 'query.starting_after', message: 'is not a card id from this API' }]);
    const page = await listCards(deps.db, access.userId, { limit, startingAfter });
    return c.json(
      presentPage(page, (row) => presentForApp(deps.config.secretsKey, access.appId, row)),
      200,
    );
  },
);

cardsRouter.openapi(
  createRoute({
    method: 'get',
    path: '/v1/cards/{id}',
    tags: appTags,
    security: appSecurity,
    summary: 'One card by this app’s card id',
    middleware: [requireAppToken] as const,
    request: { params: IdParam('crd') },
    responses: { 200: jsonResponse(AppCard, 'The card'), ...errorResponses },
  }),
  async (c) => {
    const deps = c.get('deps');
    const access = delegatedAccess(c);
    const card = await resolveAppCard(deps, access.appId, c.req.valid('param').id);
    if (!card || card.userId !== access.userId) throw notFound('card');
    return c.json(presentForApp(deps.config.secretsKey, access.appId, card), 200);
  },
);
