/**
 * The lifecycle generator: what a processor feed sends over a run, as a pure function of (seed, options).
 * Times are offsets from the run's start in ms; turning them into dates, ids and wire bodies is render.ts's.
 *
 * Each purchase is an authorization at a merchant, then (drawn per purchase):
 *   clearing (most; some partial: fuel and hotels clear less than they authorized), later a refund (some
 *   partial); or a reversal (some partial, the rest then clears); or nothing (never cleared).
 *   A few are clearing-only (a forced post: no authorization was seen).
 * Some clearings come late, in a settlement batch at the end of the run; some come before their
 * authorization (the authorization message was delayed); some messages are sent twice (processor retries).
 * Stripe Issuing feeds have no reversals (Stripe reports none as an event cardlink reads).
 */
import type { EntryMode, EventType } from '../lib/payments.ts';
import { DEFAULT_FORMAT_SHARES, type FormatShares, simulatedCard, type WireFormat } from './cards.ts';
import { MERCHANTS, type SimulatedMerchant } from './merchants.ts';
import { DIGITS, Random, UPPER_ALNUM } from './random.ts';

export interface PlanOptions {
  /** Any text or number: the same seed and options give the same plan. */
  seed: string;
  /** Cards in the world (the first `cards` of the seed's cards). */
  cards: number;
  /** Events per second to send. */
  rate: number;
  /** Seconds of traffic; the late settlement batch follows at the end. */
  duration: number;
  /** Share of cards whose issuer sends each feed. */
  formats?: FormatShares;
  /** Merchants to buy from (default: the simulated world's fifty). */
  merchants?: readonly SimulatedMerchant[];
  /** Other probabilities and delays than LIFECYCLE's (e.g. `{clearing: 0, duplicate: 0}`: authorizations only). */
  lifecycle?: Partial<Lifecycle>;
}

export interface PlannedEvent {
  purchase: number;
  type: EventType;
  card: number;
  /** Index into the plan's merchants, and of the merchant's location. */
  merchant: number;
  location: number;
  terminal: string;
  /** This event's amount in minor units (a partial clearing, refund or reversal: less than authorized). */
  amount: number;
  authorizedAmount: number;
  currency: string;
  /** When it happened, ms from the start of the run. */
  occurredMs: number;
  authCode: string;
  rrn: string;
  entryMode: EntryMode;
  partial: boolean;
  /** The purchase had no authorization (a clearing-only feed). */
  clearingOnly: boolean;
}

export type RequestKind = 'events' | 'card_token';

export interface PlannedRequest {
  /** Position in the send order. */
  seq: number;
  /** When to send, ms from the start of the run. */
  atMs: number;
  format: WireFormat;
  kind: RequestKind;
  /** One event, or a settlement batch; none for a card token link. */
  events: PlannedEvent[];
  /** For a card token link (the run's set-up, sent before the clock starts): the card. */
  card?: number;
  /** A re-send of a message already sent (same event ids). */
  duplicate: boolean;
  /** Clearings sent in the end-of-run settlement batch. */
  late: boolean;
  /** An authorization sent after its own clearing. */
  outOfOrder: boolean;
}

export interface PlanCounts {
  purchases: number;
  requests: number;
  events: number;
  by_type: Record<EventType, number>;
  by_format: Record<WireFormat, number>;
  card_token_links: number;
  duplicates: number;
  out_of_order: number;
  late_clearings: number;
  partial_clearings: number;
  partial_refunds: number;
  partial_reversals: number;
  clearing_only: number;
  never_cleared: number;
  batches: number;
}

export interface Plan {
  options: Required<Omit<PlanOptions, 'merchants' | 'lifecycle'>> & {
    merchants: readonly SimulatedMerchant[];
    lifecycle: Lifecycle;
  };
  requests: PlannedRequest[];
  counts: PlanCounts;
}

/** Probabilities of the lifecycle, per purchase unless said otherwise; delays in seconds, [min, max]. */
export interface Lifecycle {
  clearingOnly: number;
  reversal: number;
  partialReversal: number;
  clearing: number;
  partialClearing: number;
  partialClearingEstimated: number;
  refund: number;
  partialRefund: number;
  late: number;
  outOfOrder: number;
  duplicate: number;
  clearingDelay: readonly [number, number];
  reversalDelay: readonly [number, number];
  refundDelay: readonly [number, number];
  duplicateDelay: readonly [number, number];
}

