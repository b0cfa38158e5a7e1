import {
  type CompiledTrigger,
  compileTrigger,
  KEY_FIELDS,
  type KeyField,
  type RuleTrigger,
} from './compile.ts';
import { isPurchase, type RuleEvent } from './event.ts';

type Lists = Map<string, CompiledTrigger[]>;

/**
 * Slots of an app's key filter (a counting Bloom filter with one hash): most of an event's values are in none of
 * a granted app's tables, and one byte read from a small array tells so without probing a table (2 KB per app).
 */
export const FILTER_SLOTS = 2048;

/** The filter slot of a key value: FNV-1a of the value, seeded by the field's position in KEY_FIELDS. */
export function filterSlot(fieldPosition: number, value: string): number {
  let hash = 0x811c9dc5 ^ fieldPosition;
  for (let i = 0; i < value.length; i++) hash = Math.imul(hash ^ value.charCodeAt(i), 0x01000193);
  return (hash ^ (hash >>> 15)) & (FILTER_SLOTS - 1);
}

/**
 * One app's active triggers as inverted lists (Whang et al., "Indexing Boolean Expressions", VLDB 2009): a map per
 * key field, from a value to the triggers listed under it, built only for the fields the app's triggers use, and
 * one list for the triggers naming no key field. Paused triggers are kept aside for explanations.
 */
export interface AppTriggers {
  byMid: Lists | null;
  byMerchantId: Lists | null;
  byMcc: Lists | null;
  byCountry: Lists | null;
  byCurrency: Lists | null;
  byScheme: Lists | null;
  byEventType: Lists | null;
  unkeyed: CompiledTrigger[];
  /**
   * The smallest amount_min and largest amount_max of the unkeyed triggers: triggers that name no merchant tend to
   * name an amount, and an event outside these bounds skips the list without touching a trigger.
   */
  unkeyedAmountMin: number;
  unkeyedAmountMax: number;
  /** Active and paused triggers of the app, by id (archived ones are dropped). */
  all: Map<string, CompiledTrigger>;
  /** Per filter slot, how many (field, value) keys of the tables fall in it (255 sticks: never counted down). */
  filter: Uint8Array;
}

/**
 * Every app's triggers, indexed per app: an event looks only at the apps its cardholder granted, so its cost does
 * not grow with the triggers of the thousands of apps they never connected. Patched one trigger at a time.
 */
export interface TriggerIndex {
  readonly apps: Map<string, AppTriggers>;
  readonly triggers: Map<string, CompiledTrigger>;
  /**
   * Over all apps: how many active triggers are listed under each key (`field position:value`), and how many
   * name no key. What `mayMatch` reads to let a batch that no trigger can match skip the rules transaction.
   */
  readonly listed: Map<string, number>;
  /** Per key field (positions as in KEY_FIELDS), how many active triggers are listed under it. */
  readonly listedPerField: number[];
  unkeyedCount: number;
}

const POSITION_OF_FIELD = Object.fromEntries(
  KEY_FIELDS.map((field, position) => [field, position]),
) as Record<KeyField, number>;

const SLOT_OF_FIELD = {
  mid: 'byMid',
  merchant_id: 'byMerchantId',
  mcc: 'byMcc',
  country: 'byCountry',
  currency: 'byCurrency',
  scheme: 'byScheme',
  event_type: 'byEventType',
} as const satisfies Record<KeyField, keyof AppTriggers>;

/** Builds an index of the given triggers (paused ones explain, archived ones are left out). */
export function createTriggerIndex(triggers: Iterable<RuleTrigger> = []): TriggerIndex {
  const index: TriggerIndex = {
    apps: new Map(),
    triggers: new Map(),
    listed: new Map(),
    listedPerField: KEY_FIELDS.map(() => 0),
    unkeyedCount: 0,
  };
  for (const trigger of triggers) upsertTrigger(index, trigger);
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
  let app = index.apps.get(compiled.appId);
  if (!app) {
    app = emptyApp();
    index.apps.set(compiled.appId, app);
  }
  index.triggers.set(compiled.id, compiled);
  app.all.set(compiled.id, compiled);
  if (compiled.status === 'active') list(index, app, compiled);
}

