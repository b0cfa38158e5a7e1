import { describe, expect, it } from 'vitest';
import { TriggerAction, TriggerLimits, TriggerMatch } from '../../src/rules/dsl.ts';
import { STATEFUL_REASONS, STATELESS_REASONS } from '../../src/rules/reasons.ts';
import { formatMoney } from '../../src/web/format.ts';
import { daysInWords, reasonInWords } from '../../src/web/reasons.ts';

const terms = (
  match: Record<string, unknown>,
  limits: Record<string, unknown> = {},
  action: unknown = { type: 'cashback', percent_bps: 500 },
) => ({
  match: TriggerMatch.parse(match),
  limits: TriggerLimits.parse(limits),
  action: TriggerAction.parse(action),
});

describe('why an offer gave nothing, in plain words', () => {
  it.each([
    ['not_nth_purchase', { progress: { have: 2, need: 5 } }, '2 of 5 stamps'],
    ['not_nth_purchase', { terms: terms({ nth_purchase: { n: 3 } }) }, 'only on every 3rd purchase'],
    [
      'outside_local_time',
      { terms: terms({ local_time: { from: '00:00', to: '11:00' } }) },
      'only before 11:00',
    ],
    [
      'outside_local_time',
      { terms: terms({ local_time: { from: '07:00', to: '11:00' } }) },
      'only between 07:00 and 11:00',
    ],
    [
      'outside_local_time',
      { terms: terms({ local_time: { from: '18:00', to: '00:00' } }) },
      'only after 18:00',
    ],
    ['wrong_day', { terms: terms({ days_of_week: [1, 2, 3, 4, 5] }) }, 'only on Monday to Friday'],
    ['wrong_day', { terms: terms({ days_of_week: [6, 7] }) }, 'only on Saturday and Sunday'],
    ['amount_below_min', { terms: terms({ amount_min: 300 }) }, 'only on purchases of $3.00 or more'],
    [
      'amount_above_max',
      { terms: terms({ amount_max: 5000 }), currency: 'JPY' },
      'only on purchases up to ¥5,000',
    ],
    ['country_mismatch', { terms: terms({ countries: ['US', 'CA'] }) }, 'only in United States or Canada'],
    ['scheme_mismatch', { terms: terms({ schemes: ['visa'] }) }, 'only with Visa cards'],
    [
      'entry_mode_mismatch',
      { terms: terms({ entry_modes: ['contactless', 'chip'] }) },
      'only when you pay contactless or by chip',
    ],
    ['ended', { terms: terms({ ends_at: '2026-12-31T23:59:59Z' }) }, 'the offer ended on 31 Dec 2026'],
    [
      'scope_not_granted',
      { terms: terms({}, {}, { type: 'points', fixed: 10 }) },
      'you have not allowed this app to give you points',
    ],
    [
      'limit_per_user_per_day_reached',
      { terms: terms({}, { per_user_per_day: 1 }) },
      'already used once today, the most it allows a day',
    ],
    [
      'limit_per_card_reached',
      { terms: terms({}, { per_card: 10 }) },
      'already used 10 times with this card, the most it allows',
    ],
    ['budget_exhausted', {}, 'the offer’s budget is spent'],
  ] as const)('%s → "%s"', (reason, context, words) => {
    expect(reasonInWords(reason, { currency: 'USD', ...context })).toBe(words);
  });

  it('has words for every reason code, with and without the trigger’s terms', () => {
    for (const reason of [...STATELESS_REASONS, ...STATEFUL_REASONS]) {
      expect(reasonInWords(reason, { currency: 'USD' })).toMatch(/^[a-z0-9]/);
      expect(reasonInWords(reason, { currency: 'EUR', terms: terms({}) })).not.toMatch(/undefined|NaN/);
    }
  });

  it('groups runs of days and lists the rest', () => {
    expect(daysInWords([1, 3, 5])).toBe('Monday, Wednesday and Friday');
    expect(daysInWords([1, 2, 3, 5, 6, 7])).toBe('Monday to Wednesday and Friday to Sunday');
  });
});

describe('amounts in their currency’s own digits', () => {
  it.each([
    [475, 'USD', '$4.75'],
    [500, 'JPY', '¥500'],
    [1234, 'BHD', 'BHD 1.234'],
    [100000, 'EUR', '€1,000.00'],
    [5, 'GBP', '£0.05'],
  ])('%i %s → %s', (amount, currency, text) => {
    expect(formatMoney(amount, currency).replace(/\u00a0/g, ' ')).toBe(text);
  });
});