/** The lifecycle of a plan unless its options say otherwise. */
export const LIFECYCLE: Lifecycle = {
  clearingOnly: 0.04,
  reversal: 0.05,
  partialReversal: 0.3,
  clearing: 0.9,
  partialClearing: 0.06,
  /** Fuel and hotels authorize an estimate and clear what was spent. */
  partialClearingEstimated: 0.6,
  refund: 0.06,
  partialRefund: 0.5,
  /** Of clearings (besides those whose delay takes them past the run). */
  late: 0.05,
  outOfOrder: 0.04,
  /** Of messages. */
  duplicate: 0.02,
  /** Seconds after the authorization (in a run of a minute or more; shorter runs shrink them in proportion). */
  clearingDelay: [2, 20],
  reversalDelay: [0.5, 8],
  /** Seconds after the clearing. */
  refundDelay: [3, 15],
  duplicateDelay: [0.3, 4],
};

const SETTLEMENT_BATCH_SIZE = 500;
/** Seconds (scaled like the delays) between a reversal and the clearing of what it left. */
const REVERSAL_CLEARING_GAP_S = 0.5;
const ESTIMATED: ReadonlySet<string> = new Set(['fuel', 'hotel']);

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

/** A purchase amount in [min, max], small ones likelier; JPY and the like have no minor unit to spare. */
function amountAt(merchant: SimulatedMerchant, random: Random): number {
  const [min, max] = merchant.amount;
  const u = random.next();
  return Math.max(1, Math.round(min + (max - min) * u * u));
}

interface Timeline {
  events: { event: PlannedEvent; atMs: number; late: boolean; outOfOrder: boolean }[];
}

