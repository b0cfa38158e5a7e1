import { eq, sql } from 'drizzle-orm';
import type { Db } from '../db/client.ts';
import { actions, type TriggerRow, triggerCounters } from '../db/schema/index.ts';
import { type CurrencyTotal, type RewardTotals, rewardTotals } from './reward-totals.ts';
import { getTrigger } from './triggers.ts';

export interface TriggerStats extends RewardTotals {
  trigger: TriggerRow;
  /** Firings that still count (not given back by a reversal or full refund). */
  fires: number;
  /** Firings a reversal or full refund gave back. */
  givenBack: number;
  /** The count `total_redemptions` is held to (the firings that count, for a trigger without that limit). */
  redemptions: number;
  points: number;
  /** Null without a budget; `spent` is net of what refunds and reversals gave back. */
  budget: { amount: number; currency: string; spent: number; left: number } | null;
}

/**
 * What one of the app's triggers has done so far, from its actions (the outbox) and its counters, read in one
 * snapshot; another app's trigger is not found. Cashback is that of the firings that still count, less the budget
 * share partial refunds gave back (only a trigger with a budget has one).
 */
export async function triggerStats(
  deps: { db: Db },
  input: { appId: string; triggerId: string },
): Promise<TriggerStats> {
  return deps.db.transaction(
    async (tx) => {
      const trigger = await getTrigger(tx, { appId: input.appId, id: input.triggerId });
      const counting = sql`${actions.givenBackAt} is null`;
      const byCurrency = await tx
        .select({
          currency: actions.rewardCurrency,
          fires: sql<number>`count(*) filter (where ${counting})::int`,
          givenBack: sql<number>`count(*) filter (where not (${counting}))::int`,
          cashback: sql<string>`coalesce(sum(${actions.rewardAmount} - ${actions.budgetGivenBack})
            filter (where ${counting}), 0)`,
          points: sql<string>`coalesce(sum(${actions.points}) filter (where ${counting}), 0)`,
        })
        .from(actions)
        .where(eq(actions.triggerId, trigger.id))
        .groupBy(actions.rewardCurrency);
      const [counters] = await tx
        .select({ redemptions: triggerCounters.redemptions, budgetSpent: triggerCounters.budgetSpent })
        .from(triggerCounters)
        .where(eq(triggerCounters.triggerId, trigger.id));

      const cashback = new Map<string, CurrencyTotal>();
      let fires = 0;
      let givenBack = 0;
      let points = 0;
      for (const row of byCurrency) {
        fires += row.fires;
        givenBack += row.givenBack;
        points += Number(row.points);
        if (row.currency !== null)
          cashback.set(row.currency, { amount: Number(row.cashback), fires: row.fires });
      }
      const budget = trigger.limits.budget;
      const spent = counters?.budgetSpent ?? 0;
      return {
        trigger,
        fires,
        givenBack,
        redemptions: counters?.redemptions ?? fires,
        points,
        budget: budget ? { ...budget, spent, left: Math.max(0, budget.amount - spent) } : null,
        ...rewardTotals(trigger, cashback),
      };
    },
    { isolationLevel: 'repeatable read', accessMode: 'read only' },
  );
}
