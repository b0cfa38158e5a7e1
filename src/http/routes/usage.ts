import { createRoute, z } from '@hono/zod-openapi';
import { getApp } from '../../apps/apps.ts';
import { appUsage, MONTH_PATTERN, type Usage as UsageResult } from '../../ledger/usage.ts';
import { ACTION_TYPES } from '../../rules/dsl.ts';
import { requireAdmin } from '../middleware/admin.ts';
import { appAccess, requireAppOwnToken, requireAppToken } from '../middleware/app-auth.ts';
import { createRouter } from '../router.ts';
import { errorResponses, IdParam, jsonResponse } from '../schemas.ts';

const MonthQuery = z.object({
  month: z
    .string()
    .regex(MONTH_PATTERN, 'must be a month as YYYY-MM')
    .openapi({ description: 'A calendar month, UTC', example: '2026-11' }),
});

const Usage = z
  .object({
    object: z.literal('usage'),
    app_id: z.string(),
    month: z.string(),
    actions: z.object({
      total: z.number().int(),
      by_type: z.object(Object.fromEntries(ACTION_TYPES.map((type) => [type, z.number().int()]))),
    }),
    fees: z
      .array(z.object({ amount: z.number().int(), currency: z.string() }))
      .openapi({ description: 'The platform fee accrued in the month, per currency' }),
  })
  .openapi('Usage');

const present = (usage: UsageResult) => ({
  object: 'usage' as const,
  app_id: usage.appId,
  month: usage.month,
  actions: { total: usage.actions.total, by_type: usage.actions.byType },
  fees: usage.fees,
});

const description =
  'The actions the app’s triggers fired in the month (cancelled ones, which did nothing, not counted), by type, ' +
  'and the platform fee they accrued, per currency. Months are UTC.';

export const usageRouter = createRouter();

// Before `/v1/apps/{id}/usage`, which would take `me` for an id.
usageRouter.openapi(
  createRoute({
    method: 'get',
    path: '/v1/apps/me/usage',
    tags: ['Apps: usage'],
    security: [{ appToken: [] }],
    summary: 'My usage in a month',
    description: `${description} Takes the app's own token (client_credentials).`,
    middleware: [requireAppToken, requireAppOwnToken('Usage reports')] as const,
    request: { query: MonthQuery },
    responses: { 200: jsonResponse(Usage, 'The month’s usage'), ...errorResponses },
  }),
  async (c) =>
    c.json(present(await appUsage(c.get('deps').db, appAccess(c).appId, c.req.valid('query').month)), 200),
);

usageRouter.openapi(
  createRoute({
    method: 'get',
    path: '/v1/apps/{id}/usage',
    tags: ['Operator: apps'],
    security: [{ adminToken: [] }],
    summary: 'An app’s usage in a month (operator)',
    description,
    middleware: [requireAdmin] as const,
    request: { params: IdParam('app'), query: MonthQuery },
    responses: { 200: jsonResponse(Usage, 'The month’s usage'), ...errorResponses },
  }),
  async (c) => {
    const { db } = c.get('deps');
    const app = await getApp(db, c.req.valid('param').id);
    return c.json(present(await appUsage(db, app.id, c.req.valid('query').month)), 200);
  },
);
