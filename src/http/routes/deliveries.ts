import { createRoute, z } from '@hono/zod-openapi';
import { DELIVERY_STATUSES, type DeliveryAttemptRow, type DeliveryRow } from '../../db/schema/index.ts';
import {
  getDelivery,
  listDeliveries,
  REPLAY_MAX_DAYS,
  redeliver,
  replayDeliveries,
} from '../../deliveries/deliveries.ts';
import { Instant } from '../../rules/dsl.ts';
import { appAccess, requireAppOwnToken, requireAppToken } from '../middleware/app-auth.ts';
import { createRouter } from '../router.ts';
import { errorResponses, IdParam, jsonBody, jsonResponse, ListQuery, listOf, Timestamp } from '../schemas.ts';

const DAY_MS = 86_400_000;

const DeliveryAttempt = z
  .object({
    number: z.number().int().openapi({ description: 'Attempts are numbered from 1, across redeliveries' }),
    started_at: Timestamp,
    status_code: z.number().int().nullable().openapi({
      description:
        'What the endpoint answered; null when no answer came (timeout, refused connection or address)',
    }),
    latency_ms: z.number().int(),
    error: z.string().nullable(),
    response_excerpt: z.string().nullable().openapi({ description: 'The first 1 KiB of the response body' }),
  })
  .openapi('DeliveryAttempt');

const Delivery = z
  .object({
    id: z.string().openapi({ example: 'dlv_01jh…', description: 'Also the `webhook-id` of every attempt' }),
    object: z.literal('delivery'),
    type: z.string().openapi({ example: 'cashback.pending' }),
    status: z.enum(DELIVERY_STATUSES).openapi({
      description:
        '`pending` until the endpoint answers 2xx (`succeeded`) or the retries run out (`failed`); `cancelled` ' +
        "when the user revoked the app's grant or the app was disabled before it was sent",
    }),
    user_id: z.string().nullable(),
    attempt_count: z.number().int(),
    next_attempt_at: Timestamp.nullable().openapi({
      description: 'When the next attempt is due (pending only)',
    }),
    last_attempt_at: Timestamp.nullable(),
    completed_at: Timestamp.nullable(),
    created_at: Timestamp,
    payload: z.record(z.string(), z.unknown()).openapi({ description: 'The body POSTed, as sent' }),
  })
  .openapi('Delivery');

const DeliveryWithAttempts = Delivery.extend({ attempts: z.array(DeliveryAttempt) }).openapi(
  'DeliveryWithAttempts',
);

const ReplayRequest = z
  .strictObject({
    from: Instant.openapi({ description: 'Start of the range (included), by when the delivery was created' }),
    to: Instant.openapi({
      description: `End of the range (excluded), at most ${REPLAY_MAX_DAYS} days later`,
    }),
  })
  .superRefine(({ from, to }, ctx) => {
    const span = Date.parse(to) - Date.parse(from);
    if (!(span > 0)) ctx.addIssue({ code: 'custom', path: ['to'], message: 'must be after from' });
    else if (span > REPLAY_MAX_DAYS * DAY_MS)
      ctx.addIssue({
        code: 'custom',
        path: ['to'],
        message: `must be at most ${REPLAY_MAX_DAYS} days after from`,
      });
  })
  .openapi('DeliveryReplayRequest');

const present = (row: DeliveryRow): z.infer<typeof Delivery> => ({
  id: row.id,
  object: 'delivery',
  type: row.type,
  status: row.status,
  user_id: row.userId,
  attempt_count: row.attempts,
  next_attempt_at: row.status === 'pending' ? (row.nextAttemptAt?.toISOString() ?? null) : null,
  last_attempt_at: row.lastAttemptAt?.toISOString() ?? null,
  completed_at: row.completedAt?.toISOString() ?? null,
  created_at: row.createdAt.toISOString(),
  payload: row.payload as Record<string, unknown>,
});

const presentAttempt = (row: DeliveryAttemptRow): z.infer<typeof DeliveryAttempt> => ({
  number: row.attempt,
  started_at: row.startedAt.toISOString(),
  status_code: row.statusCode,
  latency_ms: row.latencyMs,
  error: row.error,
  response_excerpt: row.responseExcerpt,
});

