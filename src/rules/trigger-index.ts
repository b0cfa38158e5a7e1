import { type CompiledTrigger, compileTrigger, type KeyField, type RuleTrigger } from './compile.ts';

type Lists = Map<string, CompiledTrigger[]>;

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
  /** Active and paused triggers of the app, by id (archived ones are dropped). */
  all: Map<string, CompiledTrigger>;
}

/**
 * Every app's triggers, indexed per app: an event looks only at the apps its cardholder granted, so its cost does
 * not grow with the triggers of the thousands of apps they never connected. Patched one trigger at a time.
 */
export interface TriggerIndex {
  readonly apps: Map<string, AppTriggers>;
  readonly triggers: Map<string, CompiledTrigger>;
}

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
  const index: TriggerIndex = { apps: new Map(), triggers: new Map() };
  for (const trigger of triggers) upsertTrigger(index, trigger);
  return index;
}

/** Adds a trigger or replaces its previous version, touching only the lists that name it. */
export function upsertTrigger(index: TriggerIndex, trigger: RuleTrigger): void {
  removeTrigger(index, trigger.id);
  if (trigger.status === 'archived') return;
  const compiled = compileTrigger(trigger);
  let app = index.apps.get(compiled.appId);
  if (!app) {
    app = emptyApp();
    index.apps.set(compiled.appId, app);
  }
  index.triggers.set(compiled.id, compiled);
  app.all.set(compiled.id, compiled);
  if (compiled.status !== 'active') return;
  if (compiled.key === null) {
    app.unkeyed.push(compiled);
    return;
  }
  const slot = SLOT_OF_FIELD[compiled.key];
  const lists = app[slot] ?? new Map<string, CompiledTrigger[]>();
  app[slot] = lists;
  for (const value of compiled.keyValues) {
    const list = lists.get(value);
    if (list) list.push(compiled);
    else lists.set(value, [compiled]);
  }
}

/** Takes a trigger out of the index (no-op when absent); empty lists and apps go with it. */
export function removeTrigger(index: TriggerIndex, triggerId: string): void {
  const compiled = index.triggers.get(triggerId);
  if (!compiled) return;
  index.triggers.delete(triggerId);
  const app = index.apps.get(compiled.appId);
  if (!app) return;
  app.all.delete(triggerId);
  if (compiled.status === 'active') {
    if (compiled.key === null) dropFrom(app.unkeyed, compiled);
    else {
      const slot = SLOT_OF_FIELD[compiled.key];
      const lists = app[slot];
      for (const value of compiled.keyValues) {
        const list = lists?.get(value);
        if (!list) continue;
        dropFrom(list, compiled);
        if (list.length === 0) lists?.delete(value);
      }
      if (lists?.size === 0) app[slot] = null;
    }
  }
  if (app.all.size === 0) index.apps.delete(compiled.appId);
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
    all: new Map(),
  };
}
