// What one of the app's triggers would have done (backtest) and has done (stats).
import { createRoute, z } from '@hono/zod-openapi';
import { EVENT_TYPES_THAT_FIRE, Instant, TRIGGER_STATUSES } from '../../rules/dsl.ts';
import { STATEFUL_REASONS, STATELESS_REASONS } from '../../rules/reasons.ts';
import { BACKTEST_MAX_DAYS, BACKTEST_SAMPLE_SIZE, backtestTrigger } from '../../triggers/backtest.ts';
import type { RewardTotals } from '../../triggers/reward-totals.ts';
import { triggerStats } from '../../triggers/stats.ts';
import { createRouter } from '../router.ts';
import { errorResponses, IdParam, jsonBody, jsonResponse, ProblemSchema, Timestamp } from '../schemas.ts';
import { appIdOf, triggerRouteAccess, userTokenRefused } from './triggers.ts';

const DAY_MS = 86_400_000;

const BacktestRequest = z
  .strictObject({
    from: Instant.openapi({ description: 'Start of the range (included), by when the purchase occurred' }),
    to: Instant.openapi({
      description: `End of the range (excluded), at most ${BACKTEST_MAX_DAYS} days later`,
    }),
  })
  .superRefine(({ from, to }, ctx) => {
    const span = Date.parse(to) - Date.parse(from);
    if (!(span > 0)) ctx.addIssue({ code: 'custom', path: ['to'], message: 'must be after from' });
    else if (span > BACKTEST_MAX_DAYS * DAY_MS)
      ctx.addIssue({
        code: 'custom',
        path: ['to'],
        message: `must be at most ${BACKTEST_MAX_DAYS} days after from`,
      });
  })
  .openapi('TriggerBacktestRequest');

const Money = z.object({ amount: z.number().int(), currency: z.string() });
const RewardFields = {
  reward: z.object({ amount: z.number().int(), currency: z.string().nullable() }).openapi({
    description:
      "Cashback in minor units of the trigger's reward currency: its budget's, else the currency most firings " +
      'paid cashback in (else the one currency its match names; null when none). Other currencies are never ' +
      'added in: they are listed in `reward_other_currencies`.',
  }),
  reward_other_currencies: z.array(Money).openapi({
    description: 'Cashback paid in currencies other than `reward.currency`, largest first (usually empty)',
  }),
  points: z.number().int().openapi({ description: 'Points awarded, in total' }),
};
const presentReward = (totals: RewardTotals) => ({
  reward: totals.reward,
  reward_other_currencies: totals.otherCurrencies,
});

const NotFiredReason = z.enum([...STATELESS_REASONS, ...STATEFUL_REASONS]);

const TriggerBacktest = z
  .object({
    object: z.literal('trigger_backtest'),
    trigger_id: z.string(),
    version: z.number().int().openapi({ description: 'The version replayed: the current one' }),
    from: Timestamp,
    to: Timestamp,
    events_scanned: z
      .number()
      .int()
      .openapi({
        description:
          'Purchases scanned: authorizations, and clearings with no authorization (a purchase counts once), of ' +
          'the users who grant the app today, those whose grant lacks the scope the action needs included ' +
          '(each counted under `not_fired.scope_not_granted` alone). Refunds and reversals are not replayed and ' +
          'not counted.',
      }),
    would_fire: z.number().int(),
    ...RewardFields,
    not_fired: z.partialRecord(NotFiredReason, z.number().int()).openapi({
      description:
        'Each scanned purchase that would not have fired, under one reason. A purchase of a user whose grant ' +
        'lacks the scope the action needs is `scope_not_granted` and nothing else is evaluated for it; any ' +
        "other under its first reason: the conditions in the contract's order, then first or nth purchase and " +
        'the limits in the order per_card, per_user_per_day, total_redemptions, budget. Reasons with no ' +
        'purchase are left out.',
    }),
    sample: z
      .array(
        z.object({
          event_id: z.string(),
          type: z.enum(EVENT_TYPES_THAT_FIRE),
          occurred_at: Timestamp,
          amount: z.number().int(),
          currency: z.string(),
          merchant: z.object({ name: z.string().nullable(), mcc: z.string().nullable() }),
          card: z.object({ id: z.string().openapi({ description: "The app's own id for the card" }) }),
          reward: Money.nullable().openapi({ description: 'Cashback, for a cashback trigger' }),
          points: z.number().int().nullable().openapi({ description: 'Points, for a points trigger' }),
        }),
      )
      .openapi({ description: `The first ${BACKTEST_SAMPLE_SIZE} purchases that would have fired` }),
    complete: z.boolean().openapi({
      description:
        'False when the time limit stopped the scan: the figures then cover the purchases before `scanned_to`',
    }),
    scanned_to: Timestamp.openapi({
      description: 'Every purchase that occurred from `from` up to (excluded) this instant was scanned',
    }),
  })
  .openapi('TriggerBacktest');