/** Takes a trigger out of the index (no-op when absent); empty lists and apps go with it. */
export function removeTrigger(index: TriggerIndex, triggerId: string): void {
  const compiled = index.triggers.get(triggerId);
  if (!compiled) return;
  index.triggers.delete(triggerId);
  const app = index.apps.get(compiled.appId);
  if (!app) return;
  app.all.delete(triggerId);
  unlist(index, app, compiled);
  if (app.all.size === 0) index.apps.delete(compiled.appId);
}

/** Puts an active trigger in its app's lists. */
function list(index: TriggerIndex, app: AppTriggers, compiled: CompiledTrigger) {
  if (compiled.key === null) {
    index.unkeyedCount++;
    app.unkeyed.push(compiled);
    app.unkeyedAmountMin = Math.min(app.unkeyedAmountMin, compiled.amountMin);
    app.unkeyedAmountMax = Math.max(app.unkeyedAmountMax, compiled.amountMax);
    return;
  }
  index.listedPerField[POSITION_OF_FIELD[compiled.key]]!++;
  const slot = SLOT_OF_FIELD[compiled.key];
  const lists = app[slot] ?? new Map<string, CompiledTrigger[]>();
  app[slot] = lists;
  for (const value of compiled.keyValues) {
    const key = listedKey(POSITION_OF_FIELD[compiled.key], value);
    index.listed.set(key, (index.listed.get(key) ?? 0) + 1);
    const list = lists.get(value);
    if (list) list.push(compiled);
    else {
      lists.set(value, [compiled]);
      const at = filterSlot(POSITION_OF_FIELD[compiled.key], value);
      if (app.filter[at]! < 255) app.filter[at]!++;
    }
  }
}

/** Takes a trigger out of its app's lists (paused ones are in none); empty lists go with it. */
function unlist(index: TriggerIndex, app: AppTriggers, compiled: CompiledTrigger) {
  if (compiled.status !== 'active') return;
  if (compiled.key === null) {
    index.unkeyedCount--;
    dropFrom(app.unkeyed, compiled);
    app.unkeyedAmountMin = app.unkeyed.reduce(
      (min, t) => Math.min(min, t.amountMin),
      Number.POSITIVE_INFINITY,
    );
    app.unkeyedAmountMax = app.unkeyed.reduce(
      (max, t) => Math.max(max, t.amountMax),
      Number.NEGATIVE_INFINITY,
    );
    return;
  }
  index.listedPerField[POSITION_OF_FIELD[compiled.key]]!--;
  const slot = SLOT_OF_FIELD[compiled.key];
  const lists = app[slot];
  if (!lists) return;
  for (const value of compiled.keyValues) {
    const key = listedKey(POSITION_OF_FIELD[compiled.key], value);
    const count = index.listed.get(key)! - 1;
    if (count > 0) index.listed.set(key, count);
    else index.listed.delete(key);
    const list = lists.get(value);
    if (!list) continue;
    dropFrom(list, compiled);
    if (list.length > 0) continue;
    lists.delete(value);
    const at = filterSlot(POSITION_OF_FIELD[compiled.key], value);
    if (app.filter[at]! < 255) app.filter[at]!--;
  }
  if (lists.size === 0) app[slot] = null;
}

const listedKey = (position: number, value: string) => `${position}:${value}`;

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
  const { listed } = index;
  if (listed.size === 0) return false;
  // Listed under a merchant id or a card scheme: unknown until the write resolves them.
  if (index.listedPerField[1]! > 0 || index.listedPerField[5]! > 0) return true;
  return (
    listed.has(listedKey(0, event.mid)) ||
    (event.mcc !== null && listed.has(listedKey(2, event.mcc))) ||
    (event.merchantCountry !== null && listed.has(listedKey(3, event.merchantCountry))) ||
    listed.has(listedKey(4, event.currency)) ||
    listed.has(listedKey(6, event.type))
  );
}

function dropFrom(list: CompiledTrigger[], trigger: CompiledTrigger) {
  const at = list.indexOf(trigger);
  if (at >= 0) list.splice(at, 1);
}

function emptyApp(): AppTriggers {
  return {
    byMid: null,
    byMerchantId: null,
    byMcc: null,
    byCountry: null,
    byCurrency: null,
    byScheme: null,
    byEventType: null,
    unkeyed: [],
    unkeyedAmountMin: Number.POSITIVE_INFINITY,
    unkeyedAmountMax: Number.NEGATIVE_INFINITY,
    all: new Map(),
    filter: new Uint8Array(FILTER_SLOTS),
  };
}
