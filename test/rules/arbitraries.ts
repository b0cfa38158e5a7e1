import fc from 'fast-check';
import { CARD_SCHEMES, ENTRY_MODES, EVENT_TYPES } from '../../src/lib/payments.ts';
import type { RuleTrigger } from '../../src/rules/compile.ts';
import { TriggerAction, TriggerLimits, TriggerMatch } from '../../src/rules/dsl.ts';
import type { Grant, RuleEvent } from '../../src/rules/event.ts';

// Small domains, so that random triggers and events meet often enough for matches and near misses.
export const APPS = ['app_a', 'app_b', 'app_c', 'app_d'];
const MIDS = ['000001', '000002', '000003', '000004'];
const MERCHANT_IDS = ['mer_a', 'mer_b', 'mer_c'];
const MCCS = ['5814', '5411', '5812'];
const COUNTRIES = ['US', 'FR', 'JP'];
const CURRENCIES = ['USD', 'EUR', 'JPY'];
const NAMES = ['Blue Bottle Coffee', 'BLUE BOTTLE #12', 'Café Nero', 'blue bottle oakland', 'Tesco'];
const NEEDLES = ['blue bottle', 'BOTTLE', 'nero', 'café', 'Tesco '];
const SCOPES = ['receipts', 'loyalty', 'cashback', 'coupons', 'social', 'transactions'];
/** Nights when clocks change (US and EU, spring and autumn 2026), a leap day and a year's end. */
const DAYS = ['2026-03-08', '2026-03-29', '2026-10-25', '2026-11-01', '2028-02-29', '2026-12-31'];
/** UTC offsets in minutes, from -12:00 to +14:00, half and quarter hours included. */
const OFFSETS = [-720, -570, -480, -420, -300, -240, 0, 60, 120, 330, 345, 540, 630, 840];

const someOf = <T>(values: readonly T[]) => fc.uniqueArray(fc.constantFrom(...values), { minLength: 1 });
const clock = fc
  .tuple(fc.integer({ min: 0, max: 23 }), fc.constantFrom(0, 1, 15, 30, 59))
  .map(([h, m]) => `${String(h).padStart(2, '0')}:${String(m).padStart(2, '0')}`);
/** An instant within a day and a half of one of DAYS (milliseconds). */
const instant = fc
  .tuple(
    fc.constantFrom(...DAYS),
    // Often on a quarter hour, so that local times land on window edges.
    fc.oneof(
      fc.integer({ min: -36 * 60, max: 36 * 60 }),
      fc.integer({ min: -144, max: 144 }).map((q) => q * 15),
    ),
    fc.integer({ min: 0, max: 59 }),
  )
  .map(([day, minutes, seconds]) => Date.parse(`${day}T12:00:00Z`) + (minutes * 60 + seconds) * 1000);

