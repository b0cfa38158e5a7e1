import { describe, expect, it } from 'vitest';
import { TriggerInput, TriggerPatch } from '../../src/rules/dsl.ts';

const cashback = { type: 'cashback', percent_bps: 500 };
const valid = {
  name: 'Fifth coffee on us',
  match: {
    event_types: ['authorization'],
    merchant_ids: ['mer_01jh5v8'],
    mids: ['000123'],
    mccs: ['5814'],
    merchant_name_contains: 'BLUE BOTTLE',
    countries: ['US'],
    currencies: ['USD'],
    schemes: ['visa', 'mastercard'],
    entry_modes: ['contactless', 'chip'],
    amount_min: 300,
    amount_max: 5000,
    days_of_week: [1, 2, 3, 4, 5],
    local_time: { from: '22:00', to: '02:00' },
    starts_at: '2026-01-01T00:00:00Z',
    ends_at: '2026-12-31T23:59:59Z',
    nth_purchase: { n: 5, window_days: 30, repeat: true },
  },
  limits: {
    per_card: 10,
    per_user_per_day: 1,
    total_redemptions: 10000,
    budget: { amount: 500000, currency: 'USD' },
  },
  action: { ...cashback, fixed: 0, max: 1000, available_after_days: 0 },
};

/** The `{path, message}` list a 422 would carry for this input. */
function problems(input: unknown) {
  const result = TriggerInput.safeParse(input);
  return result.success ? [] : result.error.issues.map((issue) => issue.path.join('.'));
}

