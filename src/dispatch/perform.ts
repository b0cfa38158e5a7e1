// Performs one action's effect, once: the worker's verb for a `perform` job.
import { eq } from 'drizzle-orm';
import { applyGiveBack, planGiveBack, writeGiveBack } from '../actions/give-back.ts';
import { lockState, writeLockedState } from '../actions/limit-state.ts';
import type { Config } from '../config.ts';
import type { Db } from '../db/client.ts';
import { actions } from '../db/schema/index.ts';
import { type ActionContext, cancelReason, loadActionContext } from '../effects/context.ts';
import { performEffect } from '../effects/perform.ts';
import { inTransaction } from '../ingest/ingest-transaction.ts';
import { chargeFee } from '../ledger/fees.ts';
import { openReward, type RewardInput } from '../ledger/rewards.ts';
import { recordNotices } from './notices.ts';

export interface PerformDeps {
  db: Db;
  config: Config;
}

export type PerformOutcome =
  | { outcome: 'done'; deliveryIds: string[] }
  | { outcome: 'cancelled'; reason: string }
  /** Not queued any more (performed or cancelled by an earlier run), or no such action. */
  | { outcome: 'skipped' };

/**
 * Performs the action, or cancels it when its app is disabled or its user's grant no longer covers it. Everything
 * either writes is unique per action or guarded by the action's status, so a second run does nothing.
 */
export async function performAction(
  deps: PerformDeps,
  actionId: string,
  now = new Date(),
): Promise<PerformOutcome> {
  // A grant given again between the two transactions sends the action round once more.
  for (let round = 0; round < 2; round++) {
    const performed = await performOnce(deps, actionId, now);
    if (performed.outcome !== 'cancel') return performed;
    const cancelled = await cancelAction(deps, actionId, now);
    if (cancelled.outcome !== 'perform') return cancelled;
  }
  // The grant changed under it twice: still queued, so the relay sends it round again.
  return { outcome: 'skipped' };
}

/**
 * In one transaction: locks the action (a second run finds it done and does nothing), re-checks the app and the
 * user's grant (held FOR SHARE, so a revocation either waits for this transaction or is seen by it), then performs
 * the effect, charges the platform's fee and records the webhooks.
 */
function performOnce(
  deps: PerformDeps,
  actionId: string,
  now: Date,
): Promise<PerformOutcome | { outcome: 'cancel' }> {
  return deps.db.transaction(async (tx) => {
    const ctx = await loadActionContext(tx, actionId, { lock: true });
    if (ctx?.action.status !== 'queued') return { outcome: 'skipped' };
    // Cancelling gives back the limits, which locks the purchase before the action: another transaction.
    if (cancelReason(ctx)) return { outcome: 'cancel' };
    const notices =
      ctx.action.type === 'points' || ctx.action.type === 'cashback'
        ? await openReward(tx, rewardInput(ctx), now, deps.config.ledger)
        : await performEffect(tx, ctx, now);
    await chargeFee(
      tx,
      {
        actionId,
        appId: ctx.action.appId,
        purchaseAmount: ctx.action.purchaseAmount,
        purchaseCurrency: ctx.action.purchaseCurrency,
        fee: ctx.app.fee,
      },
      now,
    );
    const deliveryIds = await recordNotices(tx, ctx, notices, deps.config, now);
    await tx.update(actions).set({ status: 'done', doneAt: now }).where(eq(actions.id, actionId));
    return { outcome: 'done', deliveryIds };
  });
}

/**
 * Cancels an action its user or app no longer allows, and gives back what its firing used of the trigger's limits
 * (the redemption, the per-card and per-day counts, its stamps, its budget), as a reversal would: a firing that is
 * never performed must not count. Locks in the order ingestion's give-back does (the purchase, its actions, then
 * the limit rows), and checks again under those locks.
 */
async function cancelAction(
  deps: PerformDeps,
  actionId: string,
  now: Date,
): Promise<PerformOutcome | { outcome: 'perform' }> {
  return inTransaction(deps.db.$client, async (tx) => {
    const plan = await planGiveBack(tx.sql, [], [], [actionId]);
    const ctx = await loadActionContext(tx.db(), actionId, { lock: true });
    if (ctx?.action.status !== 'queued') return { outcome: 'skipped' };
    const reason = cancelReason(ctx);
    if (!reason) return { outcome: 'perform' };
    if (plan) {
      const { state } = await lockState(tx.sql, plan.keys, () => []);
      await Promise.all([
        ...writeGiveBack(tx.sql, applyGiveBack(plan, state, [])),
        ...writeLockedState(tx.sql, state),
      ]);
    }
    await tx.sql`update actions set status = 'cancelled', done_at = ${now.toISOString()}::timestamptz where id = ${actionId}`;
    return { outcome: 'cancelled', reason };
  });
}

function rewardInput({ action, spec }: ActionContext): RewardInput {
  const cashback = action.type === 'cashback';
  return {
    actionId: action.id,
    appId: action.appId,
    userId: action.userId,
    kind: cashback ? 'cashback' : 'points',
    unit: cashback ? action.rewardCurrency! : 'points',
    amount: (cashback ? action.rewardAmount : action.points) ?? 0,
    purchaseId: action.purchaseId,
    purchaseReceivedAt: action.purchaseReceivedAt,
    availableAfterDays: 'available_after_days' in spec ? (spec.available_after_days ?? 0) : 0,
  };
}