/** An RFC 3339 rendering of an instant at an offset (what processors send and the DSL accepts). */
export function withOffset(ms: number, offsetMinutes: number, millis = false): string {
  const wall = new Date(ms + offsetMinutes * 60_000).toISOString().slice(0, millis ? 23 : 19);
  if (offsetMinutes === 0) return `${wall}Z`;
  const abs = Math.abs(offsetMinutes);
  const zone = `${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
  return `${wall}${offsetMinutes < 0 ? '-' : '+'}${zone}`;
}

const matchFields = {
  event_types: someOf(['authorization', 'clearing']),
  merchant_ids: someOf(MERCHANT_IDS),
  mids: someOf(MIDS),
  mccs: someOf(MCCS),
  merchant_name_contains: fc.constantFrom(...NEEDLES),
  countries: someOf(COUNTRIES),
  currencies: someOf(CURRENCIES),
  schemes: someOf(['visa', 'mastercard', 'amex', 'discover']),
  entry_modes: someOf(ENTRY_MODES),
  amount_min: fc.integer({ min: 0, max: 1000 }),
  amount_max: fc.integer({ min: 0, max: 1000 }),
  days_of_week: someOf([1, 2, 3, 4, 5, 6, 7]),
  local_time: fc.record({ from: clock, to: clock }),
  starts_at: fc.tuple(instant, fc.constantFrom(...OFFSETS)).map(([ms, o]) => withOffset(ms, o)),
  ends_at: fc.tuple(instant, fc.constantFrom(...OFFSETS)).map(([ms, o]) => withOffset(ms, o)),
};
type MatchField = keyof typeof matchFields;

/** A few conditions per trigger (more would almost never match a random event, and prove nothing). */
const rawMatch = fc
  .tuple(
    fc.record(matchFields),
    fc.subarray(Object.keys(matchFields) as MatchField[], { maxLength: 4 }),
    fc.constantFrom<MatchField[]>([], ['local_time'], ['days_of_week'], ['local_time', 'days_of_week']),
  )
  .map(([values, keys, timeKeys]) =>
    Object.fromEntries([...new Set([...keys, ...timeKeys])].map((key) => [key, values[key]])),
  );

const rawAction = fc.constantFrom<unknown>(
  { type: 'receipt' },
  { type: 'webhook' },
  { type: 'points', per_unit: 1 },
  { type: 'cashback', percent_bps: 500 },
  { type: 'coupon', code_prefix: 'C' },
  { type: 'social_post', template: 'at {{merchant.name}}' },
);

const rawLimits = fc.option(
  fc.constantFrom(...CURRENCIES).map((currency) => ({ budget: { amount: 1000, currency } })),
  { nil: {} },
);

/** A trigger as the DSL would accept it (raw values that the schema refuses are dropped). */
export const trigger = (id: fc.Arbitrary<string>, apps: readonly string[] = APPS) =>
  fc
    .record({
      id,
      appId: fc.constantFrom(...apps),
      version: fc.integer({ min: 1, max: 9 }),
      status: fc.constantFrom('active', 'active', 'active', 'paused', 'archived'),
      match: rawMatch,
      limits: rawLimits,
      action: rawAction,
    })
    .map(({ match, limits, action, ...rest }) => {
      const m = TriggerMatch.safeParse(match);
      const l = TriggerLimits.safeParse(limits);
      const a = TriggerAction.safeParse(action);
      return m.success && l.success && a.success
        ? ({ ...rest, match: m.data, limits: l.data, action: a.data } as RuleTrigger)
        : null;
    })
    .filter((t): t is RuleTrigger => t !== null);

/** Triggers with distinct ids. */
export const triggers = (minLength: number, maxLength: number, apps: readonly string[] = APPS) =>
  fc.uniqueArray(trigger(fc.uuid(), apps), { minLength, maxLength, selector: (t) => t.id });

export const event: fc.Arbitrary<RuleEvent> = fc
  .record({
    instant,
    offset: fc.constantFrom(...OFFSETS),
    millis: fc.boolean(),
    type: fc.constantFrom(...EVENT_TYPES, 'authorization', 'clearing'),
    cardScheme: fc.constantFrom(...CARD_SCHEMES),
    amount: fc.integer({ min: 0, max: 1200 }),
    currency: fc.constantFrom(...CURRENCIES),
    merchantId: fc.option(fc.constantFrom(...MERCHANT_IDS)),
    mid: fc.constantFrom(...MIDS),
    merchantName: fc.option(fc.constantFrom(...NAMES)),
    mcc: fc.option(fc.constantFrom(...MCCS)),
    merchantCountry: fc.option(fc.constantFrom(...COUNTRIES)),
    entryMode: fc.option(fc.constantFrom(...ENTRY_MODES)),
  })
  .map(({ instant: ms, offset, millis, ...fields }) => ({
    id: 'evt_1',
    userId: 'usr_1',
    cardId: 'crd_1',
    occurredAt: withOffset(ms, offset, millis),
    localAt: withOffset(ms, offset, millis).slice(0, millis ? 23 : 19),
    utcOffsetMinutes: offset,
    ...fields,
  }));

/** The apps a cardholder connected (at most `most` of `apps`), each with some of the scopes. */
export const grantsOf = (apps: readonly string[], most = apps.length): fc.Arbitrary<Grant[]> =>
  fc
    .uniqueArray(fc.constantFrom(...apps), { maxLength: most })
    .chain((granted) =>
      fc.tuple(
        ...granted.map((appId) => fc.subarray(SCOPES).map((scopes) => ({ appId, scopes: new Set(scopes) }))),
      ),
    );

/** The apps a cardholder connected, each with some of the scopes. */
export const grants: fc.Arbitrary<Grant[]> = grantsOf(APPS);
