import { createRoute, z } from '@hono/zod-openapi';
import type { Config } from '../../config.ts';
import type { ProcessorRow } from '../../db/schema/index.ts';
import {
  createProcessor,
  getProcessor,
  listProcessors,
  rotateSigningSecret,
  stripeEndpointUrl,
  updateProcessor,
} from '../../processors/processors.ts';
import { createdIdempotently } from '../idempotent.ts';
import { operatorRoutes } from '../operator-routes.ts';
import { createOperatorRouter } from '../router.ts';
import {
  errorResponses,
  IdParam,
  jsonResponse,
  pageQuery,
  presentPage,
  Status,
  Timestamp,
} from '../schemas.ts';

const Name = z.string().trim().min(1).max(200);
const StripeSecret = z
  .string()
  .regex(/^whsec_[A-Za-z0-9+/=_-]{8,200}$/, 'must be a Stripe endpoint secret (whsec_…)');

const Processor = z
  .object({
    id: z.string().openapi({ example: 'prc_01jh2x…' }),
    object: z.literal('processor'),
    name: z.string(),
    status: Status,
    api_key_last4: z.string(),
    has_stripe_endpoint_secret: z.boolean(),
    stripe_webhook_url: z.string().openapi({ description: 'The URL to give Stripe for Issuing webhooks' }),
    previous_signing_secret_expires_at: Timestamp.nullable(),
    created_at: Timestamp,
    updated_at: Timestamp,
  })
  .openapi('Processor');

const ProcessorWithSecrets = Processor.extend({
  api_key: z.string().openapi({ description: 'Shown once. Send as `Authorization: Bearer <api_key>`.' }),
  signing_secret: z.string().openapi({ description: 'Shown once. Standard Webhooks secret (`whsec_…`).' }),
}).openapi('ProcessorWithSecrets');

const present = (row: ProcessorRow, config: Config): z.infer<typeof Processor> => ({
  id: row.id,
  object: 'processor',
  name: row.name,
  status: row.status,
  api_key_last4: row.apiKeyLast4,
  has_stripe_endpoint_secret: row.stripeEndpointSecretSealed !== null,
  stripe_webhook_url: stripeEndpointUrl(config, row.id),
  previous_signing_secret_expires_at: row.previousSigningSecretExpiresAt?.toISOString() ?? null,
  created_at: row.createdAt.toISOString(),
  updated_at: row.updatedAt.toISOString(),
});

const routes = operatorRoutes('/v1/processors', Processor, { name: 'Processor', idPrefix: 'prc' });

export const processorsRouter = createOperatorRouter('/v1/processors');

processorsRouter.openapi(
  routes.register({
    summary: 'Register a card processor',
    body: z.object({ name: Name, stripe_endpoint_secret: StripeSecret.optional() }).strict(),
    created: ProcessorWithSecrets,
    createdDescription: 'Created; secrets shown once',
  }),
  async (c) => {
    const body = c.req.valid('json');
    const deps = c.get('deps');
    return createdIdempotently(c, 'admin', body, async (db) => {
      const created = await createProcessor(
        { ...deps, db },
        { name: body.name, stripeEndpointSecret: body.stripe_endpoint_secret },
      );
      return {
        ...present(created.processor, deps.config),
        api_key: created.apiKey,
        signing_secret: created.signingSecret,
      };
    });
  },
);

processorsRouter.openapi(routes.list({ summary: 'List processors, newest first' }), async (c) => {
  const deps = c.get('deps');
  const page = await listProcessors(deps.db, pageQuery(c.req.valid('query')));
  return c.json(
    presentPage(page, (row) => present(row, deps.config)),
    200,
  );
});

processorsRouter.openapi(routes.get({ summary: 'Get a processor' }), async (c) => {
  const deps = c.get('deps');
  return c.json(present(await getProcessor(deps.db, c.req.valid('param').id), deps.config), 200);
});

processorsRouter.openapi(
  routes.update({
    summary: 'Update or disable a processor',
    description: 'A disabled processor is refused at ingestion. `stripe_endpoint_secret: null` removes it.',
    body: z
      .object({
        name: Name.optional(),
        status: Status.optional(),
        stripe_endpoint_secret: StripeSecret.nullable().optional(),
      })
      .strict(),
  }),
  async (c) => {
    const body = c.req.valid('json');
    const deps = c.get('deps');
    const row = await updateProcessor(deps, c.req.valid('param').id, {
      name: body.name,
      status: body.status,
      stripeEndpointSecret: body.stripe_endpoint_secret,
    });
    return c.json(present(row, deps.config), 200);
  },
);

processorsRouter.openapi(
  createRoute({
    method: 'post',
    path: '/v1/processors/{id}/rotate_secret',
    tags: ['Operator: processors'],
    security: [{ adminToken: [] }],
    summary: 'Rotate the signing secret',
    description:
      'Returns a new `signing_secret` (shown once). The previous secret keeps verifying for ' +
      '`expire_previous_in_seconds` (default 0: refused at once; at most 7 days) so a processor can roll without gaps.',
    request: {
      params: IdParam('prc'),
      body: {
        required: false,
        content: {
          'application/json': {
            schema: z
              .object({ expire_previous_in_seconds: z.number().int().min(0).max(604_800).default(0) })
              .strict(),
          },
        },
      },
    },
    responses: {
      200: jsonResponse(
        Processor.extend({ signing_secret: z.string() }).openapi('ProcessorWithNewSecret'),
        'The new secret, shown once',
      ),
      ...errorResponses,
    },
  }),
  async (c) => {
    const body = c.req.valid('json') as { expire_previous_in_seconds?: number };
    const deps = c.get('deps');
    const rotated = await rotateSigningSecret(
      deps,
      c.req.valid('param').id,
      body.expire_previous_in_seconds ?? 0,
    );
    return c.json({ ...present(rotated.processor, deps.config), signing_secret: rotated.signingSecret }, 200);
  },
);
