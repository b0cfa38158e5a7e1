import { isDeepStrictEqual } from 'node:util';
import { and, asc, eq, getTableColumns, sql } from 'drizzle-orm';
import type { PgUpdateSetSource } from 'drizzle-orm/pg-core';
import type { CardKeys } from '../cards/card-keys.ts';
import type { Executor } from '../db/client.ts';
import type { Page } from '../db/paginate.ts';
import { pageOfRows } from '../db/rows.ts';
import {
  apps,
  type TriggerRow,
  type TriggerVersionRow,
  triggers,
  triggerVersions,
} from '../db/schema/index.ts';
import { AppError, invalidFields, notFound } from '../errors.ts';
import { newId } from '../lib/ids.ts';
import {
  budgetProblem,
  SCOPE_OF_ACTION,
  type TriggerAction,
  type TriggerInput,
  type TriggerMatch,
  type TriggerPatch,
  type TriggerStatus,
} from '../rules/dsl.ts';
import { nextChangeSeq, recordChange } from './changes.ts';

interface TriggerDeps {
  db: Executor;
  cardKeys: CardKeys;
}

/**
 * The match as stored: a MID holding a card number is kept as its keyed hash, as events and merchants keep
 * theirs (src/ingest/card-number-guard.ts), so that no card number is stored and the two still match.
 */
const storedMatch = (match: TriggerMatch, cardKeys: CardKeys): TriggerMatch =>
  match.mids ? { ...match, mids: match.mids.map((mid) => cardKeys.reference(mid)) } : match;

// A change's time is taken when its statement runs, not when its transaction began (`now()`): a change that
// waited for the row lock gets the next version, so it must also get a later time than the change before it.
const changedAt = sql`statement_timestamp()`;

/** The scope an action needs must be one the app registered; otherwise a 422 on `action.type`. */
async function checkActionScope(db: Executor, appId: string, action: TriggerAction): Promise<void> {
  const [app] = await db.select({ scopes: apps.scopes }).from(apps).where(eq(apps.id, appId));
  if (!app) throw notFound('app');
  const needed = SCOPE_OF_ACTION[action.type];
  if (app.scopes.includes(needed)) return;
  throw invalidFields([
    {
      path: 'action.type',
      message: `a ${action.type} action needs the "${needed}" scope, which this app did not register (it has: ${app.scopes.join(', ') || 'none'})`,
    },
  ]);
}

/** Creates a trigger (version 1) for an app, recording the version and announcing it in one transaction. */
export async function createTrigger(
  deps: TriggerDeps,
  input: { appId: string; trigger: TriggerInput },
): Promise<TriggerRow> {
  await checkActionScope(deps.db, input.appId, input.trigger.action);
  return deps.db.transaction(async (tx) => {
    const changeSeq = await nextChangeSeq(tx);
    const [row] = await tx
      .insert(triggers)
      .values({
        id: newId('trg'),
        appId: input.appId,
        name: input.trigger.name,
        status: input.trigger.status,
        version: 1,
        match: storedMatch(input.trigger.match, deps.cardKeys),
        limits: input.trigger.limits,
        action: input.trigger.action,
        changeSeq,
        createdAt: changedAt,
        updatedAt: changedAt,
      })
      .returning();
    await recordChange(tx, row!);
    return row!;
  });
}

/** An app's triggers, newest first, optionally of one status. */
export const listTriggers = (
  db: Executor,
  params: Page & { appId: string; status?: TriggerStatus | undefined },
) =>
  pageOfRows(
    db,
    triggers,
    params,
    and(eq(triggers.appId, params.appId), params.status ? eq(triggers.status, params.status) : undefined),
  );

/** One of the app's triggers; another app's id is not found, exactly like an unknown one. */
export async function getTrigger(db: Executor, params: { appId: string; id: string }): Promise<TriggerRow> {
  const [row] = await db
    .select()
    .from(triggers)
    .where(and(eq(triggers.id, params.id), eq(triggers.appId, params.appId)));
  if (!row) throw notFound('trigger');
  return row;
}

