import {
  EVENT_TYPES_THAT_FIRE,
  SCOPE_OF_ACTION,
  type TriggerAction,
  type TriggerLimits,
  type TriggerMatch,
  type TriggerStatus,
} from './dsl.ts';
import type { EventFacts, RuleEvent } from './event.ts';
import { STATELESS_REASONS, type StatelessReason } from './reasons.ts';

/** A trigger as the engine receives it: the stored row's parts that decide whether it fires. */
export interface RuleTrigger {
  id: string;
  appId: string;
  version: number;
  status: TriggerStatus;
  match: TriggerMatch;
  limits: TriggerLimits;
  action: TriggerAction;
}

/**
 * The equality fields a trigger can be indexed under, most selective first: a MID is one acceptor account, a
 * merchant id groups a brand's MIDs, an MCC a whole trade (about 300 in use); country, currency, scheme and event
 * type split purchases into a handful of large groups. A trigger is listed under the first field it names.
 */
export const KEY_FIELDS = [
  'mid',
  'merchant_id',
  'mcc',
  'country',
  'currency',
  'scheme',
  'event_type',
] as const;
export type KeyField = (typeof KEY_FIELDS)[number];

/** The value of a key field in an event (null: the event has none, so no trigger keyed on it matches). */
export function keyOf(event: RuleEvent, field: KeyField): string | null {
  switch (field) {
    case 'mid':
      return event.mid;
    case 'merchant_id':
      return event.merchantId;
    case 'mcc':
      return event.mcc;
    case 'country':
      return event.merchantCountry;
    case 'currency':
      return event.currency;
    case 'scheme':
      return event.cardScheme;
    case 'event_type':
      return event.type;
  }
}

export type Predicate = (facts: EventFacts) => boolean;

/** One condition of a trigger and the reason given when it does not hold. */
export interface Check {
  reason: StatelessReason;
  holds: Predicate;
}

/** A trigger turned into what the index lists and the closures that check it. */
export interface CompiledTrigger {
  readonly id: string;
  readonly appId: string;
  readonly version: number;
  readonly status: TriggerStatus;
  readonly match: TriggerMatch;
  readonly limits: TriggerLimits;
  readonly action: TriggerAction;
  /** The scope the user must grant the app for this trigger's action. */
  readonly scope: string;
  /** The field the index lists this trigger under (null: the list of triggers naming no key field). */
  readonly key: KeyField | null;
  /** The values listed under (empty for an unkeyed trigger, or a keyed one that can never match). */
  readonly keyValues: readonly string[];
  // The range conditions as numbers, checked in line on the hot path (no closure call, no extra object touched).
  readonly amountMin: number;
  readonly amountMax: number;
  /** Bit d set: ISO day d allowed (ANY_DAY when days_of_week is absent). */
  readonly dayMask: number;
  /** The local-time window in minutes since midnight, `from` included, `to` not (from 0 to 1440 when absent). */
  readonly timeFrom: number;
  readonly timeTo: number;
  /** Whether starts_at or ends_at is set: only then is the event's instant parsed. */
  readonly hasDateRange: boolean;
  /** starts_at and ends_at in epoch milliseconds, both included (infinite when absent). */
  readonly startsAt: number;
  readonly endsAt: number;
  /** The conditions left after the key and the ranges: equality fields other than the key, entry modes, name. */
  readonly residual: readonly ResidualCondition[];
  /** Whether the trigger names a merchant, MID, MCC or merchant name (explanations cover only those). */
  readonly namesMerchant: boolean;
}

/**
 * A condition checked after the key and the ranges: the event field it reads, the values it accepts (the needle
 * for a name), and its closure. The index reads `field` and `values` to screen small fields without the closure.
 */
export interface ResidualCondition {
  readonly field: KeyField | 'entry_mode' | 'merchant_name';
  readonly values: readonly string[];
  readonly holds: Predicate;
}

interface EqualityCondition {
  field: KeyField;
  values: readonly string[];
  reason: StatelessReason;
}

