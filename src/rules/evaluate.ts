import type { CompiledTrigger } from './compile.ts';
import * as compile from './compile.ts';
import type { Grant, RuleEvent } from './event.ts';
import * as events from './event.ts';
import * as keyLists from './key-lists.ts';
import type { StatelessReason } from './reasons.ts';
import type { Scratch, TriggerIndex } from './trigger-index.ts';
import * as records from './trigger-records.ts';

// Copied into local bindings once: under tsx (how the API runs) an imported binding is read through a getter on
// every use, which cost a seventh of evaluate()'s time in a profile.
const { checksOf, inWindow, MINUTES_PER_DAY } = compile;
const { EventFacts, instantOf, isoWeekday, isPurchase, minuteOfDay } = events;
const { slotHash } = keyLists;
const { DATED, EXACT_AMOUNT, eventScreen, INT32_MAX, INT32_MIN, RESIDUAL, SCOPES, SCREEN_BITS } = records;
const { TAIL } = keyLists;
type EventFacts = events.EventFacts;

const NO_MATCHES: readonly CompiledTrigger[] = Object.freeze([]);
const ANY_DAY = 0x7f;
const LAST_STAMP = 0x3fff_ffff;

/**
 * The active triggers of the granted apps whose stateless conditions hold for a purchase and whose action's scope
 * the user granted (limits and stamp cards are decide()'s). Refunds and reversals match nothing.
 * Reads only the lists under the event's own MID, merchant, MCC, country, currency, scheme and type, plus the
 * granted apps' unkeyed lists. An app granted twice is read once, with its first grant.
 */
export function evaluate(
  index: TriggerIndex,
  event: RuleEvent,
  grants: readonly Grant[],
): readonly CompiledTrigger[] {
  if (!isPurchase(event) || grants.length === 0) return NO_MATCHES;
  if (touch(event, grants) < 0) return NO_MATCHES;
  const scratch = index.scratch;
  const count = markGranted(scratch, grants);
  if (count === 0) return NO_MATCHES;
  scratch.factsOf = null;
  scratch.weekday = 0;
  scratch.minute = -1;
  scratch.instant = Number.NaN;
  scratch.screen = -1;
  scratch.amountFits =
    Number.isInteger(event.amount) && event.amount >= INT32_MIN && event.amount <= INT32_MAX;
  let found: CompiledTrigger[] | undefined;
  if (index.unkeyedCount > 0) {
    const { granted, unkeyedMin, unkeyedMax, unkeyedList } = scratch;
    const amount = event.amount;
    for (let g = 0; g < count; g++) {
      const slot = granted[g]!;
      if (amount >= unkeyedMin[slot]! && amount <= unkeyedMax[slot]!)
        found = collect(index, unkeyedList[slot]!, count, event, grants, found);
    }
  }
  const { listed, listedPerField } = index;
  if (listedPerField[0]! > 0) found = collect(index, listed[0]!.get(event.mid), count, event, grants, found);
  if (listedPerField[1]! > 0 && event.merchantId !== null)
    found = collect(index, listed[1]!.get(event.merchantId), count, event, grants, found);
  if (listedPerField[2]! > 0 && event.mcc !== null)
    found = collect(index, listed[2]!.get(event.mcc), count, event, grants, found);
  if (listedPerField[3]! > 0 && event.merchantCountry !== null)
    found = collect(index, listed[3]!.get(event.merchantCountry), count, event, grants, found);
  if (listedPerField[4]! > 0)
    found = collect(index, listed[4]!.get(event.currency), count, event, grants, found);
  if (listedPerField[5]! > 0)
    found = collect(index, listed[5]!.get(event.cardScheme), count, event, grants, found);
  if (listedPerField[6]! > 0) found = collect(index, listed[6]!.get(event.type), count, event, grants, found);
  return found ?? NO_MATCHES;
}

/**
 * Reads the strings the lookups below hash, before any lookup: each is a cache miss when the event and grants
 * come cold from memory, and in this short loop the processor waits for all of them at once, where inside the
 * Map lookups it would wait for one after another. Never negative; the caller tests it so it is not optimized out.
 */
function touch(event: RuleEvent, grants: readonly Grant[]): number {
  let sum = event.mid.length + event.localAt.length;
  if (event.merchantId !== null) sum += event.merchantId.length;
  if (event.mcc !== null) sum += event.mcc.length;
  for (let k = 0; k < grants.length; k++) sum += grants[k]!.appId.length;
  return sum;
}

/** Stamps the slots of the granted apps for this event; answers how many there are (in `scratch.granted`). */
function markGranted(scratch: Scratch, grants: readonly Grant[]): number {
  let stamp = scratch.stamp + 1;
  if (stamp > LAST_STAMP) {
    scratch.grantStamp.fill(0);
    stamp = 1;
  }
  scratch.stamp = stamp;
  if (scratch.granted.length < grants.length) scratch.granted = new Int32Array(grants.length * 2);
  const { slotOf, grantStamp, grantAt, granted } = scratch;
  let count = 0;
  for (let k = 0; k < grants.length; k++) {
    const slot = slotOf.get(grants[k]!.appId);
    if (slot === undefined || grantStamp[slot] === stamp) continue;
    grantStamp[slot] = stamp;
    grantAt[slot] = k;
    granted[count++] = slot;
  }
  return count;
}

