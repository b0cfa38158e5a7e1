import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { RuleTrigger } from '../../src/rules/compile.ts';
import { evaluate } from '../../src/rules/evaluate.ts';
import type { Grant, RuleEvent } from '../../src/rules/event.ts';
import { BROAD } from '../../src/rules/key-lists.ts';
import {
  createTriggerIndex,
  mayMatch,
  removeTrigger,
  type TriggerIndex,
  upsertTrigger,
} from '../../src/rules/trigger-index.ts';
import { event, grantsOf, trigger, triggers } from './arbitraries.ts';
import { coffeeEvent, receiptTrigger } from './coffee.ts';
import { ids, shape } from './index-shape.ts';
import { referenceMatches } from './reference.ts';

const manyApps = Array.from({ length: 60 }, (_, i) => `app_${String(i).padStart(2, '0')}`);
const allScopes = new Set(['receipts', 'loyalty', 'cashback', 'coupons', 'social', 'transactions']);
const broadLists = (index: TriggerIndex) => index.lists.bySlot.filter((table) => table).length;

/** The same answers as the reference for each case, and `mayMatch` never says no where something matches. */
function expectReferenceAnswers(index: TriggerIndex, all: RuleTrigger[], cases: [RuleEvent, Grant[]][]) {
  for (const [e, g] of cases) {
    const expected = referenceMatches(all, e, g);
    expect(ids(evaluate(index, e, g))).toEqual(expected);
    if (expected.length > 0) expect(mayMatch(index, e)).toBe(true);
  }
}

