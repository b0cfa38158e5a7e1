// Who buys where: each card's habits (how often, home zone, a favorite merchant), and the draw of a
// purchase's card and merchant from them. The demo reads the same habits to know a card's regulars.
import { MERCHANTS, type SimulatedMerchant } from './merchants.ts';
import { Random } from './random.ts';

/** How a card is used: how often, where its holder lives, and the merchant they keep going back to. */
export interface CardHabit {
  /** Relative to other cards: heavy-tailed, so a few regulars buy far more often than most. */
  activity: number;
  /** The time zone of home: most purchases are near it. */
  home: string;
  /** Index into the merchants: a regular's coffee shop or grocer. */
  favorite: number;
}

/** Of a card's purchases, how many are at its favorite merchant. */
const AT_FAVORITE = 0.4;

/** The time zones the merchants are in (where cardholders live). */
const zonesOf = (merchants: readonly SimulatedMerchant[]) => [...new Set(merchants.map((m) => m.timezone))];

/** How often cardholders living in `zone` buy at each merchant: near home, a little across the US, seldom abroad. */
const merchantWeights = (merchants: readonly SimulatedMerchant[], zone: string) =>
  merchants.map((m) => m.popularity * (m.timezone === zone ? 6 : m.country === 'US' ? 1 : 0.15));

/** The zones of a list of merchants and, per zone, how regulars living there pick their favorite. */
interface World {
  zones: string[];
  favoriteWeights: Map<string, number[]>;
}

function worldOf(merchants: readonly SimulatedMerchant[]): World {
  const zones = zonesOf(merchants);
  // Regulars favor the places people go back to most (coffee, groceries): popularity counts twice.
  const favoriteWeights = new Map(
    zones.map((zone) => [zone, merchantWeights(merchants, zone).map((w) => w * w)] as const),
  );
  return { zones, favoriteWeights };
}

function habitIn(world: World, seed: string, index: number): CardHabit {
  const random = Random.for(seed, 'habit', index);
  const activity = 1 / (0.01 + random.next()) ** 1.4;
  const home = world.zones[random.int(0, world.zones.length - 1)]!;
  const favorite = random.weighted(world.favoriteWeights.get(home)!);
  return { activity, home, favorite };
}

/** The habit of card `index` of the world of `seed` (what the plan draws its purchases from). */
export function cardHabit(
  seed: string,
  index: number,
  merchants: readonly SimulatedMerchant[] = MERCHANTS,
): CardHabit {
  return habitIn(worldOf(merchants), seed, index);
}

interface CardHabits {
  /** Cumulative activity (binary-searched per purchase). */
  cumulative: Float64Array;
  total: number;
  habits: CardHabit[];
}

function cardHabits(seed: string, cards: number, merchants: readonly SimulatedMerchant[]): CardHabits {
  const cumulative = new Float64Array(cards);
  const habits: CardHabit[] = [];
  const world = worldOf(merchants);
  let total = 0;
  for (let i = 0; i < cards; i++) {
    const habit = habitIn(world, seed, i);
    habits.push(habit);
    total += habit.activity;
    cumulative[i] = total;
  }
  return { cumulative, total, habits };
}

function pickCard(habits: CardHabits, random: Random): number {
  const target = random.next() * habits.total;
  let lo = 0;
  let hi = habits.cumulative.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (habits.cumulative[mid]! > target) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** Who makes a purchase and where, drawn from `random`: active cards buy more, at their favorite or near home. */
export type ShopperPicker = (random: Random) => { card: number; merchant: number };

/** The picker of the first `cards` cards of `seed` (their habits are drawn once, here). */
export function shopperPicker(
  seed: string,
  cards: number,
  merchants: readonly SimulatedMerchant[],
): ShopperPicker {
  const weightsByZone = new Map(zonesOf(merchants).map((zone) => [zone, merchantWeights(merchants, zone)]));
  const habits = cardHabits(seed, cards, merchants);
  return (random) => {
    const card = pickCard(habits, random);
    const habit = habits.habits[card]!;
    const merchant = random.chance(AT_FAVORITE)
      ? habit.favorite
      : random.weighted(weightsByZone.get(habit.home)!);
    return { card, merchant };
  };
}
