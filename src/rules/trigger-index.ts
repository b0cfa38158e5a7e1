import {
  type CompiledTrigger,
  compileTrigger,
  KEY_FIELDS,
  type KeyField,
  type RuleTrigger,
} from './compile.ts';
import { EventFacts, isPurchase, type RuleEvent } from './event.ts';
import {
  compact,
  createKeyLists,
  dropList,
  entriesOf,
  indexDeferred,
  insertEntry,
  type KeyLists,
  newList,
  removeEntry,
} from './key-lists.ts';
import {
  createTriggerRecords,
  freeRef,
  newRef,
  type TriggerRecords,
  writeRecord,
} from './trigger-records.ts';

/** One app's triggers: what explanations walk, and where the index keeps the rest. */
export interface AppTriggers {
  /** The app's position in the per-app arrays of `TriggerIndex.scratch` (reused after an app leaves). */
  readonly slot: number;
  /** Active and paused triggers of the app, by id (archived ones are dropped). */
  readonly all: Map<string, CompiledTrigger>;
  /** The ref (trigger-records.ts) of each of them, kept across versions. */
  readonly refs: Map<string, number>;
  /** The handle of its list of active triggers naming no key field. */
  readonly unkeyed: number;
}

/**
 * What evaluate() reads per granted app, by slot, and its scratch for the event at hand. evaluate() writes here
 * and stays pure: nothing outside the index is read or written, and nothing is left that changes an answer.
 */
export interface Scratch {
  readonly slotOf: Map<string, number>;
  readonly freeSlots: number[];
  slots: number;
  /** Per slot: the smallest amount_min and largest amount_max of its unkeyed triggers (an event outside skips). */
  unkeyedMin: Float64Array;
  unkeyedMax: Float64Array;
  /** Per slot: the handle of its unkeyed list. */
  unkeyedList: Int32Array;
  /** Per slot: the stamp of the last event whose cardholder granted the app, and that grant's position. */
  grantStamp: Int32Array;
  grantAt: Int32Array;
  stamp: number;
  /** The event's granted slots (the first `granted` count of them). */
  granted: Int32Array;
  /** The event's facts, worked out when a trigger first needs them (NaN / -1 / 0: not yet). */
  readonly facts: EventFacts;
  factsOf: RuleEvent | null;
  weekday: number;
  minute: number;
  instant: number;
  screen: number;
  /** Whether the event's amount fits the records' int32 bounds (else every candidate's is checked exactly). */
  amountFits: boolean;
}

/**
 * Every app's triggers, listed under their key values (Whang et al., "Indexing Boolean Expressions", VLDB 2009),
 * each entry tagged with its app's slot: an event reads the lists under its own values and keeps the entries of
 * the apps its cardholder granted (under a value many apps name, it looks each granted app up), so its cost does
 * not grow with the triggers of the thousands of apps they never connected. Patched one trigger at a time.
 * The lists, and what a candidate is checked against before its trigger object is read, are packed in typed
 * arrays (key-lists.ts, trigger-records.ts); `apps` and `triggers` hold the objects, for explanations and callers.
 */
export interface TriggerIndex {
  readonly apps: Map<string, AppTriggers>;
  readonly triggers: Map<string, CompiledTrigger>;
  /**
   * Per key field (positions as in KEY_FIELDS): from a value to the handle of the list of active triggers listed
   * under it. A value whose list empties keeps its entry until many have (see COMPACT_FROM): deleting entries one
   * by one leaves holes that make a large Map rehash itself, milliseconds for one change. What `mayMatch` reads.
   */
  readonly listed: readonly Map<string, number>[];
  /** Per key field, how many active triggers are listed under it. */
  readonly listedPerField: number[];
  /** Per key field, how many values of `listed` have an empty list. */
  readonly emptyLists: number[];
  unkeyedCount: number;
  readonly lists: KeyLists;
  readonly records: TriggerRecords;
  readonly scratch: Scratch;
}

const POSITION_OF_FIELD = Object.fromEntries(
  KEY_FIELDS.map((field, position) => [field, position]),
) as Record<KeyField, number>;

/** Empty lists a field's Map keeps before it drops them all (and only when they outnumber the others). */
const COMPACT_FROM = 1024;

