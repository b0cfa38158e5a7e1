import { createRoute, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { cardIdForApp, type PseudonymKey } from '../../cards/pseudonyms.ts';
import { CARD_SCHEMES, type CardScheme, type ReceiptRow } from '../../db/schema/index.ts';
import { type EffectOwner, getReceipt, listReceipts } from '../../effects/reads.ts';
import { AppError } from '../../errors.ts';
import type { AppEnv } from '../env.ts';
import { appAccess, requireAppToken, requireScope } from '../middleware/app-auth.ts';
import { requireUser, signedInUser } from '../middleware/user-auth.ts';
import { createRouter } from '../router.ts';
import {
  errorResponses,
  IdParam,
  jsonResponse,
  ListQuery,
  listOf,
  pageQuery,
  presentPage,
  Timestamp,
} from '../schemas.ts';

const Merchant = z
  .object({
    name: z.string().nullable(),
    mid: z.string().openapi({ description: 'The merchant id (MID) the processor sent' }),
    merchant_id: z
      .string()
      .nullable()
      .openapi({ description: 'The merchant (`mer_…`) the MID belongs to, when registered' }),
    mcc: z.string().nullable(),
    city: z.string().nullable(),
    region: z.string().nullable(),
    postal_code: z.string().nullable(),
    country: z.string().nullable(),
  })
  .openapi('ReceiptMerchant');

const Receipt = z
  .object({
    id: z.string().openapi({ example: 'rcp_01jh…' }),
    object: z.literal('receipt'),
    app_id: z.string().openapi({ description: 'The app whose trigger stored it' }),
    user_id: z.string(),
    event_id: z.string().openapi({ description: 'The purchase (its authorization, or a lone clearing)' }),
    card: z.object({
      id: z.string().openapi({
        description: 'The card: for the cardholder its own id, for an app that app’s own id for the card',
      }),
      last4: z.string(),
      scheme: z.enum(CARD_SCHEMES),
    }),
    merchant: Merchant,
    amount: z.number().int().openapi({ description: 'Minor units of `currency`' }),
    currency: z.string().openapi({ example: 'USD' }),
    occurred_at: Timestamp,
    local_time: z.string().openapi({
      description: 'The wall-clock time where the card was used, without zone',
      example: '2026-11-23T08:15:02',
    }),
    time_zone: z.string().nullable().openapi({
      description: 'The UTC offset of `local_time`, as stated by the processor or known for the merchant',
      example: '-08:00',
    }),
    created_at: Timestamp,
  })
  .openapi('Receipt');

const present = (row: ReceiptRow, cardId: string): z.infer<typeof Receipt> => ({
  id: row.id,
  object: 'receipt',
  app_id: row.appId,
  user_id: row.userId,
  event_id: row.eventId,
  card: { id: cardId, last4: row.cardLast4, scheme: row.cardScheme as CardScheme },
  merchant: row.merchant,
  amount: row.amount,
  currency: row.currency,
  occurred_at: row.occurredAt.toISOString(),
  local_time: row.localTime,
  time_zone: row.timeZone,
  created_at: row.createdAt.toISOString(),
});

export const receiptsRouter = createRouter();

const userTags = ['Cardholders: receipts and coupons'];
const userSecurity = [{ sessionToken: [] }];

receiptsRouter.openapi(
  createRoute({
    method: 'get',
    path: '/v1/me/receipts',
    tags: userTags,
    security: userSecurity,
    summary: 'My receipts',
    description: 'The digital receipts the apps I connected stored of my purchases, newest first.',
    middleware: [requireUser] as const,
    request: { query: ListQuery },
    responses: {
      200: jsonResponse(listOf(Receipt, 'ReceiptList'), 'A page of my receipts, newest first'),
      ...errorResponses,
    },
  }),
  async (c) => {
    const owner = { userId: signedInUser(c).user.id };
    const page = await listReceipts(c.get('deps').db, owner, pageQuery(c.req.valid('query')));
    return c.json(
      presentPage(page, (row) => present(row, row.cardId)),
      200,
    );
  },
);

receiptsRouter.openapi(
  createRoute({
    method: 'get',
    path: '/v1/me/receipts/{id}',
    tags: userTags,
    security: userSecurity,
    summary: 'One of my receipts',
    description: 'Another user’s receipt is 404, like an unknown id.',
    middleware: [requireUser] as const,
    request: { params: IdParam('rcp') },
    responses: { 200: jsonResponse(Receipt, 'The receipt'), ...errorResponses },
  }),
  async (c) => {
    const owner = { userId: signedInUser(c).user.id };
    const row = await getReceipt(c.get('deps').db, owner, c.req.valid('param').id);
    return c.json(present(row, row.cardId), 200);
  },
);

/**
 * Whose effects an app token reads: the app's own token, all the app's; a token on a user's behalf, only that
 * user's. Another app's are never visible.
 */
export function appOwner(c: Context<AppEnv>): EffectOwner {
  const access = appAccess(c);
  if (access.kind === 'app') return { appId: access.appId };
  // A user's token always names its user; without one it must not widen to every user of the app.
  if (!access.userId) throw new AppError('unauthorized', 'The access token names no user.');
  return { appId: access.appId, userId: access.userId };
}

/** The receipt as an app sees it: the card under the app's own id for it, never the platform's. */
const presentForApp = (key: PseudonymKey, row: ReceiptRow) =>
  present(row, cardIdForApp(key, row.appId, row.cardId));

const appTags = ['Apps: receipts and coupons'];
const appSecurity = [{ appToken: ['receipts'] }];
const appMiddleware = [requireAppToken, requireScope('receipts')];
const appDescription =
  'With the app’s own token, the receipts its triggers stored for users who grant it now (not those who revoked); ' +
  'with a token on a user’s behalf, that user’s. ' +
  'The token needs the `receipts` scope. The card id is this app’s own id for the card, as in its webhooks.';

receiptsRouter.openapi(
  createRoute({
    method: 'get',
    path: '/v1/receipts',
    tags: appTags,
    security: appSecurity,
    summary: 'The app’s receipts',
    description: `${appDescription} Newest first.`,
    middleware: appMiddleware,
    request: { query: ListQuery },
    responses: {
      200: jsonResponse(listOf(Receipt, 'AppReceiptList'), 'A page of receipts, newest first'),
      ...errorResponses,
    },
  }),
  async (c) => {
    const page = await listReceipts(c.get('deps').db, appOwner(c), pageQuery(c.req.valid('query')));
    return c.json(
      presentPage(page, (row) => presentForApp(c.get('deps').config, row)),
      200,
    );
  },
);

receiptsRouter.openapi(
  createRoute({
    method: 'get',
    path: '/v1/receipts/{id}',
    tags: appTags,
    security: appSecurity,
    summary: 'One of the app’s receipts',
    description: `${appDescription} Another app’s receipt is 404, like an unknown id.`,
    middleware: appMiddleware,
    request: { params: IdParam('rcp') },
    responses: { 200: jsonResponse(Receipt, 'The receipt'), ...errorResponses },
  }),
  async (c) => {
    const row = await getReceipt(c.get('deps').db, appOwner(c), c.req.valid('param').id);
    return c.json(presentForApp(c.get('deps').config, row), 200);
  },
);
