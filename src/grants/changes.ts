import { and, eq, isNull, sql } from 'drizzle-orm';
import type { Executor } from '../db/client.ts';
import { grantChanges, grants } from '../db/schema/index.ts';

/**
 * Takes the next value of the grant change counter (`grant_changes`). Call it inside the change's transaction
 * and store it as the grant's `change_seq`: the row lock it takes is held to commit, so counter order is commit
 * order and a reader that sees `seq = N` can see every change up to N.
 */
export async function nextGrantChangeSeq(tx: Executor): Promise<number> {
  const [row] = await tx
    .insert(grantChanges)
    .values({ id: 1, seq: 1 })
    .onConflictDoUpdate({ target: grantChanges.id, set: { seq: sql`${grantChanges.seq} + 1` } })
    .returning({ seq: grantChanges.seq });
  return row!.seq;
}

/**
 * Marks every live grant of an app as changed (its status changed: a disabled app's grants stop counting), so
 * that each process's grants cache drops them before its next batch. In the caller's transaction.
 */
export async function markAppGrantsChanged(tx: Executor, appId: string): Promise<void> {
  const changeSeq = await nextGrantChangeSeq(tx);
  await tx
    .update(grants)
    .set({ changeSeq })
    .where(and(eq(grants.appId, appId), isNull(grants.revokedAt)));
}
