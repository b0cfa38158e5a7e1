import { createRoute, z } from '@hono/zod-openapi';
import { createPayout, presentPayout } from '../../ledger/payouts.ts';
import { CurrencyCode } from '../../lib/currency.ts';
import { createdIdempotently } from '../idempotent.ts';
import { appAccess, requireAppOwnToken, requireAppToken } from '../middleware/app-auth.ts';
import { createRouter } from '../router.ts';
import { errorResponses, IdempotencyHeader, jsonBody, jsonResponse, Timestamp } from '../schemas.ts';

const Payout = z
  .object({
    id: z.string().openapi({ example: 'pyt_01jh…' }),
    object: z.literal('payout'),
    user_id: z.string(),
    amount: z.number().int(),
    currency: z.string(),
    created_at: Timestamp,
  })
  .openapi('Payout');

export const payoutsRouter = createRouter();

payoutsRouter.openapi(
  createRoute({
    method: 'post',
    path: '/v1/payouts',
    tags: ['Apps: payouts'],
    security: [{ appToken: [] }],
    summary: "Record a payout of a user's available cashback",
    description:
      'The app paid the user (by its own means) and moves that much of their available cashback with it to ' +
      '`paid_out`; a `payout.created` webhook follows. The user must have granted the app (a grant since revoked ' +
      'counts), else 404. More than is available: 422 `insufficient_balance` (with `available`). Takes the ' +
      "app's own token (client_credentials).",
    middleware: [requireAppToken, requireAppOwnToken('Payouts')] as const,
    request: {
      headers: IdempotencyHeader,
      body: jsonBody(
        z
          .object({
            user_id: z.string().min(1).max(64),
            amount: z
              .number()
              .int()
              .min(1)
              .max(Number.MAX_SAFE_INTEGER)
              .openapi({ description: 'Minor units' }),
            currency: CurrencyCode,
          })
          .strict(),
      ),
    },
    responses: { 201: jsonResponse(Payout, 'Recorded'), ...errorResponses },
  }),
  async (c) => {
    const body = c.req.valid('json');
    const deps = c.get('deps');
    const appId = appAccess(c).appId;
    const recorded: string[] = [];
    const response = await createdIdempotently(c, appId, body, async (db) => {
      const { payout, deliveryId } = await createPayout(db, {
        appId,
        userId: body.user_id,
        amount: body.amount,
        currency: body.currency,
      });
      recorded.push(deliveryId);
      return presentPayout(payout);
    });
    // Committed by now (a replay records nothing).
    deps.dispatcher.deliveriesRecorded(recorded);
    return response;
  },
);