/** Builds an index of the given triggers (paused ones explain, archived ones are left out). */
export function createTriggerIndex(triggers: Iterable<RuleTrigger> = []): TriggerIndex {
  const slots = 16;
  const index: TriggerIndex = {
    apps: new Map(),
    triggers: new Map(),
    listed: KEY_FIELDS.map(() => new Map<string, number>()),
    listedPerField: KEY_FIELDS.map(() => 0),
    emptyLists: KEY_FIELDS.map(() => 0),
    unkeyedCount: 0,
    lists: createKeyLists(),
    records: createTriggerRecords(),
    scratch: {
      slotOf: new Map(),
      freeSlots: [],
      slots: 0,
      unkeyedMin: new Float64Array(slots),
      unkeyedMax: new Float64Array(slots),
      unkeyedList: new Int32Array(slots),
      grantStamp: new Int32Array(slots),
      grantAt: new Int32Array(slots),
      stamp: 0,
      granted: new Int32Array(16),
      facts: new EventFacts(PLACEHOLDER_EVENT),
      factsOf: null,
      weekday: 0,
      minute: -1,
      instant: Number.NaN,
      screen: -1,
      amountFits: true,
    },
  };
  index.lists.deferred = new Set();
  try {
    for (const trigger of triggers) upsertTrigger(index, trigger);
  } finally {
    indexDeferred(index.lists);
    compact(index.lists);
  }
  return index;
}

/** Adds a trigger or replaces its previous version, touching only the lists that name it. */
export function upsertTrigger(index: TriggerIndex, trigger: RuleTrigger): void {
  const previous = index.triggers.get(trigger.id);
  // A new version of a kept trigger overwrites its entries in place: deleting and re-adding would leave holes
  // that make a Map of 100,000 triggers rehash itself every so often (milliseconds for one change).
  if (previous && (trigger.status === 'archived' || previous.appId !== trigger.appId))
    removeTrigger(index, trigger.id);
  else if (previous) unlist(index, index.apps.get(previous.appId)!, previous);
  if (trigger.status === 'archived') return;
  const compiled = compileTrigger(trigger);
  const app = index.apps.get(compiled.appId) ?? addApp(index, compiled.appId);
  let ref = app.refs.get(compiled.id);
  if (ref === undefined) {
    ref = newRef(index.records);
    app.refs.set(compiled.id, ref);
  }
  writeRecord(index.records, ref, compiled);
  index.triggers.set(compiled.id, compiled);
  app.all.set(compiled.id, compiled);
  if (compiled.status === 'active') list(index, app, compiled, ref);
}

/** Takes a trigger out of the index (no-op when absent); an app left with no trigger goes with it. */
export function removeTrigger(index: TriggerIndex, triggerId: string): void {
  const compiled = index.triggers.get(triggerId);
  if (!compiled) return;
  index.triggers.delete(triggerId);
  const app = index.apps.get(compiled.appId);
  if (!app) return;
  unlist(index, app, compiled);
  app.all.delete(triggerId);
  const ref = app.refs.get(triggerId);
  if (ref !== undefined) freeRef(index.records, ref);
  app.refs.delete(triggerId);
  if (app.all.size === 0) removeApp(index, compiled.appId, app);
}

function addApp(index: TriggerIndex, appId: string): AppTriggers {
  const scratch = index.scratch;
  const slot = scratch.freeSlots.pop() ?? scratch.slots++;
  if (slot >= scratch.grantStamp.length) growSlots(scratch, scratch.grantStamp.length * 2);
  const app: AppTriggers = { slot, all: new Map(), refs: new Map(), unkeyed: newList(index.lists) };
  scratch.unkeyedList[slot] = app.unkeyed;
  scratch.unkeyedMin[slot] = Number.POSITIVE_INFINITY;
  scratch.unkeyedMax[slot] = Number.NEGATIVE_INFINITY;
  // A copy made now: lookups compare the event's string with the key, and keys made together lie together
  // in memory, where the trigger's own strings are scattered over the heap (a cache miss per lookup).
  scratch.slotOf.set(freshCopy(appId), slot);
  index.apps.set(appId, app);
  return app;
}

function removeApp(index: TriggerIndex, appId: string, app: AppTriggers) {
  const scratch = index.scratch;
  index.apps.delete(appId);
  scratch.slotOf.delete(appId);
  dropList(index.lists, app.unkeyed);
  scratch.freeSlots.push(app.slot);
}

function growSlots(scratch: Scratch, slots: number) {
  const grown = <T extends Float64Array | Int32Array>(array: T, copy: T) => {
    copy.set(array);
    return copy;
  };
  scratch.unkeyedMin = grown(scratch.unkeyedMin, new Float64Array(slots));
  scratch.unkeyedMax = grown(scratch.unkeyedMax, new Float64Array(slots));
  scratch.unkeyedList = grown(scratch.unkeyedList, new Int32Array(slots));
  scratch.grantStamp = grown(scratch.grantStamp, new Int32Array(slots));
  scratch.grantAt = grown(scratch.grantAt, new Int32Array(slots));
}

