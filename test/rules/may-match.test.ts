import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { RuleTrigger } from '../../src/rules/compile.ts';
import { evaluate } from '../../src/rules/evaluate.ts';
import type { Grant } from '../../src/rules/event.ts';
import { createTriggerIndex, mayMatch, removeTrigger, upsertTrigger } from '../../src/rules/trigger-index.ts';
import { coffeeEvent, receiptTrigger } from './coffee.ts';

const trigger = receiptTrigger;

describe('mayMatch: may a trigger of any app match an event before it is stored', () => {
  it('no for an empty index, refunds and reversals, and events under keys no trigger is listed under', () => {
    const index = createTriggerIndex([
      trigger('t1', { mids: ['000999'] }),
      trigger('t2', { mccs: ['5812'] }),
    ]);
    expect(mayMatch(createTriggerIndex(), coffeeEvent())).toBe(false);
    expect(mayMatch(index, coffeeEvent())).toBe(false);
    expect(mayMatch(index, coffeeEvent({ mid: '000999', type: 'refund' }))).toBe(false);
    expect(mayMatch(index, coffeeEvent({ mid: '000999' }))).toBe(true);
    expect(mayMatch(index, coffeeEvent({ mcc: '5812' }))).toBe(true);
  });

  it('yes whenever a trigger names no key, or a key known only once stored (merchant id, scheme)', () => {
    expect(mayMatch(createTriggerIndex([trigger('t1', { amount_min: 100_000 })]), coffeeEvent())).toBe(true);
    expect(mayMatch(createTriggerIndex([trigger('t1', { merchant_ids: ['mer_x'] })]), coffeeEvent())).toBe(
      true,
    );
    expect(mayMatch(createTriggerIndex([trigger('t1', { schemes: ['amex'] })]), coffeeEvent())).toBe(true);
  });

  it('follows changes: pausing, archiving or removing the last trigger under a key makes it a no', () => {
    const index = createTriggerIndex([
      trigger('t1', { mids: ['000123'] }),
      trigger('t2', { mids: ['000123'] }),
    ]);
    upsertTrigger(index, trigger('t1', { mids: ['000123'] }, 'paused'));
    expect(mayMatch(index, coffeeEvent())).toBe(true);
    removeTrigger(index, 't2');
    expect(mayMatch(index, coffeeEvent())).toBe(false);
    upsertTrigger(index, trigger('t1', { mids: ['000123'] }, 'active'));
    expect(mayMatch(index, coffeeEvent())).toBe(true);
    upsertTrigger(index, trigger('t1', { mids: ['000123'] }, 'archived'));
    expect(mayMatch(index, coffeeEvent())).toBe(false);
  });

  it('is never a no where evaluate() finds a match (random triggers, changes and events)', () => {
    const mids = ['000123', '000124', '000125'];
    const mccs = ['5814', '5812'];
    const grants: Grant[] = [{ appId: 'app_1', scopes: new Set(['receipts']) }];
    const matchArb = fc.oneof(
      fc.record({ mids: fc.subarray(mids, { minLength: 1 }) }),
      fc.record({ mccs: fc.subarray(mccs, { minLength: 1 }) }),
      fc.record({ countries: fc.constant(['US']) }),
      fc.record({ amount_min: fc.integer({ min: 0, max: 1000 }) }),
    );
    fc.assert(
      fc.property(
        fc.array(
          fc.tuple(
            fc.constantFrom('t1', 't2', 't3'),
            matchArb,
            fc.constantFrom('active', 'paused', 'archived'),
          ),
          {
            maxLength: 12,
          },
        ),
        fc.constantFrom(...mids),
        fc.constantFrom(...mccs),
        (changes, mid, mcc) => {
          const index = createTriggerIndex();
          for (const [id, match, status] of changes)
            upsertTrigger(index, trigger(id, match as RuleTrigger['match'], status as RuleTrigger['status']));
          const event = coffeeEvent({ mid, mcc });
          if (evaluate(index, event, grants).length > 0) expect(mayMatch(index, event)).toBe(true);
        },
      ),
    );
  });
});