/** The plan of a run: every request in send order with its events. Pure: no clock, no I/O. */
export function planTraffic(input: PlanOptions): Plan {
  const options = {
    seed: String(input.seed),
    cards: input.cards,
    rate: input.rate,
    duration: input.duration,
    formats: input.formats ?? DEFAULT_FORMAT_SHARES,
    merchants: input.merchants ?? MERCHANTS,
    lifecycle: { ...LIFECYCLE, ...input.lifecycle },
  };
  if (!(options.cards >= 1)) throw new Error('cards must be at least 1');
  if (!(options.rate > 0) || !(options.duration > 0)) throw new Error('rate and duration must be positive');
  const { seed, merchants, lifecycle: life } = options;
  const weightsByZone = new Map(zonesOf(merchants).map((zone) => [zone, merchantWeights(merchants, zone)]));
  const habits = cardHabits(seed, options.cards, merchants);
  const formatOfCard = (card: number) => simulatedCard(seed, card, options.formats).format;
  const budget = Math.max(1, Math.round(options.rate * options.duration));

  // Pass 1: each purchase's events, drawn from its own generator; until the event budget is spent.
  const purchases: { events: Omit<PlannedEvent, 'occurredMs'>[]; plan: PurchasePlan; format: WireFormat }[] =
    [];
  let planned = 0;
  while (planned < budget) {
    const p = purchases.length;
    const random = Random.for(seed, 'purchase', p);
    const card = pickCard(habits, random);
    const format = formatOfCard(card);
    const habit = habits.habits[card]!;
    const merchantIndex = random.chance(AT_FAVORITE)
      ? habit.favorite
      : random.weighted(weightsByZone.get(habit.home)!);
    const merchant = merchants[merchantIndex]!;
    const plan = purchasePlan(life, random, format, merchant);
    const base = {
      purchase: p,
      card,
      merchant: merchantIndex,
      location: random.int(0, merchant.locations.length - 1),
      terminal: `T${random.int(1, 12)}`,
      currency: merchant.currency,
      authCode: random.text(6, UPPER_ALNUM),
      rrn: random.text(12, DIGITS),
      entryMode: random.pick(merchant.entryModes),
      clearingOnly: plan.clearingOnly,
    };
    const amount = amountAt(merchant, random);
    const events: Omit<PlannedEvent, 'occurredMs'>[] = [];
    const add = (type: EventType, eventAmount: number, partial: boolean) =>
      events.push({ ...base, type, amount: eventAmount, authorizedAmount: amount, partial });
    if (!plan.clearingOnly) add('authorization', amount, false);
    if (plan.reversal !== null)
      add('reversal', plan.reversal === 'full' ? amount : part(amount, random), plan.reversal === 'partial');
    const reversed = events.find((e) => e.type === 'reversal')?.amount ?? 0;
    if (plan.clearing) {
      // After a partial reversal the rest clears.
      const standing = amount - reversed;
      add('clearing', plan.partialClearing ? part(standing, random) : standing, plan.partialClearing);
    }
    const cleared = events.find((e) => e.type === 'clearing')?.amount ?? 0;
    if (plan.refund !== null)
      add('refund', plan.refund === 'full' ? cleared : part(cleared, random), plan.refund === 'partial');
    purchases.push({ events, plan, format });
    planned += events.length;
  }

  // Pass 2: when each is sent. Purchases spread evenly over the run; followers after their delays, or in the
  // settlement batch at the end when that is past the run (or when drawn late).
  const durationMs = options.duration * 1000;
  const spacing = durationMs / purchases.length;
  const scale = Math.min(1, options.duration / 60);
  const seconds = (random: Random, [min, max]: readonly [number, number]) =>
    random.between(min, max) * 1000 * scale;
  const lifecycles: Timeline[] = purchases.map(({ events, plan }, p) => {
    const random = Random.for(seed, 'timing', p);
    const t = Math.round((p + random.next()) * spacing);
    const out: Timeline['events'] = [];
    // When the clearing happened, and when it was sent (a refund follows both).
    let clearedAt = t;
    let clearingSentAt = t;
    // When the reversal was sent: a partial reversal's clearing (of what it left) comes after it.
    let reversal: Timeline['events'][number] | undefined;
    const gap = REVERSAL_CLEARING_GAP_S * 1000 * scale;
    for (const event of events) {
      let at = t;
      let occurred = t;
      let late = false;
      if (event.type === 'clearing' && !event.clearingOnly) {
        occurred = t + seconds(random, life.clearingDelay);
        if (reversal) occurred = Math.max(occurred, reversal.atMs + gap);
        occurred = Math.min(occurred, durationMs);
        late = plan.late || occurred >= durationMs;
        at = late ? durationMs : occurred;
        clearedAt = occurred;
        clearingSentAt = at;
        // A clearing held to the settlement batch at the end: its reversal goes out before the batch.
        if (reversal && reversal.atMs + gap > at) {
          reversal.atMs = Math.max(t, Math.round(at - gap));
          reversal.event.occurredMs = reversal.atMs;
        }
      } else if (event.type === 'reversal') {
        at = t + seconds(random, life.reversalDelay);
        occurred = at;
      } else if (event.type === 'refund') {
        at = clearedAt + seconds(random, life.refundDelay);
        // Past the run, or before its late clearing went out: just after the settlement batch.
        if (at > durationMs || at <= clearingSentAt) at = durationMs + 1000 + random.int(0, 2000);
        occurred = at;
      }
      const timed = {
        event: { ...event, occurredMs: Math.round(occurred) },
        atMs: Math.round(at),
        late,
        outOfOrder: false,
      };
      out.push(timed);
      if (event.type === 'reversal') reversal = timed;
    }
    if (plan.outOfOrder) {
      // The authorization's message was held up: it goes out after its clearing (which was not late).
      const auth = out.find((e) => e.event.type === 'authorization');
      const clearing = out.find((e) => e.event.type === 'clearing');
      if (auth && clearing && !clearing.late) {
        clearing.atMs = t + Math.round(seconds(random, [0.3, 3]));
        clearing.event.occurredMs = clearing.atMs;
        auth.atMs = clearing.atMs + Math.round(seconds(random, [0.2, 2]));
        auth.outOfOrder = true;
        const refund = out.find((e) => e.event.type === 'refund');
        if (refund && refund.atMs <= auth.atMs) {
          refund.atMs = auth.atMs + 500;
          refund.event.occurredMs = refund.atMs;
        }
      }
    }
    return { events: out };
  });

  // Requests: one per event (batches for the late clearings of JSON and ISO 8583 feeds), and duplicates.
  const requests: PlannedRequest[] = [];
  const lateBatches: Record<'json' | 'iso8583', PlannedEvent[]> = { json: [], iso8583: [] };
  const make = (
    atMs: number,
    format: WireFormat,
    events: PlannedEvent[],
    flags: Partial<Pick<PlannedRequest, 'late' | 'outOfOrder' | 'duplicate'>> = {},
  ): PlannedRequest => {
    const request: PlannedRequest = {
      seq: 0,
      atMs,
      format,
      kind: 'events',
      events,
      duplicate: false,
      late: false,
      outOfOrder: false,
      ...flags,
    };
    requests.push(request);
    return request;
  };
  lifecycles.forEach((lifecycle, p) => {
    const { format } = purchases[p]!;
    const random = Random.for(seed, 'resend', p);
    for (const { event, atMs, late, outOfOrder } of lifecycle.events) {
      if (late && format !== 'stripe') {
        lateBatches[format].push(event);
        continue;
      }
      make(atMs, format, [event], { late, outOfOrder });
      if (random.chance(life.duplicate)) {
        make(atMs + Math.round(seconds(random, life.duplicateDelay)), format, [event], {
          late,
          duplicate: true,
        });
      }
    }
  });
  for (const format of ['json', 'iso8583'] as const) {
    const late = lateBatches[format];
    for (let i = 0; i < late.length; i += SETTLEMENT_BATCH_SIZE) {
      make(durationMs, format, late.slice(i, i + SETTLEMENT_BATCH_SIZE), { late: true });
    }
  }

  // Send order: by time; ties keep the order made (a stable sort). Stripe cards are linked to their numbers
  // first, as an issuer links a card when it issues it: the links are the run's set-up, sent before the clock.
  const stripeCards = [
    ...new Set(purchases.filter((p) => p.format === 'stripe').flatMap((p) => p.events.map((e) => e.card))),
  ].sort((a, b) => a - b);
  const links = stripeCards.map(
    (card): PlannedRequest => ({
      seq: 0,
      atMs: 0,
      format: 'stripe',
      kind: 'card_token',
      events: [],
      card,
      duplicate: false,
      late: false,
      outOfOrder: false,
    }),
  );
  const ordered = [...links, ...requests]
    .map((request, made) => ({ request, made }))
    .sort((a, b) => a.request.atMs - b.request.atMs || a.made - b.made)
    .map(({ request }, seq) => {
      request.seq = seq;
      return request;
    });
  return { options, requests: ordered, counts: countPlan(ordered, purchases) };
}