const TriggerStats = z
  .object({
    object: z.literal('trigger_stats'),
    trigger_id: z.string(),
    version: z.number().int(),
    status: z.enum(TRIGGER_STATUSES),
    fires: z.number().int().openapi({ description: 'Purchases that fired it and still count' }),
    given_back: z.number().int().openapi({ description: 'Firings a reversal or full refund took back' }),
    redemptions: z.number().int().openapi({ description: 'The count `limits.total_redemptions` is held to' }),
    redemptions_left: z.number().int().nullable().openapi({ description: 'Null without total_redemptions' }),
    ...RewardFields,
    budget: z
      .object({
        amount: z.number().int(),
        currency: z.string(),
        spent: z.number().int().openapi({ description: 'Net of what refunds and reversals gave back' }),
        left: z.number().int(),
      })
      .nullable(),
  })
  .openapi('TriggerStats');

export const triggerReportsRouter = createRouter();

triggerReportsRouter.openapi(
  createRoute({
    method: 'post',
    path: '/v1/triggers/{id}/backtest',
    ...triggerRouteAccess,
    summary: 'What a trigger would have done',
    description:
      'Replays the trigger as it is now (a paused or archived one as if active) over the purchases that ' +
      `occurred in [from, to) (at most ${BACKTEST_MAX_DAYS} days) on the cards of the users who grant the app ` +
      'today, with the same evaluation as live ingestion, and its limits counted from zero over the range: no ' +
      'action, webhook, counter or reward comes of it. A purchase is its authorization, or its clearing when no ' +
      'authorization of it was seen; refunds and reversals are not replayed, so nothing is given back. The scan ' +
      'is time-bounded: past the limit it answers with what it scanned, `complete: false`. A process runs a ' +
      'few backtests at once (`BACKTEST_MAX_CONCURRENT`); beyond them, 503 `service_unavailable` with ' +
      '`Retry-After`. Another app’s trigger is 404.',
    request: { params: IdParam('trg'), body: jsonBody(BacktestRequest) },
    responses: {
      200: jsonResponse(TriggerBacktest, 'What it would have done'),
      ...userTokenRefused,
      ...errorResponses,
      503: {
        description: 'Too many backtests running; retry after `Retry-After` seconds',
        content: { 'application/problem+json': { schema: ProblemSchema } },
      },
    },
  }),
  async (c) => {
    const deps = c.get('deps');
    const { from, to } = c.req.valid('json');
    // Too many at once: a 503 whose problem carries Retry-After (src/http/problem.ts).
    const backtest = await backtestTrigger(deps, {
      appId: appIdOf(c),
      triggerId: c.req.valid('param').id,
      from: new Date(from),
      to: new Date(to),
    });
    return c.json(
      {
        object: 'trigger_backtest' as const,
        trigger_id: backtest.trigger.id,
        version: backtest.trigger.version,
        from: new Date(from).toISOString(),
        to: new Date(to).toISOString(),
        events_scanned: backtest.eventsScanned,
        would_fire: backtest.wouldFire,
        ...presentReward(backtest),
        points: backtest.points,
        not_fired: backtest.notFired,
        sample: backtest.sample.map((purchase) => ({
          event_id: purchase.eventId,
          type: purchase.type,
          occurred_at: purchase.occurredAt,
          amount: purchase.amount,
          currency: purchase.currency,
          merchant: purchase.merchant,
          card: { id: purchase.cardId },
          reward: purchase.reward,
          points: purchase.points,
        })),
        complete: backtest.complete,
        scanned_to: backtest.scannedTo,
      },
      200,
    );
  },
);

triggerReportsRouter.openapi(
  createRoute({
    method: 'get',
    path: '/v1/triggers/{id}/stats',
    ...triggerRouteAccess,
    summary: 'What a trigger has done',
    description:
      'Its firings so far (those a reversal or full refund took back counted apart), the cashback and points ' +
      'of the firings that still count, its redemptions and its budget left. For a trigger with a budget, ' +
      'the cashback is less the budget share partial refunds gave back (pro rata); without a budget a partial ' +
      'refund leaves a firing’s cashback whole. Another app’s trigger is 404.',
    request: { params: IdParam('trg') },
    responses: { 200: jsonResponse(TriggerStats, 'Its figures'), ...userTokenRefused, ...errorResponses },
  }),
  async (c) => {
    const stats = await triggerStats(c.get('deps'), {
      appId: appIdOf(c),
      triggerId: c.req.valid('param').id,
    });
    const limit = stats.trigger.limits.total_redemptions;
    return c.json(
      {
        object: 'trigger_stats' as const,
        trigger_id: stats.trigger.id,
        version: stats.trigger.version,
        status: stats.trigger.status,
        fires: stats.fires,
        given_back: stats.givenBack,
        redemptions: stats.redemptions,
        redemptions_left: limit === undefined ? null : Math.max(0, limit - stats.redemptions),
        ...presentReward(stats),
        points: stats.points,
        budget: stats.budget,
      },
      200,
    );
  },
);
