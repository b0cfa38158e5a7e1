/**
 * The demo's world, as data: four apps and their triggers, the simulated world's fifty merchants, and the
 * cardholders (their cards and the apps each connects), all drawn from the seed so that every run of the same
 * size and seed names the same things: a re-run finds them and creates nothing twice.
 */
import type { Scope } from '../grants/scopes.ts';
import { type SimulatedCard, simulatedCard } from '../simulator/cards.ts';
import { cardHabit } from '../simulator/habits.ts';
import { MERCHANTS, type SimulatedMerchant } from '../simulator/merchants.ts';
import { Random } from '../simulator/random.ts';

export type AppKey = 'coffee' | 'miles' | 'cashback' | 'receipts';

export interface DemoTrigger {
  name: string;
  /** The trigger body (POST /v1/triggers); `merchant_ids` are filled in once the merchants exist. */
  body: (merchantIds: Record<string, string>) => Record<string, unknown>;
}

export interface DemoApp {
  key: AppKey;
  name: string;
  scopes: Scope[];
  fee: { fixed: number; bps: number; currency: string };
  /** How many cardholders connect it. */
  share: number;
  /** Regulars of this merchant (their card's favorite) nearly all connect it. */
  regularsOf?: string;
  triggers: DemoTrigger[];
}

/** A month's bounds (UTC) and its name: the cashback app's budget is a month's. */
export function monthOf(now: Date) {
  const from = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1));
  const to = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1) - 1000);
  const name = from.toLocaleString('en-US', { month: 'long', year: 'numeric', timeZone: 'UTC' });
  return { from: from.toISOString(), to: to.toISOString().replace('.000Z', 'Z'), name };
}

export function demoApps(now: Date): DemoApp[] {
  const month = monthOf(now);
  return [
    {
      key: 'coffee',
      name: 'Driftwood Coffee Club',
      scopes: ['loyalty', 'coupons'],
      fee: { fixed: 2, bps: 0, currency: 'USD' },
      share: 0.3,
      regularsOf: 'driftwood-coffee',
      triggers: [
        {
          name: 'Stamp card: every 5th coffee on us',
          body: (merchants) => ({
            match: {
              merchant_ids: [merchants['driftwood-coffee']],
              nth_purchase: { n: 5, window_days: 30, repeat: true },
            },
            action: {
              type: 'coupon',
              code_prefix: 'FREECOFFEE',
              value: { amount: 550, currency: 'USD' },
              expires_in_days: 30,
            },
          }),
        },
        {
          name: '10 beans per visit',
          body: (merchants) => ({
            match: { merchant_ids: [merchants['driftwood-coffee']] },
            action: { type: 'points', fixed: 10 },
          }),
        },
      ],
    },
    {
      key: 'miles',
      name: 'SkyHigh Miles',
      scopes: ['loyalty'],
      fee: { fixed: 1, bps: 25, currency: 'USD' },
      share: 0.4,
      triggers: [
        {
          name: '1 mile per dollar, everywhere in the US',
          body: () => ({ match: { currencies: ['USD'] }, action: { type: 'points', per_unit: 1 } }),
        },
        {
          name: '3 more miles per dollar on flights',
          body: () => ({ match: { mccs: ['4511'] }, action: { type: 'points', per_unit: 3 } }),
        },
      ],
    },
    {
      key: 'cashback',
      name: 'Pocket Cashback',
      scopes: ['cashback', 'transactions'],
      fee: { fixed: 0, bps: 100, currency: 'USD' },
      share: 0.5,
      triggers: [
        {
          name: `5% back on groceries and fuel, ${month.name} budget`,
          body: () => ({
            match: {
              mccs: ['5411', '5541', '5542'],
              currencies: ['USD'],
              starts_at: month.from,
              ends_at: month.to,
            },
            limits: { per_user_per_day: 3, budget: { amount: 250_000, currency: 'USD' } },
            action: { type: 'cashback', percent_bps: 500, max: 1500 },
          }),
        },
      ],
    },
    {
      key: 'receipts',
      name: 'Shoebox Receipts',
      scopes: ['receipts'],
      fee: { fixed: 1, bps: 0, currency: 'USD' },
      share: 0.35,
      triggers: [{ name: 'A receipt for every purchase', body: () => ({ action: { type: 'receipt' } }) }],
    },
  ];
}

/** Title case of a network name: `DRIFTWOOD COFFEE` → `Driftwood Coffee`. */
export const displayName = (merchant: SimulatedMerchant) =>
  merchant.name
    .toLowerCase()
    .replace(/(^|[\s&-])([a-z])/g, (_, before: string, letter: string) => before + letter.toUpperCase());

export const DEMO_MERCHANTS = MERCHANTS;

const REGULARS_SHARE = 0.9;

/** The one password of every demo cardholder (the summary prints it: these accounts are for looking around). */
export const DEMO_PASSWORD = 'cardlink-demo-2026';

export interface Cardholder {
  index: number;
  email: string;
  cards: SimulatedCard[];
  apps: AppKey[];
}

export const cardholderEmail = (index: number) =>
  `cardholder.${String(index + 1).padStart(4, '0')}@demo.example.com`;

/**
 * `count` cardholders. Cardholder i may hold simulated cards 2i and 2i+1: every one enrolls 2i, about one in
 * six enrolls 2i+1 too; the other odd cards are the processor's cards nobody enrolled (their events are
 * acknowledged and match nothing, as most of a real feed's would). A card's holder never depends on `count`,
 * so a re-run of another size enrolls no card twice. Each connects each app with the app's share (at least one),
 * and the regulars of the app's merchant (by the habit of their first card) nearly all connect it.
 */
export function demoCardholders(seed: string, count: number, apps: DemoApp[]): Cardholder[] {
  return Array.from({ length: count }, (_, index) => {
    const random = Random.for(seed, 'cardholder', index);
    const cards = [simulatedCard(seed, 2 * index)];
    if (random.chance(1 / 6)) cards.push(simulatedCard(seed, 2 * index + 1));
    const favorite = MERCHANTS[cardHabit(seed, 2 * index).favorite]!.key;
    const connected = apps
      .filter((app) => random.chance(app.regularsOf === favorite ? REGULARS_SHARE : app.share))
      .map((app) => app.key);
    if (connected.length === 0) connected.push(apps[random.int(0, apps.length - 1)]!.key);
    return { index, email: cardholderEmail(index), cards, apps: connected };
  });
}

/** The simulated world's cards for `count` cardholders (the simulator's `cards`). */
export const worldCards = (count: number) => 2 * count;
