import { asc, gt, sql } from 'drizzle-orm';
import type { Executor } from '../db/client.ts';
import { type TriggerRow, triggerChanges, triggers, triggerVersions } from '../db/schema/index.ts';
import type { RuleTrigger } from '../rules/compile.ts';

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

/** A trigger as a reloader applies it: the row's rule parts and the change that wrote them. */
export type ChangedTrigger = RuleTrigger & { changeSeq: number };

/**
 * The triggers changed after `seen` (oldest change first) and the change counter, read in one statement so both
 * come from one snapshot: once they are applied, every change up to `counter` is.
 */
export async function readChangesSince(
  db: Executor,
  seen: number,
): Promise<{ counter: number; changed: ChangedTrigger[] }> {
  const rows = await db
    .select({
      counter: triggerChanges.seq,
      trigger: {
        id: triggers.id,
        appId: triggers.appId,
        version: triggers.version,
        status: triggers.status,
        match: triggers.match,
        limits: triggers.limits,
        action: triggers.action,
        changeSeq: triggers.changeSeq,
      },
    })
    .from(triggerChanges)
    .leftJoin(triggers, gt(triggers.changeSeq, seen))
    .orderBy(asc(triggers.changeSeq));
  const changed: ChangedTrigger[] = [];
  for (const row of rows) if (row.trigger) changed.push(row.trigger);
  return { counter: rows[0]?.counter ?? 0, changed };
}