/** Puts an active trigger in the lists of its key values (or its app's unkeyed list). */
function list(index: TriggerIndex, app: AppTriggers, compiled: CompiledTrigger, ref: number) {
  if (compiled.key === null) {
    index.unkeyedCount++;
    insertEntry(index.lists, app.unkeyed, app.slot, ref, index.records.record);
    const { scratch } = index;
    scratch.unkeyedMin[app.slot] = Math.min(scratch.unkeyedMin[app.slot]!, compiled.amountMin);
    scratch.unkeyedMax[app.slot] = Math.max(scratch.unkeyedMax[app.slot]!, compiled.amountMax);
    return;
  }
  const field = POSITION_OF_FIELD[compiled.key];
  index.listedPerField[field]!++;
  const lists = index.listed[field]!;
  for (const value of compiled.keyValues) {
    let handle = lists.get(value);
    if (handle === undefined) {
      handle = newList(index.lists);
      lists.set(freshCopy(value), handle);
    } else if (index.lists.length[handle] === 0) index.emptyLists[field]!--;
    insertEntry(index.lists, handle, app.slot, ref, index.records.record);
  }
}

/** Takes a trigger out of its lists (paused ones are in none). */
function unlist(index: TriggerIndex, app: AppTriggers, compiled: CompiledTrigger) {
  if (compiled.status !== 'active') return;
  const ref = app.refs.get(compiled.id)!;
  if (compiled.key === null) {
    index.unkeyedCount--;
    removeEntry(index.lists, app.unkeyed, app.slot, ref);
    let min = Number.POSITIVE_INFINITY;
    let max = Number.NEGATIVE_INFINITY;
    for (const [, other] of entriesOf(index.lists, app.unkeyed)) {
      const trigger = index.records.byRef[other]!;
      min = Math.min(min, trigger.amountMin);
      max = Math.max(max, trigger.amountMax);
    }
    index.scratch.unkeyedMin[app.slot] = min;
    index.scratch.unkeyedMax[app.slot] = max;
    return;
  }
  const field = POSITION_OF_FIELD[compiled.key];
  index.listedPerField[field]!--;
  const lists = index.listed[field]!;
  for (const value of compiled.keyValues) {
    const handle = lists.get(value);
    if (handle !== undefined && removeEntry(index.lists, handle, app.slot, ref) === 0)
      index.emptyLists[field]!++;
  }
  const empty = index.emptyLists[field]!;
  if (empty >= COMPACT_FROM && empty * 2 > lists.size) {
    for (const [value, handle] of lists)
      if (index.lists.length[handle] === 0) {
        lists.delete(value);
        dropList(index.lists, handle);
      }
    index.emptyLists[field] = 0;
  }
}

/** A copy of a string in a new allocation (concatenation, then a slice too short to share the original). */
function freshCopy(value: string): string {
  return value.length < 12 ? `${value} `.slice(0, -1) : value.split('').join('');
}

/** The triggers listed under a value of a key field, with their app slots (for tests and tools). */
export function listedUnder(index: TriggerIndex, field: number, value: string): [number, CompiledTrigger][] {
  const handle = index.listed[field]!.get(value);
  if (handle === undefined) return [];
  return entriesOf(index.lists, handle).map(([slot, ref]) => [slot, index.records.byRef[ref]!]);
}

/** An app's active triggers naming no key field (for tests and tools). */
export function unkeyedOf(index: TriggerIndex, app: AppTriggers): CompiledTrigger[] {
  return entriesOf(index.lists, app.unkeyed).map(([, ref]) => index.records.byRef[ref]!);
}

/**
 * What of an event is known before it is stored: its card's scheme and its merchant's id are resolved by the
 * write, so a trigger listed under either may match any event.
 */
export type EventBeforeStorage = Pick<RuleEvent, 'type' | 'mid' | 'mcc' | 'merchantCountry' | 'currency'>;

/**
 * Whether any active trigger of any app may match the event, judged by the lists alone (a yes may still match
 * nothing; a no is certain): batches for which it is false everywhere skip the rules transaction.
 */
export function mayMatch(index: TriggerIndex, event: EventBeforeStorage): boolean {
  if (!isPurchase(event)) return false;
  if (index.unkeyedCount > 0) return true;
  const perField = index.listedPerField;
  // Listed under a merchant id or a card scheme: unknown until the write resolves them.
  if (perField[1]! > 0 || perField[5]! > 0) return true;
  const listedUnder = (field: number, value: string | null) => {
    if (value === null || perField[field] === 0) return false;
    const handle = index.listed[field]!.get(value);
    return handle !== undefined && index.lists.length[handle]! > 0;
  };
  return (
    listedUnder(0, event.mid) ||
    listedUnder(2, event.mcc) ||
    listedUnder(3, event.merchantCountry) ||
    listedUnder(4, event.currency) ||
    listedUnder(6, event.type)
  );
}

/** What the index's scratch EventFacts holds before its first event (never read: reset() comes first). */
const PLACEHOLDER_EVENT: RuleEvent = {
  id: '',
  type: 'refund',
  occurredAt: '',
  localAt: '',
  utcOffsetMinutes: 0,
  userId: '',
  cardId: '',
  cardScheme: '',
  amount: 0,
  currency: '',
  merchantId: null,
  mid: '',
  merchantName: null,
  mcc: null,
  merchantCountry: null,
  entryMode: null,
};
