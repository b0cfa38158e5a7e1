/**
 * A synthetic world for `npm run bench -- rules`: apps with triggers, cardholders granting a few apps each, and
 * purchases. Seeded (mulberry32), so every run and every peer sees the same triggers and events.
 */
import type { RuleTrigger } from '../src/rules/compile.ts';
import type { TriggerAction, TriggerMatch } from '../src/rules/dsl.ts';
import type { Grant, RuleEvent } from '../src/rules/event.ts';

export const MID_COUNT = 10_000;
export const MCC_COUNT = 300;
export const MERCHANT_COUNT = 2_000;
export const TRIGGERS_PER_APP = 100;

/** Share of triggers by index key, and of the extra conditions they carry (independently of each other). */
export const MIX = {
  keys: { mids: 0.55, merchant_ids: 0.25, mccs_only: 0.18, nothing_named: 0.02 },
  conditions: {
    amount_range: 0.5,
    event_types: 0.2,
    days_of_week: 0.2,
    local_time: 0.2,
    countries: 0.1,
    currencies: 0.1,
    schemes: 0.1,
    entry_modes: 0.1,
    starts_ends: 0.1,
    merchant_name_contains: 0.05,
  },
  /** Purchases at a merchant one of the cardholder's apps has a trigger for (the rest: any of the MIDs). */
  eventsAtGrantedAppsMerchants: 0.3,
};

export interface World {
  triggers: RuleTrigger[];
  /** Per cardholder: the apps granted (1 to 10) with their scopes. */
  grants: Grant[][];
  events: RuleEvent[];
  /** events[i] belongs to cardholder eventUser[i]. */
  eventUser: number[];
}

const ALL_SCOPES = ['receipts', 'loyalty', 'cashback', 'coupons', 'social', 'transactions'];
const COUNTRIES = [
  ['US', 'USD', -300],
  ['US', 'USD', -480],
  ['GB', 'GBP', 0],
  ['FR', 'EUR', 60],
  ['DE', 'EUR', 60],
  ['JP', 'JPY', 540],
  ['IN', 'INR', 330],
  ['BR', 'BRL', -180],
] as const;
const SCHEMES = ['visa', 'mastercard', 'amex', 'discover'] as const;
const ENTRY_MODES = ['contactless', 'chip', 'ecommerce', 'card_on_file', 'magstripe'] as const;

