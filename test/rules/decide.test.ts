import { describe, expect, it } from 'vitest';
import { type Decision, decide, type TriggerCounters } from '../../src/rules/decide.ts';
import { TriggerInput } from '../../src/rules/dsl.ts';
import { cashbackFor, minorDigits, pointsFor } from '../../src/rules/reward.ts';

const none: TriggerCounters = {
  redemptions: 0,
  budgetSpent: 0,
  cardFires: 0,
  stampsBefore: 0,
  earlierPurchase: false,
  userDayFires: 0,
};
const purchase = { amount: 475, currency: 'USD' };

function decideFor(
  input: Record<string, unknown>,
  counters: Partial<TriggerCounters> = {},
  event = purchase,
) {
  const trigger = TriggerInput.parse({ name: 't', action: { type: 'receipt' }, ...input });
  return decide(trigger, event, { ...none, ...counters });
}
const stopped = (decision: Decision) => (decision.fire ? 'fires' : decision.reason);

describe('decide', () => {
  it.each([
    [
      { match: { first_purchase: true } },
      { earlierPurchase: true },
      { earlierPurchase: false },
      'not_first_purchase',
    ],
    [{ limits: { per_card: 2 } }, { cardFires: 2 }, { cardFires: 1 }, 'limit_per_card_reached'],
    [
      { limits: { per_user_per_day: 1 } },
      { userDayFires: 1 },
      { userDayFires: 0 },
      'limit_per_user_per_day_reached',
    ],
    [
      { limits: { total_redemptions: 100 } },
      { redemptions: 100 },
      { redemptions: 99 },
      'redemptions_exhausted',
    ],
    [
      { limits: { budget: { amount: 500, currency: 'USD' } }, action: { type: 'cashback', fixed: 10 } },
      { budgetSpent: 500 },
      { budgetSpent: 499 },
      'budget_exhausted',
    ],
  ])('%j: stops at the limit with its reason, fires below it', (input, atLimit, below, reason) => {
    expect(stopped(decideFor(input, atLimit))).toBe(reason);
    expect(stopped(decideFor(input, below))).toBe('fires');
  });

  it('fires a stamp card on the nth purchase, with progress before it, and again when it repeats', () => {
    const card = { match: { nth_purchase: { n: 5 } } };
    expect(decideFor(card, { stampsBefore: 1 })).toEqual({
      fire: false,
      reason: 'not_nth_purchase',
      progress: { have: 2, need: 5 },
    });
    expect(stopped(decideFor(card, { stampsBefore: 4 }))).toBe('fires');
    expect(stopped(decideFor(card, { stampsBefore: 4, cardFires: 3 }))).toBe('fires');
    const once = { match: { nth_purchase: { n: 5, repeat: false } } };
    expect(stopped(decideFor(once, { stampsBefore: 4 }))).toBe('fires');
    expect(stopped(decideFor(once, { stampsBefore: 4, cardFires: 1 }))).toBe('not_nth_purchase');
  });

  it('reports the first reason: conditions before limits, limits in a fixed order', () => {
    const everything = {
      match: { first_purchase: true },
      limits: { per_card: 1, per_user_per_day: 1, total_redemptions: 1 },
    };
    const all = { earlierPurchase: true, cardFires: 1, userDayFires: 1, redemptions: 1 };
    expect(stopped(decideFor(everything, all))).toBe('not_first_purchase');
    expect(stopped(decideFor(everything, { ...all, earlierPurchase: false }))).toBe('limit_per_card_reached');
  });

  it('cuts the last cashback to what is left of the budget and counts it', () => {
    const budgeted = {
      action: { type: 'cashback', percent_bps: 1000 },
      limits: { budget: { amount: 1000, currency: 'USD' } },
    };
    expect(decideFor(budgeted, { budgetSpent: 900 }, { amount: 5000, currency: 'USD' })).toEqual({
      fire: true,
      reward: { type: 'cashback', amount: 100, currency: 'USD' },
      budgetSpend: 100,
    });
    expect(decideFor(budgeted, { budgetSpent: 0 }, { amount: 5000, currency: 'USD' })).toMatchObject({
      budgetSpend: 500,
    });
  });

  it('gives a coupon only whole within a budget, and spends nothing for points', () => {
    const coupon = {
      action: { type: 'coupon', code_prefix: 'C', value: { amount: 500, currency: 'USD' } },
      limits: { budget: { amount: 1000, currency: 'USD' } },
    };
    expect(decideFor(coupon, { budgetSpent: 500 })).toEqual({
      fire: true,
      reward: { type: 'none' },
      budgetSpend: 500,
    });
    expect(stopped(decideFor(coupon, { budgetSpent: 501 }))).toBe('budget_exhausted');
    expect(
      decideFor({ action: { type: 'points', per_unit: 10 } }, {}, { amount: 475, currency: 'USD' }),
    ).toEqual({
      fire: true,
      reward: { type: 'points', points: 40 },
      budgetSpend: 0,
    });
  });
});

describe('rewards', () => {
  const cashback = (action: Record<string, unknown>) =>
    TriggerInput.parse({ name: 't', action: { type: 'cashback', ...action } }).action as Parameters<
      typeof cashbackFor
    >[0];
  it.each([
    // [action, amount, cashback]
    [{ percent_bps: 500 }, 475, 23], // 23.75 rounds down
    [{ percent_bps: 500 }, 19, 0], // 0.95 rounds down to nothing
    [{ percent_bps: 1 }, 9_999, 0],
    [{ percent_bps: 1 }, 10_000, 1],
    [{ percent_bps: 10_000 }, 475, 475],
    [{ percent_bps: 250, fixed: 100 }, 1_999, 149], // 100 + 49.975
    [{ percent_bps: 500, max: 1000 }, 100_000, 1000], // 5000 capped
    [{ percent_bps: 10_000, fixed: 100, max: 120 }, 50, 120], // the cap holds for the fixed part too
    [{ percent_bps: 9_999 }, Number.MAX_SAFE_INTEGER, 9_006_298_534_815_516], // exact beyond 2^53 products
  ])('cashback %j on %i is %i (percentage rounded down)', (action, amount, expected) => {
    expect(cashbackFor(cashback(action), amount)).toBe(expected);
  });

  const points = (per_unit: number, fixed = 0) => ({
    type: 'points' as const,
    per_unit,
    fixed,
    available_after_days: 0,
  });
  it.each([
    // [per_unit, fixed, amount, currency, points]
    [10, 0, 475, 'USD', 40], // 4 whole dollars
    [10, 0, 99, 'USD', 0],
    [1, 0, 475, 'JPY', 475], // no minor unit
    [1, 0, 12_345, 'BHD', 12], // three decimals
    [2, 50, 1_000, 'EUR', 70],
  ])('points: %i per unit + %i on %i %s is %i', (perUnit, fixed, amount, currency, expected) => {
    expect(pointsFor(points(perUnit, fixed), amount, currency)).toBe(expected);
  });

  it('knows each currency’s minor unit from Intl', () => {
    expect(['USD', 'JPY', 'BHD', 'EUR'].map(minorDigits)).toEqual([2, 0, 3, 2]);
  });
});
