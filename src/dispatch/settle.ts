// Settles rewards again when their purchase moved or a date came: the worker's verb for a `settle` job.
import { sql } from 'drizzle-orm';
import type { Config } from '../config.ts';
import type { Db, Tx } from '../db/client.ts';
import { cancelReason, loadActionContext } from '../effects/context.ts';
import { settleRewards } from '../ledger/rewards.ts';
import type { SettleJobData } from './dispatcher.ts';
import { recordNotices } from './notices.ts';

export interface SettleDeps {
  db: Db;
  config: Config;
}

/**
 * In one transaction: locks the reward actions (after any transaction performing one of them: it commits its
 * reward first, and this one then sees it), brings their ledger entries in line with the purchase and the date,
 * and records the webhooks — none for a user who revoked the app, whose money still moves. A `purchase_changes`
 * row is deleted only if no later change rewrote it meanwhile. Returns the deliveries recorded.
 */
export async function settle(deps: SettleDeps, job: SettleJobData, now = new Date()): Promise<string[]> {
  return deps.db.transaction(async (tx) => {
    const actionIds = await lockRewardActions(tx, job);
    const deliveryIds: string[] = [];
    if (actionIds.length > 0) {
      const notices = await settleRewards(tx, actionIds, now, deps.config.ledger);
      for (const [actionId, list] of notices) {
        if (list.length === 0) continue;
        const ctx = await loadActionContext(tx, actionId, { lock: false });
        if (!ctx || cancelReason(ctx)) continue;
        deliveryIds.push(...(await recordNotices(tx, ctx, list, deps.config, now)));
      }
    }
    if (job.purchaseId && job.changedAt)
      await tx.execute(sql`delete from purchase_changes
        where purchase_id = ${job.purchaseId} and changed_at = ${job.changedAt}::timestamptz`);
    return deliveryIds;
  });
}

async function lockRewardActions(tx: Tx, job: SettleJobData): Promise<string[]> {
  // The change row before the actions: ingestion locks them in that order (a link writes the change, then a
  // take-back locks the actions), so a settle and a refund of one purchase wait for each other, never deadlock.
  if (job.purchaseId)
    await tx.execute(sql`select 1 from purchase_changes where purchase_id = ${job.purchaseId} for update`);
  const ids = job.actionIds ?? [];
  if (!job.purchaseId && ids.length === 0) return [];
  const which = job.purchaseId
    ? sql`purchase_id = ${job.purchaseId}`
    : sql`id in (${sql.join(
        ids.map((id) => sql`${id}`),
        sql`, `,
      )})`;
  const rows = await tx.execute<{ id: string }>(sql`
    select id from actions where ${which} and type in ('points', 'cashback') order by id for update`);
  return rows.map((row) => row.id);
}
