import { z } from '@hono/zod-openapi';
import { CountryCode } from '../../lib/country.ts';
import {
  createMerchant,
  getMerchant,
  listMerchants,
  type Merchant,
  updateMerchant,
} from '../../merchants/merchants.ts';
import { createdIdempotently } from '../idempotent.ts';
import { operatorRoutes } from '../operator-routes.ts';
import { createOperatorRouter } from '../router.ts';
import { pageQuery, presentPage, Status, Timestamp } from '../schemas.ts';

/** Any IANA zone ICU knows, aliases included (`Intl.supportedValuesOf` lists only canonical names). */
function isTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: tz });
    return /^[A-Za-z_]+(\/[A-Za-z0-9_+-]+)*$/.test(tz);
  } catch {
    return false;
  }
}

const Name = z.string().trim().min(1).max(200);
const Mid = z
  .string()
  .regex(/^[A-Za-z0-9 -]{1,15}$/, 'must be 1 to 15 letters, digits, spaces or dashes (ISO 8583 DE42)');
const Mids = z
  .array(Mid)
  .min(1)
  .max(1000)
  .refine((mids) => new Set(mids).size === mids.length, 'must not repeat a MID')
  .openapi({
    description:
      'A MID holding a card number is stored and shown as its keyed hash (`hmac_…`), as events store it',
  });
const Mcc = z.string().regex(/^\d{4}$/, 'must be a 4-digit merchant category code');
const TimeZone = z.string().refine(isTimeZone, 'must be an IANA time zone such as America/Los_Angeles');

const MerchantSchema = z
  .object({
    id: z.string().openapi({ example: 'mer_01jh…' }),
    object: z.literal('merchant'),
    name: z.string(),
    mids: z.array(z.string()),
    mcc: z.string().nullable(),
    country: z.string().nullable(),
    timezone: z.string().nullable(),
    status: Status,
    created_at: Timestamp,
    updated_at: Timestamp,
  })
  .openapi('Merchant');

const present = (m: Merchant): z.infer<typeof MerchantSchema> => ({
  id: m.id,
  object: 'merchant',
  name: m.name,
  mids: m.mids,
  mcc: m.mcc,
  country: m.country,
  timezone: m.timezone,
  status: m.status,
  created_at: m.createdAt.toISOString(),
  updated_at: m.updatedAt.toISOString(),
});

const routes = operatorRoutes('/v1/merchants', MerchantSchema, { name: 'Merchant', idPrefix: 'mer' });

export const merchantsRouter = createOperatorRouter('/v1/merchants');

merchantsRouter.openapi(
  routes.register({
    summary: 'Register a merchant brand and its MIDs',
    description: 'A MID belongs to one merchant; claiming a MID another merchant holds is 409.',
    body: z
      .object({
        name: Name,
        mids: Mids,
        mcc: Mcc.optional(),
        country: CountryCode.optional(),
        timezone: TimeZone.optional(),
      })
      .strict(),
    created: MerchantSchema,
    createdDescription: 'Created',
  }),
  async (c) => {
    const body = c.req.valid('json');
    return createdIdempotently(c, 'admin', body, async (db) =>
      present(await createMerchant(db, body, c.get('deps').cardKeys)),
    );
  },
);

merchantsRouter.openapi(routes.list({ summary: 'List merchants, newest first' }), async (c) => {
  const page = await listMerchants(c.get('deps').db, pageQuery(c.req.valid('query')));
  return c.json(presentPage(page, present), 200);
});

merchantsRouter.openapi(routes.get({ summary: 'Get a merchant' }), async (c) =>
  c.json(present(await getMerchant(c.get('deps').db, c.req.valid('param').id)), 200),
);

merchantsRouter.openapi(
  routes.update({
    summary: 'Update or disable a merchant',
    description: '`mids` replaces the whole set. `null` clears `mcc`, `country` or `timezone`.',
    body: z
      .object({
        name: Name.optional(),
        mids: Mids.optional(),
        mcc: Mcc.nullable().optional(),
        country: CountryCode.nullable().optional(),
        timezone: TimeZone.nullable().optional(),
        status: Status.optional(),
      })
      .strict(),
  }),
  async (c) => {
    const deps = c.get('deps');
    const merchant = await updateMerchant(
      deps.db,
      c.req.valid('param').id,
      c.req.valid('json'),
      deps.cardKeys,
    );
    return c.json(present(merchant), 200);
  },
);
