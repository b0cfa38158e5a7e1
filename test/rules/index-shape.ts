import { expect } from 'vitest';
import type { CompiledTrigger } from '../../src/rules/compile.ts';
import { listedUnder, type TriggerIndex, unkeyedOf } from '../../src/rules/trigger-index.ts';

export const ids = (matches: readonly { id: string }[]) => matches.map((m) => m.id).sort();

/**
 * The index's lists as (app, trigger) ids, to compare a patched index with a fresh build (whose app slots and
 * trigger refs may differ), checking on the way what the packed arrays must agree on: every pair tags its trigger
 * with its app's slot, lists are sorted by slot, each app's unkeyed amount bounds are those of its triggers.
 */
export function shape(index: TriggerIndex) {
  const appOfSlot = new Map([...index.apps].map(([appId, app]) => [app.slot, appId]));
  const { scratch } = index;
  expect(appOfSlot.size).toBe(index.apps.size);
  const pairs = (listed: [number, CompiledTrigger][]) => {
    listed.forEach(([slot, trigger], i) => {
      if (i > 0) expect(slot).toBeGreaterThanOrEqual(listed[i - 1]![0]);
      expect(appOfSlot.get(slot)).toBe(trigger.appId);
      expect(index.triggers.get(trigger.id)).toBe(trigger);
    });
    return listed.map(([, trigger]) => `${trigger.appId}/${trigger.id}`).sort();
  };
  return {
    apps: [...index.apps]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([appId, app]) => {
        expect(scratch.slotOf.get(appId)).toBe(app.slot);
        expect(scratch.unkeyedList[app.slot]).toBe(app.unkeyed);
        const unkeyed = unkeyedOf(index, app);
        expect(scratch.unkeyedMin[app.slot]).toBe(Math.min(...unkeyed.map((t) => t.amountMin)));
        expect(scratch.unkeyedMax[app.slot]).toBe(Math.max(...unkeyed.map((t) => t.amountMax)));
        expect([...app.refs.keys()].sort()).toEqual([...app.all.keys()].sort());
        for (const [id, ref] of app.refs) expect(index.records.byRef[ref]).toBe(app.all.get(id));
        return { appId, all: [...app.all.keys()].sort(), unkeyed: ids(unkeyed) };
      }),
    lists: index.listed.map((lists, field) =>
      [...lists.keys()]
        .map((value) => [value, pairs(listedUnder(index, field, value))] as const)
        .filter(([, listed]) => listed.length > 0)
        .sort(([a], [b]) => a.localeCompare(b)),
    ),
    listedPerField: index.listedPerField,
    unkeyedCount: index.unkeyedCount,
  };
}
