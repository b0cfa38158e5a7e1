// One trigger replayed over purchases in memory, with the live engine's pure code: evaluate() for the stateless
// conditions, failedChecks() for why not, decide() for the conditions and limits that count, and the card state
// rules of src/rules/card-state.ts (stamps, first purchase at the merchant). Its counters start from zero. No I/O.
import {
  atSameMerchant,
  type CardState,
  earnsStamp,
  nextCardState,
  stampsInWindow,
} from '../rules/card-state.ts';
import type { CompiledTrigger, RuleTrigger } from '../rules/compile.ts';
import { type Decision, decide, type Reward } from '../rules/decide.ts';
import { evaluate, failedChecks } from '../rules/evaluate.ts';
import { EventFacts, type Grant, localDay, type RuleEvent } from '../rules/event.ts';
import type { NotFiredReason } from '../rules/reasons.ts';
import { createTriggerIndex } from '../rules/trigger-index.ts';

export type ReplayOutcome = { fired: true; reward: Reward } | { fired: false; reason: NotFiredReason };

/**
 * Decides purchases one at a time, in the order they happened, remembering what the trigger did so far. A
 * purchase of a user whose grant lacks the action's scope is `scope_not_granted` and nothing more: the app learns
 * nothing else of a purchase it was not allowed to act on.
 */
export type Replay = (purchase: RuleEvent, scopeGranted: boolean) => ReplayOutcome;

const NO_CARD: CardState = { fires: 0, stamps: [] };

/**
 * A replay of `trigger` as if it were active from the first purchase it is given (a paused or archived trigger
 * is replayed as it is defined). Purchases are authorizations, or clearings of which no authorization was seen;
 * the caller leaves refunds and reversals out, so nothing is given back.
 */
export function createReplay(trigger: RuleTrigger): Replay {
  // An index holding this trigger alone: the same lists, filters and closures as live ingestion.
  const index = createTriggerIndex([{ ...trigger, status: 'active' }]);
  const compiled = index.triggers.get(trigger.id)!;
  const { match, limits } = compiled;
  const nth = match.nth_purchase;
  const granted: Grant[] = [{ appId: compiled.appId, scopes: new Set([compiled.scope]) }];
  // first_purchase: the cards with an earlier purchase where the trigger's merchant conditions hold (live
  // ingestion's atSameMerchant), whatever its other conditions did.
  const cardsWithPurchase = new Set<string>();
  // Remembered only for the limits and conditions the trigger has (a card or a day per entry).
  const tracksCards = nth !== undefined || limits.per_card !== undefined;
  const cards = new Map<string, CardState>();
  const userDays = new Map<string, number>();
  let redemptions = 0;
  let budgetSpent = 0;

  return (purchase, scopeGranted) => {
    if (!scopeGranted) return { fired: false, reason: 'scope_not_granted' };
    const facts = new EventFacts(purchase);
    const earlierPurchase = cardsWithPurchase.has(purchase.cardId);
    if (match.first_purchase && atSameMerchant(match, purchase)) cardsWithPurchase.add(purchase.cardId);

    if (evaluate(index, purchase, granted).length === 0)
      return { fired: false, reason: statelessReason(compiled, facts) };

    const card = cards.get(purchase.cardId) ?? NO_CARD;
    const dayKey = `${purchase.userId} ${localDay(purchase)}`;
    const atMs = facts.instant;
    const decision: Decision = decide(compiled, purchase, {
      redemptions,
      budgetSpent,
      cardFires: card.fires,
      stampsBefore: stampsInWindow(nth, card.stamps, atMs).length,
      earlierPurchase,
      userDayFires: userDays.get(dayKey) ?? 0,
    });
    if (!decision.fire) {
      const stamped = decision.reason === 'not_nth_purchase' && earnsStamp(nth, card);
      if (stamped)
        cards.set(
          purchase.cardId,
          nextCardState(nth, card, { fired: false, stamped }, purchase.id, atMs).state,
        );
      return { fired: false, reason: decision.reason };
    }
    redemptions += 1;
    budgetSpent += decision.budgetSpend;
    if (tracksCards)
      cards.set(purchase.cardId, nextCardState(nth, card, { fired: true }, purchase.id, atMs).state);
    if (limits.per_user_per_day !== undefined) userDays.set(dayKey, (userDays.get(dayKey) ?? 0) + 1);
    return { fired: true, reward: decision.reward };
  };
}

/** The first condition, in the contract's order, that a purchase evaluate() did not match fails. */
function statelessReason(trigger: CompiledTrigger, facts: EventFacts): NotFiredReason {
  const reason = failedChecks(trigger, facts)[0];
  // evaluate() and the checks are the same conditions (a property test holds them equal): a purchase that
  // matched none of them and still did not match is a bug, not a reason to invent.
  if (reason === undefined) throw new Error(`trigger ${trigger.id}: no match and no failed condition`);
  return reason;
}
