// Turns the notices of an effect into webhook rows, in the effect's transaction.
import type { PseudonymKey } from '../cards/pseudonyms.ts';
import type { Tx } from '../db/client.ts';
import type { ActionContext } from '../effects/context.ts';
import { transactionData } from '../effects/payload.ts';
import { recordDelivery } from '../grants/outbox.ts';
import type { Notice } from './notice.ts';

/** Records one delivery per notice: the transaction's data with the notice's result. Returns their ids. */
export async function recordNotices(
  tx: Tx,
  ctx: ActionContext,
  notices: readonly Notice[],
  key: PseudonymKey,
  now: Date,
): Promise<string[]> {
  if (notices.length === 0) return [];
  const data = transactionData(ctx, key);
  const ids: string[] = [];
  for (const notice of notices) {
    const row = await recordDelivery(tx, {
      appId: ctx.action.appId,
      userId: ctx.action.userId,
      actionId: ctx.action.id,
      type: notice.type,
      data: { ...data, ...notice.result },
      now,
      eventAcceptedAt: ctx.event.receivedAt,
    });
    ids.push(row.id);
  }
  return ids;
}