/** The matches among a list's entries of granted apps: every slot read, or each granted app looked up (broad). */
function collect(
  index: TriggerIndex,
  handle: number | undefined,
  count: number,
  event: RuleEvent,
  grants: readonly Grant[],
  found: CompiledTrigger[] | undefined,
): CompiledTrigger[] | undefined {
  if (handle === undefined) return found;
  const lists = index.lists;
  const length = lists.length[handle]!;
  if (length === 0) return found;
  const { pool } = lists;
  const start = lists.at[handle]!;
  const end = start + length;
  const tails = start + lists.capacity[handle]! - start * TAIL;
  const { grantStamp, stamp } = index.scratch;
  const table = lists.bySlot[handle];
  if (table === null || table === undefined) {
    for (let i = start; i < end; i++) {
      const slot = pool[i]!;
      if (grantStamp[slot] === stamp)
        found = check(index, pool, tails + i * TAIL, slot, event, grants, found);
    }
    return found;
  }
  const granted = index.scratch.granted;
  const words = table[0]!;
  const bits = table[1]!;
  const base = 2 + words;
  const mask = (1 << bits) - 1;
  for (let g = 0; g < count; g++) {
    const slot = granted[g]!;
    if (words > 0) {
      const word = slot >> 5;
      if (word >= words || ((table[2 + word]! >>> (slot & 31)) & 1) === 0) continue;
    }
    let entry = slotHash(slot, bits);
    let first = -1;
    for (let key = table[base + entry * 2]!; key !== 0; key = table[base + entry * 2]!) {
      if (key === slot + 1) {
        first = start + table[base + entry * 2 + 1]!;
        break;
      }
      entry = (entry + 1) & mask;
    }
    if (first < 0) continue;
    for (let i = first; i < end && pool[i] === slot; i++)
      found = check(index, pool, tails + i * TAIL, slot, event, grants, found);
  }
  return found;
}

/**
 * Whether a listed trigger's conditions other than its key hold and its action's scope is granted, from its
 * record first (trigger-records.ts), then, only if it has some, its closures.
 */
function check(
  index: TriggerIndex,
  record: Int32Array,
  tail: number,
  slot: number,
  event: RuleEvent,
  grants: readonly Grant[],
  found: CompiledTrigger[] | undefined,
): CompiledTrigger[] | undefined {
  const ref = record[tail]!;
  const at = tail + 1;
  const amount = event.amount;
  const scratch = index.scratch;
  if (scratch.amountFits && (amount < record[at]! || amount > record[at + 1]!)) return found;
  const dayTime = record[at + 2]!;
  const days = dayTime & ANY_DAY;
  if (days !== ANY_DAY) {
    if (scratch.weekday === 0) scratch.weekday = isoWeekday(event.localAt);
    if ((days & (1 << (scratch.weekday - 1))) === 0) return found;
  }
  const from = (dayTime >>> 7) & 0x7ff;
  const to = (dayTime >>> 18) & 0x7ff;
  if (to - from !== MINUTES_PER_DAY) {
    if (scratch.minute < 0) scratch.minute = minuteOfDay(event.localAt);
    if (!inWindow(from, to, scratch.minute)) return found;
  }
  const screen = record[at + 3]!;
  if (scratch.screen < 0) scratch.screen = eventScreen(index.records, event);
  if ((screen & scratch.screen) !== scratch.screen) return found;
  if (!grants[scratch.grantAt[slot]!]!.scopes.has(SCOPES[(screen >>> SCREEN_BITS) & 15]!)) return found;
  const trigger = index.records.byRef[ref]!;
  if (
    (!scratch.amountFits || (screen & EXACT_AMOUNT) !== 0) &&
    !(amount >= trigger.amountMin && amount <= trigger.amountMax)
  )
    return found;
  if ((dayTime & DATED) !== 0) {
    // NaN (unreadable) holds no date range, as in EventFacts.
    if (Number.isNaN(scratch.instant)) scratch.instant = instantOf(event.occurredAt);
    if (!(scratch.instant >= trigger.startsAt && scratch.instant <= trigger.endsAt)) return found;
  }
  if ((dayTime & RESIDUAL) !== 0) {
    if (scratch.factsOf !== event) {
      scratch.facts.reset(event);
      scratch.factsOf = event;
    }
    const residual = index.records.residual[ref]!;
    for (let i = 0; i < residual.length; i++) if (!residual[i]!(scratch.facts)) return found;
  }
  if (found === undefined) return [trigger];
  found.push(trigger);
  return found;
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
