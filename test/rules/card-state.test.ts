import { describe, expect, it } from 'vitest';
import { earnsStamp } from '../../src/rules/card-state.ts';
import { TriggerMatch } from '../../src/rules/dsl.ts';

const nthOf = (nth?: Record<string, unknown>) =>
  TriggerMatch.parse(nth ? { nth_purchase: nth } : {}).nth_purchase;

describe('earnsStamp', () => {
  it.each([
    ['a repeating stamp card, before it fired', { n: 3 }, 0, true],
    ['a repeating stamp card, after it fired', { n: 3, repeat: true }, 2, true],
    ['a one-off stamp card, before it fired', { n: 3, repeat: false }, 0, true],
    ['a one-off stamp card, once it fired', { n: 3, repeat: false }, 1, false],
    ['no stamp card', undefined, 0, false],
  ])('%s', (_, nth, fires, earns) => {
    expect(earnsStamp(nthOf(nth), { fires })).toBe(earns);
  });
});
