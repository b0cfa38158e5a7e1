import { createRoute, z } from '@hono/zod-openapi';
import type { CouponRow } from '../../db/schema/index.ts';
import { getCoupon, listCoupons } from '../../effects/reads.ts';
import { requireAppToken, requireScope } from '../middleware/app-auth.ts';
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
import { appOwner } from './receipts.ts';

const Coupon = z
  .object({
    id: z.string().openapi({ example: 'cpn_01jh…' }),
    object: z.literal('coupon'),
    app_id: z.string().openapi({ description: 'The app whose trigger issued it' }),
    user_id: z.string(),
    code: z.string().openapi({
      description: 'The trigger’s `code_prefix`, a dash and 16 random Crockford base32 characters',
      example: 'COFFEE-7Q2M9X4KD3HZ0TPW',
    }),
    value: z
      .object({ amount: z.number().int().openapi({ description: 'Minor units' }), currency: z.string() })
      .nullable(),
    expires_at: Timestamp.nullable(),
    created_at: Timestamp,
  })
  .openapi('Coupon');

const present = (row: CouponRow): z.infer<typeof Coupon> => ({
  id: row.id,
  object: 'coupon',
  app_id: row.appId,
  user_id: row.userId,
  code: row.code,
  value:
    row.valueAmount !== null && row.valueCurrency !== null
      ? { amount: row.valueAmount, currency: row.valueCurrency }
      : null,
  expires_at: row.expiresAt?.toISOString() ?? null,
  created_at: row.createdAt.toISOString(),
});

export const couponsRouter = createRouter();

couponsRouter.openapi(
  createRoute({
    method: 'get',
    path: '/v1/me/coupons',
    tags: ['Cardholders: receipts and coupons'],
    security: [{ sessionToken: [] }],
    summary: 'My coupons',
    description: 'The coupons the apps I connected issued me, newest first (expired ones too).',
    middleware: [requireUser] as const,
    request: { query: ListQuery },
    responses: {
      200: jsonResponse(listOf(Coupon, 'CouponList'), 'A page of my coupons, newest first'),
      ...errorResponses,
    },
  }),
  async (c) => {
    const owner = { userId: signedInUser(c).user.id };
    const page = await listCoupons(c.get('deps').db, owner, pageQuery(c.req.valid('query')));
    return c.json(presentPage(page, present), 200);
  },
);

const appTags = ['Apps: receipts and coupons'];
const appSecurity = [{ appToken: ['coupons'] }];
const appMiddleware = [requireAppToken, requireScope('coupons')];
const appDescription =
  'With the app’s own token, the coupons its triggers issued to users who grant it now (not those who revoked); ' +
  'with a token on a user’s behalf, that user’s. ' +
  'The token needs the `coupons` scope.';

couponsRouter.openapi(
  createRoute({
    method: 'get',
    path: '/v1/coupons',
    tags: appTags,
    security: appSecurity,
    summary: 'The app’s coupons',
    description: `${appDescription} Newest first.`,
    middleware: appMiddleware,
    request: { query: ListQuery },
    responses: {
      200: jsonResponse(listOf(Coupon, 'AppCouponList'), 'A page of coupons, newest first'),
      ...errorResponses,
    },
  }),
  async (c) => {
    const page = await listCoupons(c.get('deps').db, appOwner(c), pageQuery(c.req.valid('query')));
    return c.json(presentPage(page, present), 200);
  },
);

couponsRouter.openapi(
  createRoute({
    method: 'get',
    path: '/v1/coupons/{id}',
    tags: appTags,
    security: appSecurity,
    summary: 'One of the app’s coupons',
    description: `${appDescription} Another app’s coupon is 404, like an unknown id.`,
    middleware: appMiddleware,
    request: { params: IdParam('cpn') },
    responses: { 200: jsonResponse(Coupon, 'The coupon'), ...errorResponses },
  }),
  async (c) => {
    const row = await getCoupon(c.get('deps').db, appOwner(c), c.req.valid('param').id);
    return c.json(present(row), 200);
  },
);