/** Compiles one trigger; the input is the DSL's parsed output, so its values are already checked. */
export function compileTrigger(trigger: RuleTrigger): CompiledTrigger {
  const { match } = trigger;
  const [keyCondition, ...otherEqualities] = equalityConditions(trigger);
  const residual: ResidualCondition[] = otherEqualities.map((condition) => ({
    field: condition.field,
    values: condition.values,
    holds: equalityPredicate(condition),
  }));
  if (match.entry_modes)
    residual.push({
      field: 'entry_mode',
      values: match.entry_modes,
      holds: among(match.entry_modes, 'entryMode'),
    });
  if (match.merchant_name_contains)
    residual.push({
      field: 'merchant_name',
      values: [match.merchant_name_contains],
      holds: nameHolds(match.merchant_name_contains),
    });
  return {
    id: trigger.id,
    appId: trigger.appId,
    version: trigger.version,
    status: trigger.status,
    match,
    limits: trigger.limits,
    action: trigger.action,
    scope: SCOPE_OF_ACTION[trigger.action.type],
    key: keyCondition?.field ?? null,
    // Once each: a value named twice would list the trigger twice under it.
    keyValues: keyCondition ? [...new Set(keyCondition.values)] : NONE,
    ...rangesOf(match),
    residual: residual.length > 0 ? residual : NONE,
    namesMerchant:
      match.merchant_ids !== undefined ||
      match.mids !== undefined ||
      match.mccs !== undefined ||
      match.merchant_name_contains !== undefined,
  };
}

const NONE: readonly never[] = Object.freeze([]);

/**
 * Every stateless condition of a trigger with its reason, in the contract's order, the key and ranges included.
 * Built on demand (explanations, backtests, full scans): kept on every trigger they would double the index's heap.
 */
export function checksOf(trigger: CompiledTrigger): Check[] {
  const checks = [
    ...equalityConditions(trigger).map((condition) => ({
      reason: condition.reason,
      holds: equalityPredicate(condition),
    })),
    ...rangeChecks(trigger.match, trigger),
    ...otherChecks(trigger.match),
  ];
  return checks.sort((a, b) => STATELESS_REASONS.indexOf(a.reason) - STATELESS_REASONS.indexOf(b.reason));
}

/** The equality conditions of a trigger in KEY_FIELDS order (the first one is its index key). */
function equalityConditions(trigger: Pick<RuleTrigger, 'match' | 'limits' | 'action'>): EqualityCondition[] {
  const { match } = trigger;
  const conditions: EqualityCondition[] = [];
  const add = (field: KeyField, values: readonly string[] | undefined, reason: StatelessReason) => {
    if (values) conditions.push({ field, values, reason });
  };
  add('mid', match.mids, 'merchant_mismatch');
  add('merchant_id', match.merchant_ids, 'merchant_mismatch');
  add('mcc', match.mccs, 'mcc_mismatch');
  add('country', match.countries, 'country_mismatch');
  add('currency', effectiveCurrencies(trigger), 'currency_mismatch');
  add('scheme', match.schemes, 'scheme_mismatch');
  // Naming both purchase types is the same as naming none (refunds and reversals are turned away earlier).
  const types = match.event_types;
  add(
    'event_type',
    types && types.length < EVENT_TYPES_THAT_FIRE.length ? types : undefined,
    'event_type_mismatch',
  );
  return conditions;
}

/**
 * A cashback budget counts rewards in its own currency only, and a cashback is paid in the purchase's currency:
 * so purchases in another currency do not match a trigger whose cashback has a budget (currency_mismatch), and a
 * trigger naming currencies keeps only the budget's.
 */
function effectiveCurrencies(
  trigger: Pick<RuleTrigger, 'match' | 'limits' | 'action'>,
): readonly string[] | undefined {
  const named = trigger.match.currencies;
  const budget = trigger.limits.budget;
  if (trigger.action.type !== 'cashback' || !budget) return named;
  return named ? named.filter((currency) => currency === budget.currency) : [budget.currency];
}

