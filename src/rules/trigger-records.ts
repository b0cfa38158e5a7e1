import type { CompiledTrigger } from './compile.ts';
import { SCOPE_OF_ACTION } from './dsl.ts';
import type { RuleEvent } from './event.ts';

/**
 * Each listed trigger has a small integer ref, and under it a record of RECORD int32s with what evaluate() checks
 * before it reads the trigger object: at 100,000 triggers the objects are far apart in memory, and a candidate
 * rejected from its record (most are) costs one read of a compact array (16 bytes a trigger, 1.6 MB for 100,000)
 * instead of several cache misses in the heap (bench/README.md, "Rules engine").
 *
 * Record: [amountMin, amountMax, dayTime, screen], where
 * - amountMin and amountMax are the bounds where they fit an int32 (none: the int32 extremes); a bound that does
 *   not fit is clamped and EXACT_AMOUNT set, and an event amount that does not fit skips these two: both are
 *   then checked on the object;
 * - dayTime = the day mask's bits 1–7 (ISO days) in bits 0–6 | timeFrom << 7 | timeTo << 18 | RESIDUAL (bit 29):
 *   the trigger has closures left to run (compile.ts's `residual`) | DATED (bit 30): it has a date range, read
 *   from the object (a tenth of triggers: bigger records cost more than they saved);
 * - screen = a Bloom mask of the small equality fields (bits 0–25, see SCREEN) | the scope's position in SCOPES
 *   (bits 26–29) | EXACT_AMOUNT (bit 30).
 * Records live in chunks of 4,096, so that a growing index never copies them all in one change.
 */
export const RECORD = 4;
export const CHUNK_BITS = 12;
const CHUNK = 1 << CHUNK_BITS;
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
  readonly chunks: Int32Array[];
  /** The compiled trigger of each ref (undefined: a free ref). */
  readonly byRef: (CompiledTrigger | undefined)[];
  readonly freeRefs: number[];
}

export function createTriggerRecords(): TriggerRecords {
  return { chunks: [], byRef: [], freeRefs: [] };
}

/** A ref for a new trigger (a freed one first). */
export function newRef(records: TriggerRecords): number {
  const ref = records.freeRefs.pop() ?? records.byRef.length;
  if (ref >> CHUNK_BITS >= records.chunks.length) records.chunks.push(new Int32Array(CHUNK * RECORD));
  return ref;
}

export function freeRef(records: TriggerRecords, ref: number): void {
  records.byRef[ref] = undefined;
  records.freeRefs.push(ref);
}

/** Stores a trigger (a new version replaces the previous one in place) under its ref. */
export function writeRecord(records: TriggerRecords, ref: number, trigger: CompiledTrigger): void {
  records.byRef[ref] = trigger;
  const chunk = records.chunks[ref >> CHUNK_BITS]!;
  const at = (ref & (CHUNK - 1)) * RECORD;
  const fits = (bound: number) => Number.isInteger(bound) && bound >= INT32_MIN && bound <= INT32_MAX;
  const { amountMin, amountMax } = trigger;
  const exact =
    (amountMin !== Number.NEGATIVE_INFINITY && !fits(amountMin)) ||
    (amountMax !== Number.POSITIVE_INFINITY && !fits(amountMax));
  chunk[at] = fits(amountMin) ? amountMin : amountMin > 0 ? INT32_MAX : INT32_MIN;
  chunk[at + 1] = fits(amountMax) ? amountMax : amountMax < 0 ? INT32_MIN : INT32_MAX;
  chunk[at + 2] =
    (trigger.dayMask >> 1) |
    (trigger.timeFrom << 7) |
    (trigger.timeTo << 18) |
    (trigger.residual.length > 0 ? RESIDUAL : 0) |
    (trigger.hasDateRange ? DATED : 0);
  chunk[at + 3] =
    screenOf(trigger) | (SCOPES.indexOf(trigger.scope) << SCREEN_BITS) | (exact ? EXACT_AMOUNT : 0);
}

/**
 * The screen: for each small equality field, a few bits of a 26-bit mask, and a value sets one of them (a hash).
 * A trigger sets the bits of the values it names (all of the field's bits when it names none), an event the bit
 * of its value in each field; `(trigger & event) === event` then holds whenever the trigger's conditions on these
 * fields hold (a Bloom filter: it may hold when they do not, and the closures decide). So a trigger whose other
 * conditions hold but whose country, currency, scheme, entry mode or event type is wrong is turned away without
 * reading it.
 */
const SCREEN = [
  {
    base: 0,
    bits: 3,
    values: (t: CompiledTrigger) => t.match.countries,
    of: (e: RuleEvent) => e.merchantCountry,
  },
  { base: 8, bits: 3, values: (t: CompiledTrigger) => t.match.currencies, of: (e: RuleEvent) => e.currency },
  { base: 16, bits: 2, values: (t: CompiledTrigger) => t.match.schemes, of: (e: RuleEvent) => e.cardScheme },
  {
    base: 20,
    bits: 2,
    values: (t: CompiledTrigger) => t.match.entry_modes,
    of: (e: RuleEvent) => e.entryMode,
  },
  { base: 24, bits: 1, values: (t: CompiledTrigger) => t.match.event_types, of: (e: RuleEvent) => e.type },
] as const;

/** The bit of a value in a field of the screen (null, "no value", hashes as the empty string). */
function screenBit(base: number, bits: number, value: string | null): number {
  let hash = 0x811c9dc5;
  if (value !== null)
    for (let i = 0; i < value.length; i++) hash = Math.imul(hash ^ value.charCodeAt(i), 0x01000193);
  return 1 << (base + ((hash ^ (hash >>> 16)) & ((1 << bits) - 1)));
}

function screenOf(trigger: CompiledTrigger): number {
  let screen = SCREEN_MASK;
  for (const field of SCREEN) {
    const values: readonly string[] | undefined = field.values(trigger);
    if (values === undefined) continue;
    let named = 0;
    for (const value of values) named |= screenBit(field.base, field.bits, value);
    screen = (screen & ~(((1 << (1 << field.bits)) - 1) << field.base)) | named;
  }
  return screen;
}

/** An event's screen: one bit per field. */
export function eventScreen(event: RuleEvent): number {
  let screen = 0;
  for (const field of SCREEN) screen |= screenBit(field.base, field.bits, field.of(event));
  return screen;
}
