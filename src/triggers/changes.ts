import { sql } from 'drizzle-orm';
import type { Executor } from '../db/client.ts';
import { type TriggerRow, triggerChanges, triggerVersions } from '../db/schema/index.ts';

/** The LISTEN/NOTIFY channel every trigger change is announced on. */
export const TRIGGERS_CHANNEL = 'cardlink_triggers';

/** What a listener receives for each change: which trigger, its new version, and the change counter. */
export interface TriggerChangeNotice {
  id: string;
  app_id: string;
  version: number;
  seq: number;
}

/**
 * Takes the next value of the global change counter (`trigger_changes`). Call it inside the change's
 * transaction: the row lock it takes is held to commit, so counter order is commit order.
 */
export async function nextChangeSeq(tx: Executor): Promise<number> {
  const [row] = await tx
    .insert(triggerChanges)
    .values({ id: 1, seq: 1 })
    .onConflictDoUpdate({ target: triggerChanges.id, set: { seq: sql`${triggerChanges.seq} + 1` } })
    .returning({ seq: triggerChanges.seq });
  return row!.seq;
}

/** The counter's current value: every change up to it has committed (0 before any change). */
export async function currentChangeSeq(db: Executor): Promise<number> {
  const [row] = await db.select({ seq: triggerChanges.seq }).from(triggerChanges);
  return row?.seq ?? 0;
}

/**
 * Records a trigger's new state as its version row and announces it, in the caller's transaction: Postgres
 * delivers the NOTIFY at commit and drops it on rollback, so a listener never hears of a change it cannot read.
 */
export async function recordChange(tx: Executor, row: TriggerRow): Promise<void> {
  await tx.insert(triggerVersions).values({
    triggerId: row.id,
    version: row.version,
    name: row.name,
    status: row.status,
    match: row.match,
    limits: row.limits,
    action: row.action,
    createdAt: row.updatedAt,
  });
  const notice: TriggerChangeNotice = {
    id: row.id,
    app_id: row.appId,
    version: row.version,
    seq: row.changeSeq,
  };
  await tx.execute(sql`select pg_notify(${TRIGGERS_CHANNEL}, ${JSON.stringify(notice)})`);
}
