import { createRoute, z } from '@hono/zod-openapi';
import { linkCardToken } from '../../ingest/card-tokens.ts';
import { Pan, CardToken as Token } from '../../ingest/schema.ts';
import { processorOf, processorSecurity, requireProcessor } from '../middleware/processor-auth.ts';
import { createRouter } from '../router.ts';
import { errorResponses, jsonBody, jsonResponse, Timestamp } from '../schemas.ts';

const CardTokenLink = z
  .object({
    token: Token.openapi({
      description: "The processor's own stable card reference (e.g. a Stripe `ic_…` id)",
    }),
    pan: Pan.openapi({
      description: 'Fingerprinted with CARD_FINGERPRINT_KEY and dropped: never stored, logged or returned',
    }),
  })
  .strict()
  .openapi('CardTokenLink');

const CardToken = z
  .object({ object: z.literal('card_token'), token: z.string(), linked_at: Timestamp })
  .openapi('CardToken');

export const cardTokensRouter = createRouter();

cardTokensRouter.openapi(
  createRoute({
    method: 'post',
    path: '/v1/card_tokens',
    tags: ['Processors: events'],
    security: processorSecurity,
    middleware: [requireProcessor] as const,
    summary: 'Link a card token to a PAN',
    description:
      'Links the processor\'s card `token` to a PAN once, so events that carry only `card: {"token"}` resolve to ' +
      'the enrolled card (also one enrolled later). Only a keyed fingerprint of the PAN is kept. Naturally ' +
      'idempotent: the same token and PAN again answer 200; the same token with a different PAN is a 409. ' +
      'Authenticated like `POST /v1/events` (api key and Standard Webhooks signature of the raw body).',
    request: { body: jsonBody(CardTokenLink) },
    responses: {
      201: jsonResponse(CardToken, 'Linked'),
      200: jsonResponse(CardToken, 'Already linked to this PAN (nothing changed)'),
      ...errorResponses,
    },
  }),
  async (c) => {
    const body = c.req.valid('json');
    const deps = c.get('deps');
    const linked = await linkCardToken(deps, processorOf(c).id, body);
    return c.json(
      { object: 'card_token' as const, token: linked.token, linked_at: linked.linkedAt.toISOString() },
      linked.created ? 201 : 200,
    );
  },
);
