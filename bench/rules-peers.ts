/**
 * The peers `npm run bench -- rules` measures the index against, each given the same triggers and events:
 * json-rules-engine (the most used Node rules engine) and a plain scan of every compiled trigger.
 */
import { Engine, type NestedCondition, type RuleProperties } from 'json-rules-engine';
import type { Check, CompiledTrigger, RuleTrigger } from '../src/rules/compile.ts';
import { EVENT_TYPES_THAT_FIRE, SCOPE_OF_ACTION } from '../src/rules/dsl.ts';
import { EventFacts, type Grant, isPurchase, type RuleEvent } from '../src/rules/event.ts';

/** A json-rules-engine engine with one rule per trigger, the same stateless conditions and the grant check. */
export function jsonRulesEngine(triggers: readonly RuleTrigger[]): Engine {
  const engine = new Engine([], { allowUndefinedFacts: false });
  engine.addOperator('includesText', (fact: string | null, value: string) => fact?.includes(value) === true);
  for (const trigger of triggers) if (trigger.status === 'active') engine.addRule(ruleOf(trigger));
  return engine;
}

function ruleOf(trigger: RuleTrigger): RuleProperties {
  const m = trigger.match;
  const all: NestedCondition[] = [
    {
      fact: 'grantedScopes',
      operator: 'contains',
      value: `${trigger.appId}:${SCOPE_OF_ACTION[trigger.action.type]}`,
    },
    { fact: 'type', operator: 'in', value: m.event_types ?? [...EVENT_TYPES_THAT_FIRE] },
  ];
  const among = (fact: string, values: readonly unknown[] | undefined) => {
    if (values) all.push({ fact, operator: 'in', value: values });
  };
  among('mid', m.mids);
  among('merchantId', m.merchant_ids);
  among('mcc', m.mccs);
  among('merchantCountry', m.countries);
  among('currency', m.currencies);
  if (trigger.action.type === 'cashback' && trigger.limits.budget)
    all.push({ fact: 'currency', operator: 'equal', value: trigger.limits.budget.currency });
  among('cardScheme', m.schemes);
  among('entryMode', m.entry_modes);
  among('weekday', m.days_of_week);
  if (m.amount_min !== undefined)
    all.push({ fact: 'amount', operator: 'greaterThanInclusive', value: m.amount_min });
  if (m.amount_max !== undefined)
    all.push({ fact: 'amount', operator: 'lessThanInclusive', value: m.amount_max });
  if (m.local_time) {
    // Its number operators compare numbers only: the window in minutes since midnight.
    const minutes = (clock: string) => Number(clock.slice(0, 2)) * 60 + Number(clock.slice(3));
    const from = { fact: 'minute', operator: 'greaterThanInclusive', value: minutes(m.local_time.from) };
    const to = { fact: 'minute', operator: 'lessThan', value: minutes(m.local_time.to) };
    all.push(from.value < to.value ? { all: [from, to] } : { any: [from, to] });
  }
  if (m.starts_at)
    all.push({ fact: 'instant', operator: 'greaterThanInclusive', value: Date.parse(m.starts_at) });
  if (m.ends_at) all.push({ fact: 'instant', operator: 'lessThanInclusive', value: Date.parse(m.ends_at) });
  if (m.merchant_name_contains)
    all.push({ fact: 'lowerName', operator: 'includesText', value: m.merchant_name_contains.toLowerCase() });
  return { conditions: { all }, event: { type: trigger.id } };
}

/** The facts json-rules-engine reads for one event (derived ones worked out once, as the index does). */
export function factsOf(event: RuleEvent, grants: readonly Grant[]): Record<string, unknown> {
  const facts = new EventFacts(event);
  return {
    ...event,
    grantedScopes: grants.flatMap((g) => [...g.scopes].map((scope) => `${g.appId}:${scope}`)),
    weekday: facts.weekday,
    minute: facts.minuteOfDay,
    instant: facts.instant,
    lowerName: facts.lowerName,
  };
}

/** The ids json-rules-engine fires for one event, sorted. */
export async function jsonRulesMatches(engine: Engine, event: RuleEvent, grants: readonly Grant[]) {
  const { events } = await engine.run(factsOf(event, grants));
  return events.map((e) => e.type).sort();
}

/**
 * Every compiled trigger checked in turn (its amount range, then every condition), kept when the user granted its
 * app the scope: what the index is there to avoid.
 */
export function linearScan(
  all: readonly { trigger: CompiledTrigger; checks: readonly Check[] }[],
  event: RuleEvent,
  grantsByApp: ReadonlyMap<string, Grant>,
): CompiledTrigger[] {
  const matches: CompiledTrigger[] = [];
  if (!isPurchase(event)) return matches;
  const facts = new EventFacts(event);
  for (const { trigger, checks } of all) {
    if (event.amount < trigger.amountMin || event.amount > trigger.amountMax) continue;
    if (!checks.every((check) => check.holds(facts))) continue;
    if (grantsByApp.get(trigger.appId)?.scopes.has(trigger.scope)) matches.push(trigger);
  }
  return matches;
}
