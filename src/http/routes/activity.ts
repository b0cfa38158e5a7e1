import { createRoute, z } from '@hono/zod-openapi';
import { CARD_SCHEMES } from '../../db/schema/index.ts';
import { EVENT_TYPES } from '../../lib/payments.ts';
import { ACTION_TYPES } from '../../rules/dsl.ts';
import { STATEFUL_REASONS, STATELESS_REASONS } from '../../rules/reasons.ts';
import { type ActivityEvent, listActivity, type NotFired, type TriggerRef } from '../../users/activity.ts';
import { requireUser, signedInUser } from '../middleware/user-auth.ts';
import { createRouter } from '../router.ts';
import {
  errorResponses,
  jsonResponse,
  ListQuery,
  listOf,
  pageQuery,
  presentPage,
  Timestamp,
} from '../schemas.ts';

const AppRef = z
  .object({ id: z.string().openapi({ example: 'app_01jh…' }), name: z.string() })
  .openapi('ActivityApp');

const TriggerRefSchema = z
  .object({
    id: z.string().openapi({ example: 'trg_01jh…' }),
    name: z.string(),
    version: z.number().int().openapi({ description: 'The trigger version the decision was made under' }),
  })
  .openapi('ActivityTrigger');

const Reward = z
  .union([
    z.object({ amount: z.number().int().openapi({ description: 'Minor units' }), currency: z.string() }),
    z.object({ points: z.number().int() }),
  ])
  .nullable()
  .openapi('ActivityReward', {
    description: 'Cashback in minor units of `currency`, points, or null for other actions',
  });

const FiredAction = z
  .object({
    id: z.string().openapi({ example: 'act_01jh…' }),
    app: AppRef,
    trigger: TriggerRefSchema,
    action: z.enum(ACTION_TYPES),
    reward: Reward,
    given_back: z
      .boolean()
      .openapi({ description: 'A reversal or full refund gave the redemption back: it no longer counts' }),
  })
  .openapi('ActivityFiredAction');

const NotFiredSchema = z
  .object({
    app: AppRef,
    trigger: TriggerRefSchema,
    reasons: z.array(z.enum([...STATELESS_REASONS, ...STATEFUL_REASONS])).min(1),
    progress: z
      .object({ have: z.number().int(), need: z.number().int() })
      .optional()
      .openapi({ description: 'For `not_nth_purchase`: this purchase was stamp `have` of `need`' }),
  })
  .openapi('ActivityNotFired');

const Activity = z
  .object({
    id: z.string().openapi({ example: 'evt_01jh…' }),
    object: z.literal('event'),
    type: z.enum(EVENT_TYPES),
    occurred_at: Timestamp,
    amount: z.number().int().openapi({ description: 'Minor units of `currency`' }),
    currency: z.string().openapi({ example: 'USD' }),
    merchant: z.object({
      name: z.string().nullable(),
      mcc: z.string().nullable(),
      city: z.string().nullable(),
      country: z.string().nullable(),
    }),
    card: z.object({ id: z.string(), last4: z.string(), scheme: z.enum(CARD_SCHEMES) }),
    fired: z.array(FiredAction),
    not_fired: z.array(NotFiredSchema),
  })
  .openapi('ActivityEvent');

const presentTrigger = (trigger: TriggerRef) => ({
  id: trigger.id,
  name: trigger.name,
  version: trigger.version,
});

const presentNotFired = (miss: NotFired): z.infer<typeof NotFiredSchema> => ({
  app: miss.app,
  trigger: presentTrigger(miss.trigger),
  reasons: miss.reasons,
  ...(miss.progress ? { progress: miss.progress } : {}),
});

const present = (event: ActivityEvent): z.infer<typeof Activity> => ({
  id: event.id,
  object: 'event',
  type: event.type,
  occurred_at: event.occurredAt.toISOString(),
  amount: event.amount,
  currency: event.currency,
  merchant: event.merchant,
  card: event.card,
  fired: event.fired.map((action) => ({
    id: action.id,
    app: action.app,
    trigger: presentTrigger(action.trigger),
    action: action.type,
    reward: action.reward,
    given_back: action.givenBack,
  })),
  not_fired: event.notFired.map(presentNotFired),
});

export const activityRouter = createRouter();

activityRouter.openapi(
  createRoute({
    method: 'get',
    path: '/v1/me/activity',
    tags: ['Cardholders: activity'],
    security: [{ sessionToken: [] }],
    summary: 'My events, what they fired and why triggers did not',
    description:
      'The events on my cards, newest received first. `fired`: the actions each purchase fired (app, trigger ' +
      'and the version it fired under, reward), kept after the app is disconnected. `not_fired`: for the apps ' +
      'I connect now (a disabled app is left out), their triggers that named the merchant, MID, MCC or merchant name but did not fire, with ' +
      'the machine reasons: limits, budgets and stamp cards as decided when the purchase was ingested (with ' +
      'stamp `progress`), other conditions as the trigger stands, if it stood so when the event arrived. ' +
      'Another app’s triggers never appear. A clearing of an authorized purchase, a refund and a reversal fire ' +
      'nothing: what the purchase fired is on its authorization. A `starting_after` that is not one of my ' +
      'events is a 422.',
    middleware: [requireUser] as const,
    request: { query: ListQuery },
    responses: {
      200: jsonResponse(listOf(Activity, 'ActivityList'), 'A page of my events, newest first'),
      ...errorResponses,
    },
  }),
  async (c) => {
    const page = await listActivity(c.get('deps'), signedInUser(c).user.id, pageQuery(c.req.valid('query')));
    return c.json(presentPage(page, present), 200);
  },
);
