import { createRoute, z } from '@hono/zod-openapi';
import type { MiddlewareHandler } from 'hono';
import { STRIPE_TOLERANCE_SECONDS } from '../../adapters/stripe-signature.ts';
import { authenticateStripeWebhook, ingestStripeEvent } from '../../ingest/from-stripe.ts';
import type { AppEnv } from '../env.ts';
import { createRouter } from '../router.ts';
import { errorResponses, jsonResponse } from '../schemas.ts';

const StripeWebhookReceipt = z
  .object({
    received: z.literal(true),
    status: z.enum(['accepted', 'duplicate', 'ignored']),
    stripe_event_id: z.string().nullable(),
    id: z
      .string()
      .nullable()
      .openapi({ description: 'The event id (`iauth_…` or `ipi_…`); null when ignored' }),
    event_id: z
      .string()
      .nullable()
      .openapi({ description: 'Our `evt_` id; the original one for a duplicate' }),
    actions: z.number().int(),
    reason: z.string().optional().openapi({ description: 'Why an event was ignored' }),
  })
  .openapi('StripeWebhookReceipt');

/** Verifies `Stripe-Signature` over the exact bytes Stripe sent, before anything parses them. */
const requireStripeSignature: MiddlewareHandler<AppEnv> = async (c, next) => {
  const processor = await authenticateStripeWebhook(
    c.get('deps'),
    c.req.param('processor_id') ?? '',
    c.req.header('stripe-signature'),
    await c.req.text(),
  );
  c.set('stripeProcessor', processor);
  await next();
};

export const stripeEventsRouter = createRouter();

stripeEventsRouter.openapi(
  createRoute({
    method: 'post',
    path: '/v1/events/stripe/{processor_id}',
    tags: ['Processors: events'],
    middleware: [requireStripeSignature] as const,
    summary: 'Receive Stripe Issuing webhooks',
    description: `The URL a processor gives Stripe (\`stripe_webhook_url\` on the processor). No bearer token: the request is authenticated by the \`Stripe-Signature\` header (\`t=…,v1=…\`, HMAC-SHA256 of \`t.body\` with the processor's \`stripe_endpoint_secret\`, set with POST/PATCH /v1/processors; any of several \`v1\` may match; timestamps more than ${STRIPE_TOLERANCE_SECONDS / 60} minutes off are refused). An unknown or disabled processor, one without a Stripe secret, and a bad signature all answer the same 401.

| Stripe event | event |
|---|---|
| \`issuing_authorization.created\` (approved) | \`authorization\`, id \`iauth_…\`, amount \`amount\` (or \`pending_request.amount\`) |
| \`issuing_transaction.created\`, type \`capture\` | \`clearing\`, id \`ipi_…\`, \`original_id\` the \`iauth_…\` |
| \`issuing_transaction.created\`, type \`refund\` | \`refund\`, id \`ipi_…\`, \`original_id\` the \`iauth_…\` when Stripe gives one |
| a declined authorization, any other type | acknowledged with \`status: "ignored"\` |

The Stripe card id (\`ic_…\`) is the card \`token\`: link it to the PAN once with \`POST /v1/card_tokens\`. \`merchant_data\`: \`network_id\` → MID, \`category_code\` → MCC, \`name\`, \`city\`, \`state\` → region, \`postal_code\`, \`country\`, \`terminal_id\`. Stripe's retries of one event are \`duplicate\` (stored once, acted on once).`,
    request: {
      params: z.object({
        processor_id: z
          .string()
          .max(64)
          .openapi({ param: { name: 'processor_id', in: 'path' }, example: 'prc_01jh…' }),
      }),
      headers: z.object({
        'stripe-signature': z
          .string()
          .optional()
          .openapi({ description: '`t=<unix>,v1=<hex>`, as Stripe sends it' }),
      }),
      body: {
        required: true,
        content: {
          'application/json': {
            schema: z.record(z.string(), z.unknown()).openapi({ description: 'A Stripe Event object' }),
          },
        },
      },
    },
    responses: {
      200: jsonResponse(StripeWebhookReceipt, 'Stored (or a duplicate, or acknowledged and ignored)'),
      ...errorResponses,
    },
  }),
  async (c) => {
    const processor = c.get('stripeProcessor');
    if (!processor) throw new Error('the Stripe route ran without requireStripeSignature');
    const outcome = await ingestStripeEvent(c.get('deps'), processor, c.req.valid('json'));
    if (outcome.status === 'ignored') {
      return c.json(
        {
          received: true as const,
          status: outcome.status,
          stripe_event_id: outcome.stripeEventId,
          id: null,
          event_id: null,
          actions: 0,
          reason: outcome.reason,
        },
        200,
      );
    }
    return c.json(
      {
        received: true as const,
        status: outcome.status,
        stripe_event_id: outcome.stripeEventId,
        id: outcome.id,
        event_id: outcome.eventId,
        actions: outcome.actions,
      },
      200,
    );
  },
);
