// Performing an action as the dispatch worker will: in one transaction, lock it, load its context, and perform
// its effect unless it must be cancelled.
import { eq } from 'drizzle-orm';
import { actions } from '../../src/db/schema/index.ts';
import type { Notice } from '../../src/dispatch/notice.ts';
import { type ActionContext, cancelReason, loadActionContext } from '../../src/effects/context.ts';
import { performEffect } from '../../src/effects/perform.ts';
import type { TestPlatform } from '../helpers/platform.ts';

/** The one action a purchase fired. */
export async function actionOf(platform: TestPlatform, purchaseId: string): Promise<string> {
  const rows = await platform.deps.db
    .select({ id: actions.id })
    .from(actions)
    .where(eq(actions.purchaseId, purchaseId));
  if (rows.length !== 1) throw new Error(`purchase ${purchaseId} fired ${rows.length} actions`);
  return rows[0]!.id;
}

/** The action's context, read in a transaction of its own. */
export const contextOf = (platform: TestPlatform, actionId: string) =>
  platform.deps.db.transaction(async (tx) => {
    const ctx = await loadActionContext(tx, actionId, { lock: true });
    if (!ctx) throw new Error(`no action ${actionId}`);
    return ctx;
  });

/** Performs the action's effect (or says why it is cancelled), committing it. */
export const perform = (
  platform: TestPlatform,
  actionId: string,
  now = new Date(),
): Promise<{ ctx: ActionContext; notices: Notice[] } | { cancelled: string }> =>
  platform.deps.db.transaction(async (tx) => {
    const ctx = await loadActionContext(tx, actionId, { lock: true });
    if (!ctx) throw new Error(`no action ${actionId}`);
    const reason = cancelReason(ctx);
    if (reason) return { cancelled: reason };
    return { ctx, notices: await performEffect(tx, ctx, now) };
  });

/** `perform`, expecting the effect to be performed. */
export async function performed(platform: TestPlatform, actionId: string, now = new Date()) {
  const outcome = await perform(platform, actionId, now);
  if ('cancelled' in outcome) throw new Error(`cancelled: ${outcome.cancelled}`);
  return outcome;
}
