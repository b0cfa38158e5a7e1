import type { RuleTrigger } from '../../src/rules/compile.ts';
import { SCOPE_OF_ACTION } from '../../src/rules/dsl.ts';
import type { Grant, RuleEvent } from '../../src/rules/event.ts';

/**
 * The naive reference the index must agree with: every trigger, every condition, read straight from the DSL,
 * written without anything of src/rules but its types and the scope table.
 */
export function referenceMatches(
  triggers: readonly RuleTrigger[],
  event: RuleEvent,
  grants: readonly Grant[],
) {
  if (event.type === 'refund' || event.type === 'reversal') return [];
  return triggers
    .filter((trigger) => {
      if (trigger.status !== 'active') return false;
      const grant = grants.find((g) => g.appId === trigger.appId);
      return (
        grant?.scopes.has(SCOPE_OF_ACTION[trigger.action.type]) === true && referenceHolds(trigger, event)
      );
    })
    .map((trigger) => trigger.id)
    .sort();
}

export function referenceHolds(trigger: RuleTrigger, event: RuleEvent): boolean {
  const m = trigger.match;
  const among = <T>(list: readonly T[] | undefined, value: T) => list === undefined || list.includes(value);
  // Wall clock read as if it were UTC: the fields are then the local ones.
  const local = new Date(`${event.localAt.slice(0, 19)}Z`);
  const isoDay = local.getUTCDay() === 0 ? 7 : local.getUTCDay();
  const clock = event.localAt.slice(11, 16);
  const inWindow = (from: string, to: string) =>
    from < to ? clock >= from && clock < to : clock >= from || clock < to;
  const instant = new Date(event.occurredAt).getTime();
  const budget = trigger.limits.budget;
  return (
    among(m.event_types, event.type as 'authorization' | 'clearing') &&
    (m.merchant_ids === undefined ||
      (event.merchantId !== null && m.merchant_ids.includes(event.merchantId))) &&
    among(m.mids, event.mid) &&
    (m.mccs === undefined || (event.mcc !== null && m.mccs.includes(event.mcc))) &&
    (m.countries === undefined ||
      (event.merchantCountry !== null && m.countries.includes(event.merchantCountry))) &&
    among(m.currencies, event.currency) &&
    (trigger.action.type !== 'cashback' || budget === undefined || budget.currency === event.currency) &&
    (m.schemes === undefined || (m.schemes as string[]).includes(event.cardScheme)) &&
    (m.entry_modes === undefined ||
      (event.entryMode !== null && (m.entry_modes as string[]).includes(event.entryMode))) &&
    (m.amount_min === undefined || event.amount >= m.amount_min) &&
    (m.amount_max === undefined || event.amount <= m.amount_max) &&
    among(m.days_of_week, isoDay) &&
    (m.local_time === undefined || inWindow(m.local_time.from, m.local_time.to)) &&
    (m.starts_at === undefined || instant >= new Date(m.starts_at).getTime()) &&
    (m.ends_at === undefined || instant <= new Date(m.ends_at).getTime()) &&
    (m.merchant_name_contains === undefined ||
      (event.merchantName ?? '').toLowerCase().includes(m.merchant_name_contains.toLowerCase()))
  );
}