/** A small seeded PRNG (mulberry32): the same world on every run. */
export function mulberry32(seed: number) {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const midName = (i: number) => `M${String(i).padStart(7, '0')}`;
const merchantOfMid = (i: number) => i % MERCHANT_COUNT;
const merchantId = (m: number) => `mer_${String(m).padStart(5, '0')}`;
const mccOfMid = (i: number) => String(5000 + ((i * 7919) % MCC_COUNT));
const countryOfMerchant = (m: number) => COUNTRIES[m % COUNTRIES.length]!;
const merchantName = (m: number) => `SHOP ${m} ${m % 3 === 0 ? 'COFFEE' : 'STORE'}`;
const clock = (minutes: number) =>
  `${String(Math.floor(minutes / 60)).padStart(2, '0')}:${String(minutes % 60).padStart(2, '0')}`;

/** Builds `apps` apps of `triggersPerApp` triggers, `users` cardholders and `eventCount` events. */
export function buildWorld(
  apps: number,
  users: number,
  eventCount: number,
  { seed = 13, triggersPerApp = TRIGGERS_PER_APP }: { seed?: number; triggersPerApp?: number } = {},
): World {
  const random = mulberry32(seed);
  const int = (n: number) => Math.floor(random() * n);
  const pick = <T>(values: readonly T[]) => values[int(values.length)]!;
  const someOf = <T>(values: readonly T[], max: number) => {
    const chosen = new Set<T>();
    const want = 1 + int(max);
    while (chosen.size < want) chosen.add(pick(values));
    return [...chosen];
  };
  const triggers: RuleTrigger[] = [];
  /** MIDs each app's triggers point at, to send some purchases there. */
  const midsOfApp: number[][] = [];
  for (let a = 0; a < apps; a++) {
    const appId = `app_${String(a).padStart(5, '0')}`;
    const mids: number[] = [];
    for (let t = 0; t < triggersPerApp; t++) {
      const match: TriggerMatch = {};
      const roll = random();
      const { keys, conditions: c } = MIX;
      if (roll < keys.mids) {
        const named = Array.from({ length: 1 + int(3) }, () => int(MID_COUNT));
        match.mids = [...new Set(named)].map(midName);
        mids.push(...named);
      } else if (roll < keys.mids + keys.merchant_ids) {
        const m = int(MERCHANT_COUNT);
        match.merchant_ids = [merchantId(m)];
        mids.push(m + MERCHANT_COUNT * int(MID_COUNT / MERCHANT_COUNT));
      } else if (roll < keys.mids + keys.merchant_ids + keys.mccs_only) {
        match.mccs = someOf(
          Array.from({ length: 20 }, (_, i) => String(5000 + ((i * 37 + a) % MCC_COUNT))),
          2,
        );
      } else match.amount_min = 5_000 + int(5_000);
      if (random() < c.amount_range) {
        const min = int(3_000);
        match.amount_min = Math.max(match.amount_min ?? 0, min);
        if (random() < 0.5) match.amount_max = match.amount_min + 1_000 + int(20_000);
      }
      if (random() < c.event_types) match.event_types = ['authorization'];
      if (random() < c.days_of_week) match.days_of_week = someOf([1, 2, 3, 4, 5, 6, 7], 5).sort();
      if (random() < c.local_time) {
        // Half the windows pass midnight.
        const from = int(24) * 60;
        const to =
          random() < 0.5 ? (from + 120 + int(8) * 60) % 1440 : Math.min(from + 60 + int(6) * 60, 1439);
        if (to !== from) match.local_time = { from: clock(from), to: clock(to) };
      }
      if (random() < c.countries) match.countries = someOf(['US', 'GB', 'FR', 'DE', 'JP'], 2);
      if (random() < c.currencies) match.currencies = someOf(['USD', 'EUR', 'GBP'], 2);
      if (random() < c.schemes) match.schemes = someOf(SCHEMES, 2);
      if (random() < c.entry_modes) match.entry_modes = someOf(ENTRY_MODES, 3);
      if (random() < c.starts_ends) {
        match.starts_at = `2026-11-${String(1 + int(10)).padStart(2, '0')}T00:00:00Z`;
        match.ends_at = `2026-11-${String(15 + int(15)).padStart(2, '0')}T23:59:59-05:00`;
      }
      if (random() < c.merchant_name_contains)
        match.merchant_name_contains = pick(['coffee', 'Store', 'shop 1']);
      const action = randomAction(random);
      const limits =
        action.type === 'cashback' && random() < 0.2
          ? { budget: { amount: 1_000_000, currency: 'USD' } }
          : {};
      triggers.push({
        id: `trg_${appId}_${t}`,
        appId,
        version: 1,
        status: 'active',
        match,
        limits,
        action,
      });
    }
    midsOfApp.push(mids);
  }
  const grants: Grant[][] = [];
  for (let u = 0; u < users; u++) {
    const granted = new Set<number>();
    const want = Math.min(1 + int(10), apps);
    while (granted.size < want) granted.add(int(apps));
    grants.push(
      [...granted].map((a) => ({
        appId: `app_${String(a).padStart(5, '0')}`,
        scopes: new Set(random() < 0.9 ? ALL_SCOPES : someOf(ALL_SCOPES, 5)),
      })),
    );
  }
  const events: RuleEvent[] = [];
  const eventUser: number[] = [];
  for (let e = 0; e < eventCount; e++) {
    const user = int(users);
    const userGrants = grants[user]!;
    let mid = int(MID_COUNT);
    if (random() < MIX.eventsAtGrantedAppsMerchants) {
      const appIndex = Number(pick(userGrants).appId.slice(4));
      const named = midsOfApp[appIndex]!;
      if (named.length > 0) mid = pick(named);
    }
    const merchant = merchantOfMid(mid);
    const [country, currency, offset] = countryOfMerchant(merchant);
    const local = Date.UTC(2026, 10, 1) + int(30 * 24 * 60) * 60_000 + int(60) * 1000;
    const localAt = new Date(local).toISOString().slice(0, 19);
    const instant = new Date(local - offset * 60_000).toISOString();
    const typeRoll = random();
    events.push({
      id: `evt_${e}`,
      type: typeRoll < 0.85 ? 'authorization' : typeRoll < 0.95 ? 'clearing' : 'refund',
      occurredAt: instant,
      localAt,
      utcOffsetMinutes: offset,
      userId: `usr_${user}`,
      cardId: `crd_${user}`,
      cardScheme: pick(SCHEMES),
      amount: Math.round(100 * 200 ** random()),
      currency,
      merchantId: merchantId(merchant),
      mid: midName(mid),
      merchantName: merchantName(merchant),
      mcc: mccOfMid(mid),
      merchantCountry: country,
      entryMode: pick(ENTRY_MODES),
    });
    eventUser.push(user);
  }
  return { triggers, grants, events, eventUser };
}

function randomAction(random: () => number): TriggerAction {
  const roll = random();
  if (roll < 0.35)
    return { type: 'cashback', percent_bps: 500, fixed: 0, max: 1_000, available_after_days: 0 };
  if (roll < 0.6) return { type: 'points', fixed: 0, per_unit: 10, available_after_days: 0 };
  if (roll < 0.75) return { type: 'coupon', code_prefix: 'BENCH' };
  if (roll < 0.85) return { type: 'receipt' };
  if (roll < 0.95) return { type: 'webhook' };
  return { type: 'social_post', template: 'Just bought at {{merchant.name}}' };
}