function equalityPredicate({ field, values }: EqualityCondition): Predicate {
  const [only] = values;
  if (values.length === 1) return (f) => keyOf(f.event, field) === only;
  return (f) => {
    const value = keyOf(f.event, field);
    return value !== null && values.includes(value);
  };
}

/** A membership test on an event field; lists are short, and an array takes less memory than a Set. */
function among(values: readonly string[], field: 'entryMode'): Predicate {
  return (f) => {
    const value = f.event[field];
    return value !== null && values.includes(value);
  };
}

export const ANY_DAY = 0b1111_1110;
export const MINUTES_PER_DAY = 1440;

type Ranges = Pick<
  CompiledTrigger,
  'amountMin' | 'amountMax' | 'dayMask' | 'timeFrom' | 'timeTo' | 'hasDateRange' | 'startsAt' | 'endsAt'
>;

function rangesOf(match: TriggerMatch): Ranges {
  let dayMask = ANY_DAY;
  if (match.days_of_week) dayMask = match.days_of_week.reduce((mask, day) => mask | (1 << day), 0);
  return {
    amountMin: match.amount_min ?? Number.NEGATIVE_INFINITY,
    amountMax: match.amount_max ?? Number.POSITIVE_INFINITY,
    dayMask,
    timeFrom: match.local_time ? clockMinutes(match.local_time.from) : 0,
    timeTo: match.local_time ? clockMinutes(match.local_time.to) : MINUTES_PER_DAY,
    hasDateRange: match.starts_at !== undefined || match.ends_at !== undefined,
    startsAt: match.starts_at ? Date.parse(match.starts_at) : Number.NEGATIVE_INFINITY,
    // Inclusive: "2026-12-31T23:59:59Z" still holds at that second.
    endsAt: match.ends_at ? Date.parse(match.ends_at) : Number.POSITIVE_INFINITY,
  };
}

/** Whether a minute of the local day falls in a window; a window whose end comes before its start passes midnight. */
export const inWindow = (from: number, to: number, minute: number): boolean =>
  from < to ? minute >= from && minute < to : minute >= from || minute < to;

/** The range conditions as checks, for explanations (the hot path reads the same numbers in line). */
function rangeChecks(match: TriggerMatch, r: Ranges): Check[] {
  const checks: Check[] = [];
  if (match.amount_min !== undefined)
    checks.push({ reason: 'amount_below_min', holds: (f) => f.event.amount >= r.amountMin });
  if (match.amount_max !== undefined)
    checks.push({ reason: 'amount_above_max', holds: (f) => f.event.amount <= r.amountMax });
  if (match.days_of_week)
    checks.push({ reason: 'wrong_day', holds: (f) => (r.dayMask & (1 << f.weekday)) !== 0 });
  if (match.local_time)
    checks.push({
      reason: 'outside_local_time',
      holds: (f) => inWindow(r.timeFrom, r.timeTo, f.minuteOfDay),
    });
  if (match.starts_at) checks.push({ reason: 'not_started', holds: (f) => f.instant >= r.startsAt });
  if (match.ends_at) checks.push({ reason: 'ended', holds: (f) => f.instant <= r.endsAt });
  return checks;
}

function otherChecks(match: TriggerMatch): Check[] {
  const checks: Check[] = [];
  if (match.entry_modes)
    checks.push({ reason: 'entry_mode_mismatch', holds: among(match.entry_modes, 'entryMode') });
  if (match.merchant_name_contains)
    checks.push({ reason: 'merchant_mismatch', holds: nameHolds(match.merchant_name_contains) });
  return checks;
}

function nameHolds(contains: string): Predicate {
  const needle = contains.toLowerCase();
  return (f) => f.lowerName?.includes(needle) === true;
}

const clockMinutes = (clock: string) => Number(clock.slice(0, 2)) * 60 + Number(clock.slice(3, 5));
