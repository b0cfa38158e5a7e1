import { createRoute, z } from '@hono/zod-openapi';
import { ingestEvents } from '../../ingest/ingest.ts';
import { CardEventBatch, CardEventInput, IngestResult } from '../../ingest/schema.ts';
import { batchOf, envelopeOnlyHook, singleEventRejection } from '../ingest-envelope.ts';
import { processorOf, processorSecurity, requireProcessor } from '../middleware/processor-auth.ts';
import { createRouter } from '../router.ts';
import { errorResponses, jsonBody, jsonResponse } from '../schemas.ts';

// Validated here only as "a JSON object": each event is validated on its own by ingestEvents, so one bad
// event in a batch is rejected alone instead of failing the request. The document shows the real shapes.
const EventsRequest = z
  .record(z.string(), z.unknown(), { error: 'must be a JSON object: one event, or `{ "events": [...] }`' })
  .openapi({
    oneOf: [{ $ref: '#/components/schemas/CardEvent' }, { $ref: '#/components/schemas/CardEventBatch' }],
  });

const IngestResponse = z.object({ results: z.array(IngestResult) }).openapi('IngestResponse');

export const eventsRouter = createRouter();
eventsRouter.openAPIRegistry.register('CardEvent', CardEventInput);
eventsRouter.openAPIRegistry.register('CardEventBatch', CardEventBatch);
eventsRouter.openAPIRegistry.registerComponent('securitySchemes', 'processorApiKey', {
  type: 'http',
  scheme: 'bearer',
  description:
    'The processor `api_key`, AND a Standard Webhooks signature of the raw body with its `signing_secret`: ' +
    '`webhook-id`, `webhook-timestamp` (Unix seconds, within 5 minutes) and ' +
    '`webhook-signature: v1,<base64 HMAC-SHA256 of "id.timestamp.body">`.',
});

eventsRouter.openapi(
  createRoute({
    method: 'post',
    path: '/v1/events',
    tags: ['Processors: events'],
    security: processorSecurity,
    middleware: [requireProcessor] as const,
    summary: 'Push card events',
    description:
      'One event, or `{ "events": [...] }` with 1 to 1000. The signature is checked on the raw body before ' +
      'it is parsed. The answer comes only after the new events are committed. Per event: `accepted`, ' +
      '`duplicate` (this `id` was sent before; `event_id` is the original one, nothing happens twice) or ' +
      '`rejected` with its `errors` (only inside a batch: a single bad event is a 422). Events on cards ' +
      'nobody enrolled are `accepted` and counted, and nothing identifying the card is kept. Clearings, ' +
      'refunds and reversals are linked to their authorization by `original_id`, else by card, MID, ' +
      '`auth_code` (or amount) within 30 days; one arriving before its authorization is linked when it comes. ' +
      'A card number (any card’s, 12-19 Luhn-valid digits, whole or grouped, in any script’s digits) outside ' +
      '`card.pan` is refused in `merchant.name`, `city`, `region`, `postal_code`, `terminal_id` and `auth_code`, ' +
      'and kept only as a keyed hash (`hmac_…`, returned as `id`) in `id`, `original_id`, `merchant.mid` and `rrn`.',
    request: { body: jsonBody(EventsRequest) },
    responses: {
      200: jsonResponse(IngestResponse, 'One result per event, in request order'),
      ...errorResponses,
      403: {
        description: 'The processor is disabled',
        content: {
          'application/problem+json': {
            schema: errorResponses[401].content['application/problem+json'].schema,
          },
        },
      },
    },
  }),
  async (c) => {
    const body = c.req.valid('json');
    const batch = batchOf(body);
    const results = await ingestEvents(c.get('deps'), processorOf(c), batch ?? [body]);
    const rejection = batch ? null : singleEventRejection(results[0]!);
    if (rejection) throw rejection;
    return c.json({ results }, 200);
  },
  envelopeOnlyHook,
);