const tags = ['Apps: deliveries'];
const security = [{ appToken: [] }];
const middleware = [requireAppToken, requireAppOwnToken('Deliveries')];
const userTokenRefused = {
  403: { ...errorResponses[401], description: "A user's token: deliveries take the app's own token" },
};
const sendAgainRefused = {
  409: { ...errorResponses[409], description: 'The endpoint is disabled until the operator enables it' },
};
const appIdOf = (c: Parameters<typeof appAccess>[0]) => appAccess(c).appId;

export const deliveriesRouter = createRouter();

deliveriesRouter.openapi(
  createRoute({
    method: 'get',
    path: '/v1/deliveries',
    tags,
    security,
    summary: "List the app's webhook deliveries, newest first",
    description: 'Every status unless `status` names one.',
    middleware,
    request: { query: ListQuery.extend({ status: z.enum(DELIVERY_STATUSES).optional() }) },
    responses: {
      200: jsonResponse(listOf(Delivery, 'DeliveryList'), 'A page of deliveries'),
      ...userTokenRefused,
      ...errorResponses,
    },
  }),
  async (c) => {
    const { limit, starting_after, status } = c.req.valid('query');
    const page = await listDeliveries(c.get('deps').db, {
      appId: appIdOf(c),
      limit,
      startingAfter: starting_after,
      status,
    });
    return c.json({ data: page.data.map(present), has_more: page.hasMore }, 200);
  },
);

deliveriesRouter.openapi(
  createRoute({
    method: 'get',
    path: '/v1/deliveries/{id}',
    tags,
    security,
    summary: 'Get a delivery and its attempts',
    description: "Every attempt with what the endpoint answered and how fast. Another app's delivery is 404.",
    middleware,
    request: { params: IdParam('dlv') },
    responses: {
      200: jsonResponse(DeliveryWithAttempts, 'The delivery'),
      ...userTokenRefused,
      ...errorResponses,
    },
  }),
  async (c) => {
    const found = await getDelivery(c.get('deps').db, { appId: appIdOf(c), id: c.req.valid('param').id });
    return c.json({ ...present(found.delivery), attempts: found.attempts.map(presentAttempt) }, 200);
  },
);

deliveriesRouter.openapi(
  createRoute({
    method: 'post',
    path: '/v1/deliveries/{id}/redeliver',
    tags,
    security,
    summary: 'Send a delivery again',
    description:
      'Whatever its status, the delivery is pending again and sent now with the same `webhook-id` (a retry ' +
      'waiting for its time is brought forward), then retried on the usual schedule. A delivery cancelled ' +
      'because the user revoked the grant is cancelled again.',
    middleware,
    request: { params: IdParam('dlv') },
    responses: {
      202: jsonResponse(Delivery, 'Queued'),
      ...userTokenRefused,
      ...sendAgainRefused,
      ...errorResponses,
    },
  }),
  async (c) => {
    const row = await redeliver(c.get('deps'), { appId: appIdOf(c), id: c.req.valid('param').id });
    return c.json(present(row), 202);
  },
);

deliveriesRouter.openapi(
  createRoute({
    method: 'post',
    path: '/v1/deliveries/replay',
    tags,
    security,
    summary: 'Send again the deliveries of a time range',
    description:
      `Every delivery created in [from, to) (at most ${REPLAY_MAX_DAYS} days) that succeeded or failed is sent ` +
      'again with its own `webhook-id`, as a redelivery is.',
    middleware,
    request: { body: jsonBody(ReplayRequest) },
    responses: {
      202: jsonResponse(
        z.object({ replayed: z.number().int() }).openapi('DeliveryReplay'),
        'Queued: how many deliveries',
      ),
      ...userTokenRefused,
      ...sendAgainRefused,
      ...errorResponses,
    },
  }),
  async (c) => {
    const { from, to } = c.req.valid('json');
    const replayed = await replayDeliveries(c.get('deps'), {
      appId: appIdOf(c),
      from: new Date(from),
      to: new Date(to),
    });
    return c.json({ replayed }, 202);
  },
);
