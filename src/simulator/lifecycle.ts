/**
 * What happens to each purchase: its card, merchant, amount and events, each purchase drawn from its own
 * generator. When they are sent is timing.ts's, from the delays and flags (late, out of order) drawn here. A purchase is an authorization at a merchant, then:
 *   clearing (most; some partial: fuel and hotels clear less than they authorized), later a refund (some
 *   partial); or a reversal (some partial, the rest then clears); or nothing (never cleared).
 *   A few are clearing-only (a forced post: no authorization was seen).
 * Stripe Issuing feeds have no reversals (Stripe reports none as an event cardlink reads).
 */
import type { EventType } from '../lib/payments.ts';
import { simulatedCard, type WireFormat } from './cards.ts';
import { shopperPicker } from './habits.ts';
import type { SimulatedMerchant } from './merchants.ts';
import type { Plan, PlannedEvent } from './plan.ts';
import { DIGITS, Random, UPPER_ALNUM } from './random.ts';

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

const ESTIMATED: ReadonlySet<string> = new Set(['fuel', 'hotel']);

/**
 * The shape of one purchase's lifecycle. `late` and `outOfOrder` are timing.ts's to act on, but are drawn here
 * from the purchase's generator with the rest: drawing them elsewhere would change every seed's plan.
 */
export interface PurchasePlan {
  clearingOnly: boolean;
  reversal: 'full' | 'partial' | null;
  clearing: boolean;
  partialClearing: boolean;
  refund: 'full' | 'partial' | null;
  late: boolean;
  outOfOrder: boolean;
}

/** An event before timing.ts gives it a time. */
export type DrawnEvent = Omit<PlannedEvent, 'occurredMs'>;

export interface DrawnPurchase {
  /** In lifecycle order: authorization, reversal, clearing, refund (those it has). */
  events: DrawnEvent[];
  plan: PurchasePlan;
  format: WireFormat;
}

/** Purchases, each with its events, until `budget` events are drawn. */
export function drawPurchases(
  options: Pick<Plan['options'], 'seed' | 'cards' | 'formats' | 'merchants' | 'lifecycle'>,
  budget: number,
): DrawnPurchase[] {
  const { seed, merchants, lifecycle: life } = options;
  const pickShopper = shopperPicker(seed, options.cards, merchants);
  const purchases: DrawnPurchase[] = [];
  let planned = 0;
  while (planned < budget) {
    const p = purchases.length;
    const random = Random.for(seed, 'purchase', p);
    const { card, merchant: merchantIndex } = pickShopper(random);
    const format = simulatedCard(seed, card, options.formats).format;
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
    const events: DrawnEvent[] = [];
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
  return purchases;
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

/** A purchase amount in [min, max], small ones likelier; JPY and the like have no minor unit to spare. */
function amountAt(merchant: SimulatedMerchant, random: Random): number {
  const [min, max] = merchant.amount;
  const u = random.next();
  return Math.max(1, Math.round(min + (max - min) * u * u));
}

/** Part of an amount, at least 1 and less than all of it. */
function part(amount: number, random: Random): number {
  if (amount <= 1) return amount;
  return Math.min(amount - 1, Math.max(1, Math.round(amount * random.between(0.3, 0.95))));
}
