import type { TriggerAction } from './dsl.ts';

type CashbackAction = Extract<TriggerAction, { type: 'cashback' }>;
type PointsAction = Extract<TriggerAction, { type: 'points' }>;

// Digits after the decimal point of each currency, as Intl knows them (USD 2, JPY 0, BHD 3): a constant table
// built once at load, so points never build a NumberFormat per event.
const MINOR_DIGITS: ReadonlyMap<string, number> = new Map(
  Intl.supportedValuesOf('currency').map((code) => [
    code,
    new Intl.NumberFormat('en', { style: 'currency', currency: code }).resolvedOptions()
      .maximumFractionDigits ?? 2,
  ]),
);

/** Digits of the minor unit of an ISO 4217 currency (2 when Intl does not know it). */
export const minorDigits = (currency: string): number => MINOR_DIGITS.get(currency) ?? 2;

const BPS = 10_000;

/**
 * Cashback in minor units: `fixed` + amount × percent_bps / 10,000, the percentage part rounded down (the
 * platform never pays a fraction of a minor unit it was not asked for), the total capped by `max`.
 */
export function cashbackFor(action: CashbackAction, amount: number): number {
  const share = action.percent_bps === undefined ? 0 : floorShare(amount, action.percent_bps);
  const total = action.fixed + share;
  return action.max === undefined ? total : Math.min(total, action.max);
}

function floorShare(amount: number, bps: number): number {
  const product = amount * bps;
  // Exact integer arithmetic: subtracting the remainder leaves a multiple of 10,000, so the division is exact.
  if (Number.isSafeInteger(product)) return (product - (product % BPS)) / BPS;
  return Number((BigInt(amount) * BigInt(bps)) / BigInt(BPS));
}

/**
 * Points: `fixed` + `per_unit` × whole major units of the amount (4.75 USD is 4 units, 475 JPY is 475), capped at
 * the largest safe integer.
 */
export function pointsFor(action: PointsAction, amount: number, currency: string): number {
  const units = Math.floor(amount / 10 ** minorDigits(currency));
  return Math.min(action.fixed + action.per_unit * units, Number.MAX_SAFE_INTEGER);
}