describe('the packed trigger index', () => {
  it(`looks each granted app up under a value that more than ${BROAD} triggers of many apps share`, () => {
    let broad = 0;
    fc.assert(
      fc.property(
        triggers(400, 600, manyApps),
        fc.array(fc.tuple(event, grantsOf(manyApps, 10)), { minLength: 20, maxLength: 40 }),
        (all, cases) => {
          const index = createTriggerIndex(all);
          broad += broadLists(index);
          expectReferenceAnswers(index, all, cases);
        },
      ),
      { numRuns: 30 },
    );
    // Guards the property against generators that stop producing broad lists.
    expect(broad).toBeGreaterThan(15);
  });

  it('after thousands of changes (apps leaving and coming back, values emptied) equals a fresh build', () => {
    const variants = fc.sample(trigger(fc.constant('t'), manyApps), { numRuns: 600, seed: 13 });
    let seed = 7;
    const random = () => {
      seed = (Math.imul(seed, 1_103_515_245) + 12_345) >>> 0;
      return seed / 2 ** 32;
    };
    const pick = <T>(values: readonly T[]) => values[Math.floor(random() * values.length)]!;
    // A key field's emptied values past COMPACT_FROM (1,024).
    const current = new Map<string, RuleTrigger>();
    for (let i = 0; i < 5_000; i++) {
      const t = { ...pick(variants), id: `t${i}`, status: 'active' as const };
      current.set(t.id, t);
    }
    const index = createTriggerIndex(current.values());
    let newMids = 0;
    for (let step = 0; step < 6_000; step++) {
      if (step % 1_000 === 500) {
        // An app leaves (its slot is freed), to come back with the next of its ids picked.
        const leaving = pick(manyApps);
        for (const t of [...current.values()].filter((t) => t.appId === leaving)) {
          removeTrigger(index, t.id);
          current.delete(t.id);
        }
        expect(index.apps.has(leaving)).toBe(false);
      }
      const id = `t${Math.floor(random() * 5_500)}`;
      const roll = random();
      if (roll < 0.15) {
        removeTrigger(index, id);
        current.delete(id);
        continue;
      }
      const variant = pick(variants);
      // A third of the changes move a trigger to a MID no trigger named before: its old value's list empties.
      const moved = roll < 0.5;
      if (moved) newMids++;
      const match = moved ? { ...variant.match, mids: [`new_${step}`] } : variant.match;
      const version = (current.get(id)?.version ?? 0) + 1;
      const changed: RuleTrigger = { ...variant, id, version, match };
      upsertTrigger(index, changed);
      if (changed.status === 'archived') current.delete(id);
      else current.set(id, changed);
    }
    const fresh = createTriggerIndex(current.values());
    expect(shape(index)).toEqual(shape(fresh));
    // Emptied values were dropped in bulk (COMPACT_FROM), not kept forever.
    expect(index.listed[0]!.size).toBeLessThan(newMids);
    expect(index.listed[0]!.size).toBeLessThan(2 * fresh.listed[0]!.size + 1_100);
    const cases = fc.sample(fc.tuple(event, grantsOf(manyApps, 10)), { numRuns: 300, seed: 5 });
    expectReferenceAnswers(index, [...current.values()], cases);
  });

  it('checks amounts beyond 32 bits exactly (the records hold 32-bit bounds)', () => {
    const big = 2 ** 31;
    const bounds = [0, 475, big - 2, big - 1, big, big + 1, 2 ** 40, Number.MAX_SAFE_INTEGER];
    const all: RuleTrigger[] = [];
    for (const min of [undefined, ...bounds])
      for (const max of [undefined, ...bounds])
        if (min === undefined || max === undefined || min <= max)
          all.push({
            id: `trg_${min}_${max}`,
            appId: 'app_1',
            version: 1,
            status: 'active',
            // Keyed and unkeyed: the unkeyed list has its own amount bounds per app.
            match: {
              ...(all.length % 2 === 0 ? { mids: ['000123'] } : {}),
              amount_min: min,
              amount_max: max,
            },
            limits: {},
            action: { type: 'receipt' },
          });
    const index = createTriggerIndex(all);
    const grants = [{ appId: 'app_1', scopes: allScopes }];
    const amounts = [...bounds, big - 3, 2 ** 40 - 1, 2 ** 40 + 1, -1, 474.5, big - 0.5];
    expectReferenceAnswers(
      index,
      all,
      amounts.map((amount) => [coffeeEvent({ amount }), grants]),
    );
  });

  it('tells from its lists alone whether an event before storage may match', () => {
    const make = receiptTrigger;
    const index = createTriggerIndex();
    const at = (overrides: Partial<RuleEvent>) => mayMatch(index, coffeeEvent(overrides));
    expect(at({})).toBe(false);
    upsertTrigger(index, make('t1', { mids: ['000123'] }));
    expect([at({}), at({ mid: '000999' }), at({ type: 'refund' })]).toEqual([true, false, false]);
    upsertTrigger(index, make('t1', { mids: ['000123'] }, 'paused'));
    expect(at({})).toBe(false);
    upsertTrigger(index, make('t1', { mids: ['000123'] }));
    removeTrigger(index, 't1');
    // The emptied list stays in the index, and says no.
    expect(index.listed[0]!.has('000123')).toBe(true);
    expect(at({})).toBe(false);
    upsertTrigger(index, make('t2', { currencies: ['EUR'] }));
    expect([at({}), at({ currency: 'EUR' })]).toEqual([false, true]);
    // A merchant id is resolved by the write: any purchase may match.
    upsertTrigger(index, make('t3', { merchant_ids: ['mer_x'] }));
    expect(at({ mid: '000999' })).toBe(true);
    removeTrigger(index, 't3');
    upsertTrigger(index, make('t4', { amount_min: 10_000 }));
    expect(at({ amount: 1 })).toBe(true);
  });

  it('reads an app granted twice once, with its first grant', () => {
    const receipt: RuleTrigger = {
      id: 'trg_1',
      appId: 'app_1',
      version: 1,
      status: 'active',
      match: { mids: ['000123'] },
      limits: {},
      action: { type: 'receipt' },
    };
    const index = createTriggerIndex([receipt]);
    const granted = { appId: 'app_1', scopes: allScopes };
    const none = { appId: 'app_1', scopes: new Set<string>() };
    expect(ids(evaluate(index, coffeeEvent(), [granted, granted]))).toEqual(['trg_1']);
    expect(ids(evaluate(index, coffeeEvent(), [none, granted]))).toEqual([]);
  });

  it('keeps answering when its per-event stamp wraps around', () => {
    fc.assert(
      fc.property(
        triggers(20, 60),
        fc.array(fc.tuple(event, grantsOf(['app_a', 'app_b', 'app_c', 'app_d'])), { minLength: 5 }),
        (all, cases) => {
          const index = createTriggerIndex(all);
          index.scratch.stamp = 0x3fff_fffd;
          for (let i = 0; i < 3; i++) evaluate(index, coffeeEvent(), [{ appId: 'app_a', scopes: allScopes }]);
          expect(index.scratch.stamp).toBe(1);
          expectReferenceAnswers(index, all, cases);
        },
      ),
      { numRuns: 50 },
    );
  });
});