/** Locks the app's trigger for a change; archived ones cannot change (they stay as actions knew them). */
async function lockForChange(tx: Executor, appId: string, id: string): Promise<TriggerRow> {
  const [row] = await tx
    .select()
    .from(triggers)
    .where(and(eq(triggers.id, id), eq(triggers.appId, appId)))
    .for('update');
  if (!row) throw notFound('trigger');
  return row;
}

const archivedConflict = () =>
  new AppError(
    'conflict',
    'This trigger is archived: it can no longer be changed or reactivated. Create a new trigger instead.',
  );

/** Whether a part as it would be stored equals the stored one (compared as the JSON Postgres keeps). */
const sameAsStored = (next: unknown, stored: unknown): boolean =>
  isDeepStrictEqual(JSON.parse(JSON.stringify(next)), stored);

/**
 * Replaces the given parts of a trigger (each whole) as its next version. A patch that changes nothing (empty,
 * or every part equal to the current one) writes no version, takes no counter value and announces nothing.
 */
export async function patchTrigger(
  deps: TriggerDeps,
  input: { appId: string; id: string; patch: TriggerPatch },
): Promise<TriggerRow> {
  const { patch } = input;
  return deps.db.transaction(async (tx) => {
    const current = await lockForChange(tx, input.appId, input.id);
    if (current.status === 'archived') throw archivedConflict();
    // Limits and action are patched whole but apart: whether a budget fits is a question of the pair.
    if (patch.limits !== undefined || patch.action !== undefined) {
      const problem = budgetProblem(patch.limits ?? current.limits, patch.action ?? current.action);
      if (problem) throw invalidFields([{ path: 'limits.budget', message: problem }]);
    }
    const changes = {
      ...(patch.name !== undefined ? { name: patch.name } : {}),
      ...(patch.status !== undefined ? { status: patch.status } : {}),
      ...(patch.match !== undefined ? { match: storedMatch(patch.match, deps.cardKeys) } : {}),
      ...(patch.limits !== undefined ? { limits: patch.limits } : {}),
      ...(patch.action !== undefined ? { action: patch.action } : {}),
    };
    const changed = (Object.keys(changes) as (keyof typeof changes)[]).some(
      (part) => !sameAsStored(changes[part], current[part]),
    );
    if (!changed) return current;
    if (patch.action) await checkActionScope(tx, input.appId, patch.action);
    return writeNextVersion(tx, current, changes);
  });
}

/** Writes `changes` as the trigger's next version: counted, recorded and announced in the caller's transaction. */
async function writeNextVersion(
  tx: Executor,
  current: TriggerRow,
  changes: PgUpdateSetSource<typeof triggers>,
): Promise<TriggerRow> {
  const changeSeq = await nextChangeSeq(tx);
  const [row] = await tx
    .update(triggers)
    .set({ ...changes, version: current.version + 1, changeSeq, updatedAt: changedAt })
    .where(eq(triggers.id, current.id))
    .returning();
  await recordChange(tx, row!);
  return row!;
}

/**
 * Archives a trigger as its next version: it never fires again but stays readable, since actions name it.
 * Archiving an archived trigger changes nothing.
 */
export async function archiveTrigger(
  deps: { db: Executor },
  input: { appId: string; id: string },
): Promise<TriggerRow> {
  return deps.db.transaction(async (tx) => {
    const current = await lockForChange(tx, input.appId, input.id);
    if (current.status === 'archived') return current;
    return writeNextVersion(tx, current, { status: 'archived', archivedAt: changedAt });
  });
}

/** Every version of one of the app's triggers, oldest first; none for another app's trigger. */
export async function listTriggerVersions(
  db: Executor,
  params: { appId: string; id: string },
): Promise<TriggerVersionRow[]> {
  return db
    .select(getTableColumns(triggerVersions))
    .from(triggerVersions)
    .innerJoin(triggers, eq(triggers.id, triggerVersions.triggerId))
    .where(and(eq(triggerVersions.triggerId, params.id), eq(triggers.appId, params.appId)))
    .orderBy(asc(triggerVersions.version));
}