describe('the trigger DSL', () => {
  it("accepts the contract's example and fills defaults", () => {
    const parsed = TriggerInput.parse(valid);
    expect(parsed.status).toBe('active');
    expect(TriggerInput.parse({ name: 'Receipts', action: { type: 'receipt' } })).toEqual({
      name: 'Receipts',
      status: 'active',
      match: {},
      limits: {},
      action: { type: 'receipt' },
    });
  });

  const withMatch = (match: object) => ({ ...valid, match: { ...valid.match, ...match } });
  // Without the budget, which only cashback and a valued coupon can spend.
  const withAction = (action: object) => ({ ...valid, limits: {}, action });

  it.each([
    ['amount_min above amount_max', withMatch({ amount_min: 600, amount_max: 500 }), ['match.amount_max']],
    ['an unknown currency', withMatch({ currencies: ['XYZ'] }), ['match.currencies.0']],
    ['a lower-case currency', withMatch({ currencies: ['usd'] }), ['match.currencies.0']],
    ['an unknown country', withMatch({ countries: ['USA'] }), ['match.countries.0']],
    ['an unknown scheme', withMatch({ schemes: ['diners'] }), ['match.schemes.0']],
    ['an unknown entry mode', withMatch({ entry_modes: ['telepathy'] }), ['match.entry_modes.0']],
    ['day 0', withMatch({ days_of_week: [0] }), ['match.days_of_week.0']],
    ['day 8', withMatch({ days_of_week: [8] }), ['match.days_of_week.0']],
    [
      'a bad local_time',
      withMatch({ local_time: { from: '7am', to: '24:00' } }),
      ['match.local_time.from', 'match.local_time.to'],
    ],
    [
      'an empty local_time window',
      withMatch({ local_time: { from: '07:00', to: '07:00' } }),
      ['match.local_time.to'],
    ],
    [
      'ends_at before starts_at',
      withMatch({ starts_at: '2026-02-01T00:00:00Z', ends_at: '2026-01-01T00:00:00Z' }),
      ['match.ends_at'],
    ],
    ['a date without zone', withMatch({ starts_at: '2026-02-01' }), ['match.starts_at']],
    ['nth_purchase.n of 1', withMatch({ nth_purchase: { n: 1 } }), ['match.nth_purchase.n']],
    ['a refund as event type', withMatch({ event_types: ['refund'] }), ['match.event_types.0']],
    ['an empty list', withMatch({ mids: [] }), ['match.mids']],
    [
      'a card number in merchant_name_contains',
      withMatch({ merchant_name_contains: '4242 4242 4242 4242' }),
      ['match.merchant_name_contains'],
    ],
    ['percent_bps of 0', withAction({ type: 'cashback', percent_bps: 0 }), ['action.percent_bps']],
    [
      'percent_bps above 10,000',
      withAction({ type: 'cashback', percent_bps: 10001 }),
      ['action.percent_bps'],
    ],
    ['a coupon without code_prefix', withAction({ type: 'coupon' }), ['action.code_prefix']],
    ['an unknown action type', withAction({ type: 'lottery' }), ['action.type']],
    [
      'a social post with an unknown placeholder',
      withAction({ type: 'social_post', template: 'Paid {{card.pan}}' }),
      ['action.template'],
    ],
    ['points with nothing to give', withAction({ type: 'points' }), ['action.fixed']],
    ['an unknown field at the top', { ...valid, colour: 'red' }, ['']],
    ['an unknown field in match', withMatch({ colour: 'red' }), ['match']],
    ['an unknown field in limits', { ...valid, limits: { per_week: 1 } }, ['limits']],
    ['an unknown field in the action', withAction({ ...cashback, bonus: 1 }), ['action']],
    ['a zero limit', { ...valid, limits: { per_card: 0 } }, ['limits.per_card']],
    ['a control character in a MID', withMatch({ mids: ['000\u0007123'] }), ['match.mids.0']],
    ['a MID longer than an event’s', withMatch({ mids: ['1'.repeat(65)] }), ['match.mids.0']],
    ['a blank MID', withMatch({ mids: ['   '] }), ['match.mids.0']],
    ['the same MID twice once trimmed', withMatch({ mids: ['000123', ' 000123 '] }), ['match.mids']],
    ['a control character in the name', { ...valid, name: 'Coffee\u0007' }, ['name']],
    ['cashback fixed above max', withAction({ type: 'cashback', fixed: 300, max: 200 }), ['action.max']],
    [
      'a code_prefix of the wrong type',
      withAction({ type: 'coupon', code_prefix: 5 }),
      ['action.code_prefix'],
    ],
    ['a budget on a receipt', { ...valid, action: { type: 'receipt' } }, ['limits.budget']],
    ['a budget on a webhook', { ...valid, action: { type: 'webhook' } }, ['limits.budget']],
    ['a budget on points', { ...valid, action: { type: 'points', per_unit: 1 } }, ['limits.budget']],
    [
      'a budget on a social post',
      { ...valid, action: { type: 'social_post', template: 'hi' } },
      ['limits.budget'],
    ],
    [
      'a budget on a coupon without value',
      { ...valid, action: { type: 'coupon', code_prefix: 'BB' } },
      ['limits.budget'],
    ],
    [
      'a budget in another currency than the coupon’s value',
      { ...valid, action: { type: 'coupon', code_prefix: 'BB', value: { amount: 100, currency: 'EUR' } } },
      ['limits.budget'],
    ],
  ])('refuses %s, naming the field once', (_name, input, paths) => {
    expect(problems(input).sort()).toEqual([...paths].sort());
  });

  it('trims MIDs as events’ are, and keeps a budget on what spends it', () => {
    expect(TriggerInput.parse(withMatch({ mids: [' 000123 ', '9'] })).match.mids).toEqual(['000123', '9']);
    expect(TriggerPatch.parse({ match: { mids: ['\t000123 '] } }).match?.mids).toEqual(['000123']);
    const coupon = { type: 'coupon', code_prefix: 'BB', value: { amount: 100, currency: 'USD' } };
    expect(TriggerInput.safeParse({ ...valid, action: coupon }).success).toBe(true);
    expect(
      TriggerInput.safeParse({ ...valid, action: { type: 'cashback', fixed: 200, max: 200 } }).success,
    ).toBe(true);
  });

  it.each([
    [
      'a code_prefix of the wrong type',
      withAction({ type: 'coupon', code_prefix: 5 }),
      /^must be 1 to 12 capital/,
    ],
    ['a missing code_prefix', withAction({ type: 'coupon' }), /^is required/],
    [
      'an unknown scheme',
      withMatch({ schemes: ['diners'] }),
      /^must be one of visa, mastercard, amex, discover$/,
    ],
    [
      'an unknown entry mode',
      withMatch({ entry_modes: ['telepathy'] }),
      /^must be one of contactless, chip, .*unknown$/,
    ],
    [
      'a budget on points',
      { ...valid, action: { type: 'points', per_unit: 1 } },
      /points action spends nothing/,
    ],
    ['a control character in the name', { ...valid, name: 'A\u001fB' }, /control characters/],
  ])('explains %s', (_name, input, message) => {
    const result = TriggerInput.safeParse(input);
    expect(result.success).toBe(false);
    expect(result.error?.issues.map((issue) => issue.message)).toEqual([expect.stringMatching(message)]);
  });

  it('reports every problem of a trigger at once', () => {
    const paths = problems({
      name: '',
      match: { amount_min: -1, days_of_week: [9], currencies: ['usd'] },
      action: { type: 'coupon' },
    });
    expect(paths.sort()).toEqual(
      ['action.code_prefix', 'match.amount_min', 'match.currencies.0', 'match.days_of_week.0', 'name'].sort(),
    );
  });

  it('patches any part, refusing archived (DELETE archives) and unknown fields', () => {
    expect(TriggerPatch.parse({ status: 'paused' })).toEqual({ status: 'paused' });
    expect(TriggerPatch.safeParse({ status: 'archived' }).success).toBe(false);
    expect(TriggerPatch.safeParse({ app_id: 'app_x' }).success).toBe(false);
  });
});
