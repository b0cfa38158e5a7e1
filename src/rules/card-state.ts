// What a trigger remembers per card (fires, stamps) and how one decision changes it: the same rules for the
// ingest transaction (src/actions) and for backtests, which replay them in memory.
import type { TriggerMatch } from './dsl.ts';

/** A stamp an `nth_purchase` trigger holds for a card: the purchase that earned it and when it happened. */
export type Stamp = [purchaseId: string, occurredAtMs: number];

/** A trigger's memory of one card: times it fired for the card (given-back firings excluded) and stamps held. */
export interface CardState {
  fires: number;
  stamps: Stamp[];
}

const DAY_MS = 86_400_000;

/**
 * The stamps that count toward a purchase at `atMs`: those held (earned since the trigger last fired for the
 * card) that fall within `window_days` before it. Stamps from purchases stamped after this one (a late event)
 * still count: the card holds them.
 */
export function stampsInWindow(
  nth: TriggerMatch['nth_purchase'],
  stamps: readonly Stamp[],
  atMs: number,
): Stamp[] {
  if (!nth) return [];
  const window = nth.window_days;
  if (window === undefined) return [...stamps];
  const from = atMs - window * DAY_MS;
  return stamps.filter(([, at]) => at >= from);
}

/**
 * Whether a purchase that decide() held back as `not_nth_purchase` earns the card a stamp: always on a repeating
 * stamp card; on a one-off one (`repeat` false, read as decide() reads it) only until it has fired for the card,
 * since after that its stamps could not count. No stamp card, no stamp.
 */
export function earnsStamp(nth: TriggerMatch['nth_purchase'], card: Pick<CardState, 'fires'>): boolean {
  if (!nth) return false;
  return nth.repeat || card.fires === 0;
}

/**
 * The card's state after a decision on a purchase at `atMs`: a firing counts and uses up the stamps in the
 * window (returned, so a reversal can hand them back); a purchase short of its nth earns a stamp. Any other
 * outcome leaves the state as it was.
 */
export function nextCardState(
  nth: TriggerMatch['nth_purchase'],
  state: CardState,
  outcome: { fired: true } | { fired: false; stamped: boolean },
  purchaseId: string,
  atMs: number,
): { state: CardState; usedStamps: Stamp[] | null } {
  const held = stampsInWindow(nth, state.stamps, atMs);
  if (outcome.fired) {
    return { state: { fires: state.fires + 1, stamps: [] }, usedStamps: nth ? held : null };
  }
  if (outcome.stamped)
    return { state: { fires: state.fires, stamps: [...held, [purchaseId, atMs]] }, usedStamps: null };
  return { state, usedStamps: null };
}

/**
 * The card's state once a purchase is taken back (reversal or full refund): a firing no longer counts and
 * hands its stamps back; a stamp the purchase earned is removed.
 */
export function cardStateAfterGiveBack(
  state: CardState,
  purchaseId: string,
  firing: { usedStamps: readonly Stamp[] | null } | null,
): CardState {
  const stamps = state.stamps.filter(([id]) => id !== purchaseId);
  if (!firing) return { fires: state.fires, stamps };
  return { fires: Math.max(0, state.fires - 1), stamps: [...(firing.usedStamps ?? []), ...stamps] };
}

/** A purchase the card made before, as far as `first_purchase` looks at it: where it was made. */
export interface EarlierPurchase {
  mid: string;
  merchantId: string | null;
  mcc: string | null;
  merchantName: string | null;
}

/**
 * Whether an earlier purchase of the card was made where the trigger's merchant conditions (MIDs, merchant ids,
 * MCCs, merchant name) hold: `first_purchase` means the card's first purchase there. A trigger naming no
 * merchant counts any earlier purchase.
 */
export function atSameMerchant(match: TriggerMatch, purchase: EarlierPurchase): boolean {
  if (match.mids && !match.mids.includes(purchase.mid)) return false;
  if (
    match.merchant_ids &&
    (purchase.merchantId === null || !match.merchant_ids.includes(purchase.merchantId))
  )
    return false;
  if (match.mccs && (purchase.mcc === null || !match.mccs.includes(purchase.mcc))) return false;
  const name = match.merchant_name_contains;
  if (name !== undefined && !(purchase.merchantName ?? '').toLowerCase().includes(name.toLowerCase()))
    return false;
  return true;
}
