import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { RuleTrigger } from '../../src/rules/compile.ts';
import { evaluate, explain } from '../../src/rules/evaluate.ts';
import { createTriggerIndex, removeTrigger, upsertTrigger } from '../../src/rules/trigger-index.ts';
import { event, grants, trigger, triggers } from './arbitraries.ts';
import { ids, shape } from './index-shape.ts';
import { referenceHolds, referenceMatches } from './reference.ts';

describe('the trigger index', () => {
  it('matches exactly what a naive evaluator of the DSL matches (random triggers, events, offsets, DST days)', () => {
    let pairs = 0;
    let matches = 0;
    fc.assert(
      fc.property(
        triggers(20, 60),
        fc.array(fc.tuple(event, grants), { minLength: 10, maxLength: 40 }),
        (all, cases) => {
          const index = createTriggerIndex(all);
          for (const [e, g] of cases) {
            const expected = referenceMatches(all, e, g);
            expect(ids(evaluate(index, e, g))).toEqual(expected);
            pairs += all.length;
            matches += expected.length;
          }
        },
      ),
      { numRuns: 300 },
    );
    // Guards the property against generators that stop producing matches (it would then prove nothing).
    expect(pairs).toBeGreaterThan(100_000);
    expect(matches / pairs).toBeGreaterThan(0.01);
  });

  it('explains exactly the merchant-naming triggers of granted apps that do not match', () => {
    fc.assert(
      fc.property(triggers(0, 40), event, grants, (all, e, g) => {
        const index = createTriggerIndex(all);
        const matched = new Set(ids(evaluate(index, e, g)));
        const explained = explain(index, e, g);
        for (const { triggerId, reasons } of explained) {
          expect(matched.has(triggerId)).toBe(false);
          expect(reasons.length).toBeGreaterThan(0);
        }
        if (e.type === 'refund' || e.type === 'reversal') {
          expect(explained).toEqual([]);
          return;
        }
        const granted = new Set(g.map((grant) => grant.appId));
        // A trigger of a granted app naming this merchant either matches or is explained.
        const expected = all.filter(
          (t) =>
            t.status !== 'archived' && granted.has(t.appId) && !matched.has(t.id) && namesMerchantOf(t, e),
        );
        expect(explained.map((x) => x.triggerId).sort()).toEqual(ids(expected));
        for (const x of explained) {
          const t = all.find((candidate) => candidate.id === x.triggerId)!;
          expect(x.reasons.includes('trigger_paused')).toBe(t.status === 'paused');
          // Only conditions that fail are named: a trigger failing none is paused or lacks its scope.
          const conditionReasons = x.reasons.filter(
            (r) => r !== 'trigger_paused' && r !== 'scope_not_granted',
          );
          expect(conditionReasons.length === 0).toBe(referenceHolds(t, e));
        }
      }),
      { numRuns: 500 },
    );
  });

  it('patched one trigger at a time, equals a fresh build of the final triggers', () => {
    const idPool = fc.constantFrom('t1', 't2', 't3', 't4', 't5', 't6', 't7', 't8');
    const operation = fc.oneof(
      trigger(idPool).map((t) => ({ upsert: t })),
      idPool.map((id) => ({ remove: id })),
    );
    fc.assert(
      fc.property(
        triggers(0, 20),
        fc.array(operation, { maxLength: 40 }),
        fc.array(fc.tuple(event, grants), { maxLength: 20 }),
        (initial, operations, cases) => {
          const index = createTriggerIndex(initial);
          const current = new Map<string, RuleTrigger>(initial.map((t) => [t.id, t]));
          for (const op of operations) {
            if ('upsert' in op) {
              upsertTrigger(index, op.upsert);
              current.delete(op.upsert.id);
              current.set(op.upsert.id, op.upsert);
            } else {
              removeTrigger(index, op.remove);
              current.delete(op.remove);
            }
          }
          const fresh = createTriggerIndex(current.values());
          expect(shape(index)).toEqual(shape(fresh));
          for (const [e, g] of cases)
            expect(ids(evaluate(index, e, g))).toEqual(referenceMatches([...current.values()], e, g));
        },
      ),
      { numRuns: 300 },
    );
  });
});

function namesMerchantOf(t: RuleTrigger, e: Parameters<typeof referenceHolds>[1]) {
  const m = t.match;
  return (
    m.mids?.includes(e.mid) ||
    (e.merchantId !== null && m.merchant_ids?.includes(e.merchantId)) ||
    (e.mcc !== null && m.mccs?.includes(e.mcc)) ||
    (m.merchant_name_contains !== undefined &&
      (e.merchantName ?? '').toLowerCase().includes(m.merchant_name_contains.toLowerCase()))
  );
}
