import type { CompiledTrigger } from './compile.ts';
import type { RuleEvent } from './event.ts';
import type { StatefulReason } from './reasons.ts';
import { cashbackFor, pointsFor } from './reward.ts';

/**
 * What the caller loaded for one (matched trigger, event) pair before deciding; counting belongs to the caller
 * (which purchases count, the stamp window, the local day), the decision to decide().
 */
export interface TriggerCounters {
  /** Times the trigger fired so far, over all cards. */
  redemptions: number;
  /** Budget spent so far, in minor units of `limits.budget.currency`. */
  budgetSpent: number;
  /** Times the trigger fired for this card. */
  cardFires: number;
  /**
   * This card's purchases that count toward `nth_purchase` before this one: those matching the trigger since it
   * last fired for the card, within `window_days` when set.
   */
  stampsBefore: number;
  /** Whether the card made an earlier purchase that this trigger's merchant conditions match (first_purchase). */
  earlierPurchase: boolean;
  /** Times the trigger fired for this card's user on the event's local day (localDay(event)). */
  userDayFires: number;
}

/** What an action earns: cashback in the purchase's currency, points, or nothing to count. */
export type Reward =
  | { type: 'cashback'; amount: number; currency: string }
  | { type: 'points'; points: number }
  | { type: 'none' };

export type Decision =
  | {
      fire: true;
      reward: Reward;
      /** What this firing adds to the trigger's budget spend (0 without a budget). */
      budgetSpend: number;
    }
  | { fire: false; reason: StatefulReason; progress?: { have: number; need: number } };

/**
 * Whether a trigger that matched (evaluate()) fires given its counters, and its reward. Conditions first
 * (first_purchase, nth_purchase), then limits in the order per_card, per_user_per_day, total_redemptions, budget;
 * the first that stops it is the reason.
 * A budget counts cashback (always in the budget's currency: evaluate() matches no other) and a coupon's value in
 * the budget's currency; the last cashback is cut to what is left, a coupon is given only whole. Other actions
 * spend nothing from a budget.
 */
export function decide(
  trigger: Pick<CompiledTrigger, 'match' | 'limits' | 'action'>,
  event: Pick<RuleEvent, 'amount' | 'currency'>,
  counters: TriggerCounters,
): Decision {
  const { match, limits, action } = trigger;
  if (match.first_purchase && counters.earlierPurchase) return { fire: false, reason: 'not_first_purchase' };
  const nth = match.nth_purchase;
  if (nth) {
    const have = counters.stampsBefore + 1;
    if (have < nth.n || (!nth.repeat && counters.cardFires > 0))
      return { fire: false, reason: 'not_nth_purchase', progress: { have, need: nth.n } };
  }
  if (limits.per_card !== undefined && counters.cardFires >= limits.per_card)
    return { fire: false, reason: 'limit_per_card_reached' };
  if (limits.per_user_per_day !== undefined && counters.userDayFires >= limits.per_user_per_day)
    return { fire: false, reason: 'limit_per_user_per_day_reached' };
  if (limits.total_redemptions !== undefined && counters.redemptions >= limits.total_redemptions)
    return { fire: false, reason: 'redemptions_exhausted' };
  const left = limits.budget ? limits.budget.amount - counters.budgetSpent : Number.POSITIVE_INFINITY;
  if (left <= 0) return { fire: false, reason: 'budget_exhausted' };
  switch (action.type) {
    case 'cashback': {
      const amount = Math.min(cashbackFor(action, event.amount), left);
      return {
        fire: true,
        reward: { type: 'cashback', amount, currency: event.currency },
        budgetSpend: limits.budget ? amount : 0,
      };
    }
    case 'points':
      return {
        fire: true,
        reward: { type: 'points', points: pointsFor(action, event.amount, event.currency) },
        budgetSpend: 0,
      };
    case 'coupon': {
      const value = action.value;
      const counted = limits.budget && value?.currency === limits.budget.currency ? value.amount : 0;
      if (counted > left) return { fire: false, reason: 'budget_exhausted' };
      return { fire: true, reward: { type: 'none' }, budgetSpend: counted };
    }
    default:
      return { fire: true, reward: { type: 'none' }, budgetSpend: 0 };
  }
}
