// Performs one action's effect, once: the worker's verb for a `perform` job.
import { eq } from 'drizzle-orm';
import type { Config } from '../config.ts';
import type { Db } from '../db/client.ts';
import { actions } from '../db/schema/index.ts';
import { type ActionContext, cancelReason, loadActionContext } from '../effects/context.ts';
import { performEffect } from '../effects/perform.ts';
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
 * In one transaction: locks the action (a second run finds it done and does nothing), re-checks the app and the
 * user's grant (held FOR SHARE, so a revocation either waits for this transaction or is seen by it), then performs
 * the effect, charges the platform's fee and records the webhooks. Everything it writes is unique per action.
 */
export async function performAction(
  deps: PerformDeps,
  actionId: string,
  now = new Date(),
): Promise<PerformOutcome> {
  return deps.db.transaction(async (tx) => {
    const ctx = await loadActionContext(tx, actionId, { lock: true });
    if (ctx?.action.status !== 'queued') return { outcome: 'skipped' };
    const reason = cancelReason(ctx);
    if (reason) {
      await tx.update(actions).set({ status: 'cancelled', doneAt: now }).where(eq(actions.id, actionId));
      return { outcome: 'cancelled', reason };
    }
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
