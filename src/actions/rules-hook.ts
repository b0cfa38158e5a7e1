// The rules engine as ingestion's actions hook: which purchases fire, for whom, and what they reserve.
import type { GrantCache } from '../grants/grant-cache.ts';
import type { ActionsHook } from '../ingest/actions-hook.ts';
import type { StoredEvent } from '../ingest/event-fields.ts';
import { evaluate } from '../rules/evaluate.ts';
import { isOwnPurchase } from '../rules/event.ts';
import { mayMatch } from '../rules/trigger-index.ts';
import type { TriggerRegistry } from '../triggers/registry.ts';
import { applyGiveBack, planGiveBack, writeGiveBack } from './give-back.ts';
import { emptyLockKeys, type LockKeys, lockState, wantKey, writeLockedState } from './limit-state.ts';
import { decideMatches, historyQuery, type Match, matchKeys, writeMatchOutcomes } from './reserve.ts';

/**
 * A purchase fires triggers once: on its authorization, or on its clearing when no authorization of it was seen
 * (clearing-only feeds). An authorization arriving after its clearing (`alreadyCleared`) fires nothing.
 */
const firesTriggers = (event: StoredEvent, alreadyCleared: ReadonlySet<string>) =>
  isOwnPurchase(event) && !alreadyCleared.has(event.id);

export function createRulesHook(deps: {
  triggerRegistry: TriggerRegistry;
  grantCache: GrantCache;
}): ActionsHook {
  const { triggerRegistry, grantCache } = deps;
  return {
    mayReserve(events) {
      const { index, seq } = triggerRegistry.current();
      return { may: events.some((event) => mayMatch(index, event)), seq };
    },

    catchUpTriggers: (seq) => triggerRegistry.syncTo(seq),

    async reserve(tx, newEvents, { seqs, alreadyCleared, earlierTakeBacks }) {
      const conn = tx.sql;
      // Every trigger and grant change committed before the batch's write applies to it, read (when the index is
      // behind) through the transaction's own connection: a batch never waits on the pool while holding one.
      if (triggerRegistry.current().seq < seqs.triggers) await triggerRegistry.syncTo(seqs.triggers, tx.db());
      await grantCache.syncTo(conn, seqs.grants);
      const purchases = newEvents.filter((event) => firesTriggers(event, alreadyCleared));
      const { index } = triggerRegistry.current();
      const matches: Match[] = [];
      if (purchases.length > 0 && index.triggers.size > 0) {
        const grants = await grantCache.grantsOf(
          conn,
          purchases.map((event) => event.userId),
        );
        for (const event of purchases)
          for (const trigger of evaluate(index, event, grants.get(event.userId) ?? []))
            matches.push({ event, trigger });
      }
      // Refunds and reversals, the batch's own and those that came before their purchase: their purchases and
      // actions are locked first, then every limit row the batch touches, in one sorted pass.
      const plan = await planGiveBack(conn, [
        ...newEvents.filter((event) => event.type === 'refund' || event.type === 'reversal'),
        ...earlierTakeBacks,
      ]);
      if (matches.length === 0 && plan === null) return { fired: new Map(), actionIds: [] };
      const keys = mergeKeys(matchKeys(matches), plan?.keys ?? emptyLockKeys());
      const { state, after: history } = await lockState(conn, keys, () =>
        historyQuery(conn, matches, newEvents),
      );
      // The batch's purchases fire first; then what is taken back is given back. The writes go out in this order.
      const outcomes = decideMatches(state, history, matches, newEvents);
      const firedNow = outcomes.actions.map((action) => ({ ...action, budget_given_back: 0 }));
      const givenBack = plan ? applyGiveBack(plan, state, firedNow) : [];
      tx.sendWithCommit([
        ...writeMatchOutcomes(conn, outcomes),
        ...writeGiveBack(conn, givenBack),
        ...writeLockedState(conn, state),
      ]);
      return { fired: outcomes.fired, actionIds: outcomes.actions.map((action) => action.id) };
    },

    async settleLateLinks(conn, { takeBacks, doubles }) {
      const plan = await planGiveBack(conn, takeBacks, doubles);
      if (!plan) return;
      const { state } = await lockState(conn, plan.keys, () => []);
      const givenBack = applyGiveBack(plan, state, []);
      await Promise.all([...writeGiveBack(conn, givenBack), ...writeLockedState(conn, state)]);
    },
  };
}

function mergeKeys(a: LockKeys, b: LockKeys): LockKeys {
  for (const [key, row] of b.counters) wantKey(a.counters, key, row);
  for (const [key, row] of b.cards) wantKey(a.cards, key, row);
  for (const [key, row] of b.days) wantKey(a.days, key, row);
  return a;
}
