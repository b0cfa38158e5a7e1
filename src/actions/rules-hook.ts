// The rules engine as ingestion's actions hook: which purchases fire, for whom, and what they reserve.
import type { GrantCache } from '../grants/grant-cache.ts';
import type { ActionsHook } from '../ingest/actions-hook.ts';
import type { StoredEvent } from '../ingest/event-fields.ts';
import { evaluate } from '../rules/evaluate.ts';
import { mayMatch } from '../rules/trigger-index.ts';
import type { TriggerRegistry } from '../triggers/registry.ts';
import { giveBack } from './give-back.ts';
import { type Match, reserveMatches } from './reserve.ts';

/**
 * A purchase fires triggers once: on its authorization, or on its clearing when no authorization of it was seen
 * (clearing-only feeds). A clearing linked to its authorization, and an authorization arriving after its
 * clearing (`alreadyCleared`), fire nothing.
 */
function firesTriggers(event: StoredEvent, alreadyCleared: ReadonlySet<string>): boolean {
  if (event.type === 'authorization') return !alreadyCleared.has(event.id);
  return event.type === 'clearing' && event.authorizationId === null;
}

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
      // Every trigger and grant change committed before the batch's write applies to it.
      await triggerRegistry.syncTo(seqs.triggers);
      await grantCache.syncTo(conn, seqs.grants);
      const fired = new Map<string, number>();
      const purchases = newEvents.filter((event) => firesTriggers(event, alreadyCleared));
      const { index } = triggerRegistry.current();
      if (purchases.length > 0 && index.triggers.size > 0) {
        const grants = await grantCache.grantsOf(
          conn,
          purchases.map((event) => event.userId),
        );
        const matches: Match[] = [];
        for (const event of purchases)
          for (const trigger of evaluate(index, event, grants.get(event.userId) ?? []))
            matches.push({ event, trigger });
        if (matches.length > 0)
          for (const [eventId, count] of await reserveMatches(conn, matches, newEvents))
            fired.set(eventId, count);
      }
      // After the batch's purchases fired: a refund or reversal that came before its purchase gives back too.
      const takeBacks = [
        ...newEvents.filter((event) => event.type === 'refund' || event.type === 'reversal'),
        ...earlierTakeBacks,
      ];
      if (takeBacks.length > 0) await giveBack(conn, takeBacks);
      return fired;
    },
  };
}
