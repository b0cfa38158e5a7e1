import type { CompiledTrigger, Predicate } from './compile.ts';
import { SCOPE_OF_ACTION } from './dsl.ts';
import type { RuleEvent } from './event.ts';

/**
 * Each listed trigger has a small integer ref, and a record of RECORD int32s with what evaluate() checks before
 * it reads the trigger object: at 100,000 triggers the objects are far apart in memory, and a candidate rejected
 * from its record (most are) costs no read of the heap, where the object cost several cache misses
 * (bench/README.md, "Rules engine").
 *
 * Record: [amountMin, amountMax, dayTime, screen], where
 * - amountMin and amountMax are the bounds where they fit an int32 (none: the int32 extremes); a bound that does
 *   not fit is clamped and EXACT_AMOUNT set, and an event amount that does not fit skips these two: both are
 *   then checked on the object;
 * - dayTime = the day mask's bits 1–7 (ISO days) in bits 0–6 | timeFrom << 7 | timeTo << 18 | RESIDUAL (bit 29):
 *   the trigger has closures left to run (`residual`) | DATED (bit 30): it has a date range, read from the object
 *   (a tenth of triggers: bigger records cost more than they saved);
 * - screen = the screen of the small equality fields (bits 0–25, see SCREEN) | the scope's position in SCOPES
 *   (bits 26–29) | EXACT_AMOUNT (bit 30).
 * A record is kept in each list entry of its trigger (key-lists.ts), next to its slot and ref: a candidate is
 * checked from the cache lines its list brought in, and its trigger object read only if it matches.
 */
export const RECORD = 4;
export const RESIDUAL = 1 << 29;
export const DATED = 1 << 30;
export const SCREEN_BITS = 26;
export const EXACT_AMOUNT = 1 << 30;
const SCREEN_MASK = (1 << SCREEN_BITS) - 1;
export const INT32_MIN = -(2 ** 31);
export const INT32_MAX = 2 ** 31 - 1;

/** The scopes actions need, by position (the record keeps a position, evaluate() reads the name back). */
export const SCOPES: readonly string[] = [...new Set(Object.values(SCOPE_OF_ACTION))];

export interface TriggerRecords {
  /** The record of the trigger being listed, copied into each of its list entries. */
  readonly record: Int32Array;
  /** The compiled trigger of each ref (undefined: a free ref). */
  readonly byRef: (CompiledTrigger | undefined)[];
  /** Per ref, the closures of the conditions the screen does not decide (undefined: none). */
  readonly residual: (Predicate[] | undefined)[];
  readonly freeRefs: number[];
  /** Per field of SCREEN: the bit given to each value (the index's own, as its triggers named them). */
  readonly screenBits: Map<string, number>[];
}

export function createTriggerRecords(): TriggerRecords {
  return {
    record: new Int32Array(RECORD),
    byRef: [],
    residual: [],
    freeRefs: [],
    screenBits: SCREEN.map(() => new Map()),
  };
}

/** A ref for a new trigger (a freed one first). */
export function newRef(records: TriggerRecords): number {
  return records.freeRefs.pop() ?? records.byRef.length;
}

export function freeRef(records: TriggerRecords, ref: number): void {
  records.byRef[ref] = undefined;
  records.residual[ref] = undefined;
  records.freeRefs.push(ref);
}

/** Stores a trigger (a new version replaces the previous one in place) under its ref, and its record in `record`. */
export function writeRecord(records: TriggerRecords, ref: number, trigger: CompiledTrigger): void {
  records.byRef[ref] = trigger;
  const { screen, residual } = screenOf(records, trigger);
  records.residual[ref] = residual;
  const record = records.record;
  const fits = (bound: number) => Number.isInteger(bound) && bound >= INT32_MIN && bound <= INT32_MAX;
  const { amountMin, amountMax } = trigger;
  const exact =
    (amountMin !== Number.NEGATIVE_INFINITY && !fits(amountMin)) ||
    (amountMax !== Number.POSITIVE_INFINITY && !fits(amountMax));
  record[0] = fits(amountMin) ? amountMin : amountMin > 0 ? INT32_MAX : INT32_MIN;
  record[1] = fits(amountMax) ? amountMax : amountMax < 0 ? INT32_MIN : INT32_MAX;
  record[2] =
    (trigger.dayMask >> 1) |
    (trigger.timeFrom << 7) |
    (trigger.timeTo << 18) |
    (residual !== undefined ? RESIDUAL : 0) |
    (trigger.hasDateRange ? DATED : 0);
  record[3] = screen | (SCOPES.indexOf(trigger.scope) << SCREEN_BITS) | (exact ? EXACT_AMOUNT : 0);
}

/**
 * The screen: each small equality field has a few bits of a 26-bit mask, one per value triggers named first and
 * the last for any other value. A trigger sets the bits of the values it names in a field (all of the field's
 * bits when it names none), an event the bit of its value in each; the trigger's conditions on these fields can
 * hold only if `(trigger & event) === event`, and when none of its values fell on the shared last bit that is
 * exact, so its closure is left out. Most candidates whose other conditions hold are then decided from the
 * record alone, without reading the trigger's closures (several cache misses at 100,000 triggers).
 * Bits are given for good (a value keeps its bit even when no trigger names it any more): an event must read a
 * value's bit as every trigger that named it did.
 */
const SCREEN = [
  { field: 'country', base: 0, size: 7, of: (e: RuleEvent) => e.merchantCountry },
  { field: 'currency', base: 7, size: 6, of: (e: RuleEvent) => e.currency },
  { field: 'scheme', base: 13, size: 5, of: (e: RuleEvent) => e.cardScheme },
  { field: 'entry_mode', base: 18, size: 5, of: (e: RuleEvent) => e.entryMode },
  { field: 'event_type', base: 23, size: 3, of: (e: RuleEvent) => e.type },
] as const;
const SCREEN_POSITION: Readonly<Record<string, number>> = Object.fromEntries(
  SCREEN.map(({ field }, position) => [field, position]),
);
const fieldMask = (size: number, base: number) => ((1 << size) - 1) << base;
const otherBit = (size: number, base: number) => 1 << (base + size - 1);

function screenOf(records: TriggerRecords, trigger: CompiledTrigger) {
  let screen = SCREEN_MASK;
  const residual: Predicate[] = [];
  for (const condition of trigger.residual) {
    const position = SCREEN_POSITION[condition.field];
    if (position === undefined) {
      residual.push(condition.holds);
      continue;
    }
    const { base, size } = SCREEN[position]!;
    const bits = records.screenBits[position]!;
    const other = otherBit(size, base);
    let named = 0;
    for (const value of condition.values) {
      let bit = bits.get(value);
      if (bit === undefined && bits.size < size - 1) {
        bit = 1 << (base + bits.size);
        bits.set(value, bit);
      }
      named |= bit ?? other;
    }
    screen = (screen & ~fieldMask(size, base)) | named;
    if ((named & other) !== 0) residual.push(condition.holds);
  }
  return { screen, residual: residual.length > 0 ? residual : undefined };
}

/** An event's screen: the bit of its value in each field (a value no trigger named, or none: the last bit). */
export function eventScreen(records: TriggerRecords, event: RuleEvent): number {
  let screen = 0;
  for (let position = 0; position < SCREEN.length; position++) {
    const { base, size, of } = SCREEN[position]!;
    const value = of(event);
    screen |= (value === null ? undefined : records.screenBits[position]!.get(value)) ?? otherBit(size, base);
  }
  return screen;
}
