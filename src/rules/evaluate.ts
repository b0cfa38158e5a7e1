import type { CompiledTrigger } from './compile.ts';
import * as compile from './compile.ts';
import type { Grant, RuleEvent } from './event.ts';
import * as events from './event.ts';
import type { StatelessReason } from './reasons.ts';
import type { TriggerIndex } from './trigger-index.ts';
import * as triggerIndex from './trigger-index.ts';

// Copied into local bindings once: under tsx (how the API runs) an imported binding is read through a getter on
// every use, which cost a seventh of evaluate()'s time in a profile.
const { ANY_DAY, checksOf, inWindow, MINUTES_PER_DAY } = compile;
const { EventFacts, isPurchase } = events;
const { filterSlot } = triggerIndex;
type EventFacts = events.EventFacts;

const NO_MATCHES: readonly CompiledTrigger[] = Object.freeze([]);

/**
 * The active triggers of the granted apps whose stateless conditions hold for a purchase and whose action's scope
 * the user granted (limits and stamp cards are decide()'s). Refunds and reversals match nothing.
 * Reads only the lists of the granted apps under the event's own MID, merchant, MCC, country, currency, scheme and
 * type, plus their unkeyed lists.
 */
export function evaluate(
  index: TriggerIndex,
  event: RuleEvent,
  grants: readonly Grant[],
): readonly CompiledTrigger[] {
  if (!isPurchase(event) || grants.length === 0) return NO_MATCHES;
  let matches: CompiledTrigger[] | undefined;
  const facts = new EventFacts(event);
  // Each value's filter slot once per event (positions as in KEY_FIELDS); -1: the event has no such value.
  const mid = filterSlot(0, event.mid);
  const merchantId = event.merchantId === null ? -1 : filterSlot(1, event.merchantId);
  const mcc = event.mcc === null ? -1 : filterSlot(2, event.mcc);
  const country = event.merchantCountry === null ? -1 : filterSlot(3, event.merchantCountry);
  const currency = filterSlot(4, event.currency);
  const scheme = filterSlot(5, event.cardScheme);
  const type = filterSlot(6, event.type);
  for (const grant of grants) {
    const app = index.apps.get(grant.appId);
    if (app === undefined) continue;
    const filter = app.filter;
    if (event.amount >= app.unkeyedAmountMin && event.amount <= app.unkeyedAmountMax)
      matches = collect(app.unkeyed, facts, grant, matches);
    if (app.byMid !== null && filter[mid] !== 0)
      matches = collectUnder(app.byMid, event.mid, facts, grant, matches);
    if (app.byMerchantId !== null && merchantId >= 0 && filter[merchantId] !== 0)
      matches = collectUnder(app.byMerchantId, event.merchantId, facts, grant, matches);
    if (app.byMcc !== null && mcc >= 0 && filter[mcc] !== 0)
      matches = collectUnder(app.byMcc, event.mcc, facts, grant, matches);
    if (app.byCountry !== null && country >= 0 && filter[country] !== 0)
      matches = collectUnder(app.byCountry, event.merchantCountry, facts, grant, matches);
    if (app.byCurrency !== null && filter[currency] !== 0)
      matches = collectUnder(app.byCurrency, event.currency, facts, grant, matches);
    if (app.byScheme !== null && filter[scheme] !== 0)
      matches = collectUnder(app.byScheme, event.cardScheme, facts, grant, matches);
    if (app.byEventType !== null && filter[type] !== 0)
      matches = collectUnder(app.byEventType, event.type, facts, grant, matches);
  }
  return matches ?? NO_MATCHES;
}

function collectUnder(
  lists: Map<string, CompiledTrigger[]> | null,
  value: string | null,
  facts: EventFacts,
  grant: Grant,
  matches: CompiledTrigger[] | undefined,
): CompiledTrigger[] | undefined {
  if (lists === null || value === null) return matches;
  const list = lists.get(value);
  return list === undefined ? matches : collect(list, facts, grant, matches);
}

function collect(
  list: readonly CompiledTrigger[],
  facts: EventFacts,
  grant: Grant,
  matches: CompiledTrigger[] | undefined,
): CompiledTrigger[] | undefined {
  const amount = facts.event.amount;
  let found = matches;
  for (let i = 0; i < list.length; i++) {
    const t = list[i]!;
    if (amount < t.amountMin || amount > t.amountMax) continue;
    if (t.dayMask !== ANY_DAY && (t.dayMask & (1 << facts.weekday)) === 0) continue;
    if (t.timeTo - t.timeFrom !== MINUTES_PER_DAY && !inWindow(t.timeFrom, t.timeTo, facts.minuteOfDay))
      continue;
    if (t.hasDateRange && !(facts.instant >= t.startsAt && facts.instant <= t.endsAt)) continue;
    if (!grant.scopes.has(t.scope) || !residualHolds(t, facts)) continue;
    if (found === undefined) found = [t];
    else found.push(t);
  }
  return found;
}

function residualHolds(trigger: CompiledTrigger, facts: EventFacts): boolean {
  const residual = trigger.residual;
  for (let i = 0; i < residual.length; i++) if (!residual[i]!(facts)) return false;
  return true;
}

/** Why one trigger of a granted app did not fire (stateless reasons, in the contract's order). */
export interface Explanation {
  triggerId: string;
  appId: string;
  version: number;
  reasons: StatelessReason[];
}

/**
 * For a purchase: the triggers of the granted apps that name this event's merchant, MID, MCC or merchant name
 * (at least one of those they name holds) but do not match, with every reason. Triggers naming no merchant are
 * left out (they would be listed on every event), and so are the matches evaluate() returns.
 * Walks all of the granted apps' triggers: for the activity page and backtests, not the ingest path.
 */
export function explain(index: TriggerIndex, event: RuleEvent, grants: readonly Grant[]): Explanation[] {
  if (!isPurchase(event)) return [];
  const facts = new EventFacts(event);
  const explanations: Explanation[] = [];
  for (const grant of grants) {
    for (const trigger of index.apps.get(grant.appId)?.all.values() ?? []) {
      if (!trigger.namesMerchant || !namesThisMerchant(trigger, facts)) continue;
      const reasons = failedChecks(trigger, facts);
      if (!grant.scopes.has(trigger.scope)) reasons.push('scope_not_granted');
      if (trigger.status !== 'active') reasons.push('trigger_paused');
      if (reasons.length > 0)
        explanations.push({ triggerId: trigger.id, appId: trigger.appId, version: trigger.version, reasons });
    }
  }
  return explanations;
}

/** The reasons of the trigger's stateless conditions that do not hold (each reason once). */
export function failedChecks(trigger: CompiledTrigger, facts: EventFacts): StatelessReason[] {
  const reasons: StatelessReason[] = [];
  for (const check of checksOf(trigger))
    if (!check.holds(facts) && !reasons.includes(check.reason)) reasons.push(check.reason);
  return reasons;
}

function namesThisMerchant(trigger: CompiledTrigger, facts: EventFacts): boolean {
  const { match } = trigger;
  const { event } = facts;
  return (
    (match.mids?.includes(event.mid) ?? false) ||
    (event.merchantId !== null && (match.merchant_ids?.includes(event.merchantId) ?? false)) ||
    (event.mcc !== null && (match.mccs?.includes(event.mcc) ?? false)) ||
    (match.merchant_name_contains !== undefined &&
      facts.lowerName?.includes(match.merchant_name_contains.toLowerCase()) === true)
  );
}
