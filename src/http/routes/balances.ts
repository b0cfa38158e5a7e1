import { createRoute, z } from '@hono/zod-openapi';
import { REWARD_KINDS } from '../../db/schema/index.ts';
import { notFound } from '../../errors.ts';
import { appUserBalances, type Balance as BalanceRow, userBalances } from '../../ledger/balances.ts';
import { appAccess, requireAppToken } from '../middleware/app-auth.ts';
import { requireUser, signedInUser } from '../middleware/user-auth.ts';
import { createRouter } from '../router.ts';
import { errorResponses, jsonResponse } from '../schemas.ts';

const Amount = z.number().int();

const Balance = z
  .object({
    object: z.literal('balance'),
    app_id: z.string(),
    app_name: z.string(),
    kind: z.enum(REWARD_KINDS),
    unit: z
      .string()
      .openapi({ description: 'An ISO 4217 code for cashback, `points` for points', example: 'USD' }),
    currency: z
      .string()
      .optional()
      .openapi({ description: 'Cashback only: its ISO 4217 code (the same as `unit`)', example: 'USD' }),
    pending: Amount.openapi({
      description: 'Earned, not yet available (uncleared, or in its return period)',
    }),
    available: Amount.openapi({ description: 'Available to pay out (minor units, or points)' }),
    paid_out: Amount.openapi({ description: 'Paid out by the app so far' }),
  })
  .openapi('Balance');

const BalanceList = z.object({ data: z.array(Balance), has_more: z.boolean() }).openapi('BalanceList');

const present = (row: BalanceRow): z.infer<typeof Balance> => ({
  object: 'balance',
  app_id: row.appId,
  app_name: row.appName,
  kind: row.kind,
  unit: row.unit,
  ...(row.kind === 'cashback' ? { currency: row.unit } : {}),
  pending: row.pending,
  available: row.available,
  paid_out: row.paidOut,
});

const listOfBalances = (rows: BalanceRow[]) => ({ data: rows.map(present), has_more: false });

export const balancesRouter = createRouter();

balancesRouter.openapi(
  createRoute({
    method: 'get',
    path: '/v1/me/balances',
    tags: ['Cardholders: balances'],
    security: [{ sessionToken: [] }],
    summary: 'My points and cashback, per app',
    description:
      'One entry per app, kind (`points` or `cashback`) and unit: what is pending (authorized, or cleared and in ' +
      'its return period), available and paid out. Every entry is listed (`has_more` is always false).',
    middleware: [requireUser] as const,
    responses: { 200: jsonResponse(BalanceList, 'My balances'), ...errorResponses },
  }),
  async (c) => c.json(listOfBalances(await userBalances(c.get('deps').db, signedInUser(c).user.id)), 200),
);

balancesRouter.openapi(
  createRoute({
    method: 'get',
    path: '/v1/users/{user_id}/balances',
    tags: ['Apps: balances'],
    security: [{ appToken: [] }],
    summary: "A user's points and cashback with this app",
    description:
      "This app's balances only, for a user with a live grant to it; any other user is 404 (a user's token " +
      'reads its own user only).',
    middleware: [requireAppToken] as const,
    request: {
      params: z.object({
        user_id: z
          .string()
          .max(64)
          .openapi({ param: { name: 'user_id', in: 'path' }, example: 'usr_01jh…' }),
      }),
    },
    responses: { 200: jsonResponse(BalanceList, "The user's balances with this app"), ...errorResponses },
  }),
  async (c) => {
    const access = appAccess(c);
    const userId = c.req.valid('param').user_id;
    if (access.kind === 'user' && access.userId !== userId) throw notFound('user');
    return c.json(listOfBalances(await appUserBalances(c.get('deps').db, access.appId, userId)), 200);
  },
);