interface PurchasePlan {
  clearingOnly: boolean;
  reversal: 'full' | 'partial' | null;
  clearing: boolean;
  partialClearing: boolean;
  refund: 'full' | 'partial' | null;
  late: boolean;
  outOfOrder: boolean;
}

function purchasePlan(
  life: Lifecycle,
  random: Random,
  format: WireFormat,
  merchant: SimulatedMerchant,
): PurchasePlan {
  const clearingOnly = format !== 'stripe' && random.chance(life.clearingOnly);
  if (clearingOnly)
    return {
      clearingOnly,
      reversal: null,
      clearing: true,
      partialClearing: false,
      refund: null,
      late: false,
      outOfOrder: false,
    };
  let reversal: PurchasePlan['reversal'] = null;
  if (format !== 'stripe' && random.chance(life.reversal))
    reversal = random.chance(life.partialReversal) ? 'partial' : 'full';
  const clearing = reversal !== 'full' && random.chance(life.clearing);
  const partialClearing =
    clearing &&
    reversal === null &&
    random.chance(ESTIMATED.has(merchant.category) ? life.partialClearingEstimated : life.partialClearing);
  let refund: PurchasePlan['refund'] = null;
  if (clearing && random.chance(life.refund)) refund = random.chance(life.partialRefund) ? 'partial' : 'full';
  const late = clearing && random.chance(life.late);
  const outOfOrder = clearing && !late && reversal === null && random.chance(life.outOfOrder);
  return { clearingOnly, reversal, clearing, partialClearing, refund, late, outOfOrder };
}

/** Part of an amount, at least 1 and less than all of it. */
function part(amount: number, random: Random): number {
  if (amount <= 1) return amount;
  return Math.min(amount - 1, Math.max(1, Math.round(amount * random.between(0.3, 0.95))));
}

function countPlan(
  requests: PlannedRequest[],
  purchases: { events: Omit<PlannedEvent, 'occurredMs'>[]; plan: PurchasePlan }[],
): PlanCounts {
  const counts: PlanCounts = {
    purchases: purchases.length,
    requests: requests.length,
    events: 0,
    by_type: { authorization: 0, clearing: 0, refund: 0, reversal: 0 },
    by_format: { json: 0, iso8583: 0, stripe: 0 },
    card_token_links: 0,
    duplicates: 0,
    out_of_order: 0,
    late_clearings: 0,
    partial_clearings: 0,
    partial_refunds: 0,
    partial_reversals: 0,
    clearing_only: purchases.filter((p) => p.plan.clearingOnly).length,
    never_cleared: purchases.filter((p) => !p.plan.clearing && p.plan.reversal !== 'full').length,
    batches: 0,
  };
  for (const request of requests) {
    if (request.kind === 'card_token') {
      counts.card_token_links++;
      continue;
    }
    if (request.events.length > 1) counts.batches++;
    if (request.duplicate) counts.duplicates += request.events.length;
    if (request.outOfOrder) counts.out_of_order++;
    for (const event of request.events) {
      counts.events++;
      counts.by_type[event.type]++;
      counts.by_format[request.format]++;
      if (request.duplicate) continue;
      if (request.late && event.type === 'clearing') counts.late_clearings++;
      if (event.partial && event.type === 'clearing') counts.partial_clearings++;
      if (event.partial && event.type === 'refund') counts.partial_refunds++;
      if (event.partial && event.type === 'reversal') counts.partial_reversals++;
    }
  }
  return counts;
}
