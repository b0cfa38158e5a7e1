// One trigger's cashback, which is paid in each purchase's currency, told as one money amount plus the rest:
// the same rule for what a trigger did (stats) and what it would have done (backtest).
import type { TriggerLimits, TriggerMatch } from '../rules/dsl.ts';

export interface Money {
  amount: number;
  currency: string;
}

/** Cashback summed in one currency, and how many firings paid it. */
export interface CurrencyTotal {
  amount: number;
  fires: number;
}

export interface RewardTotals {
  /** The cashback in the trigger's reward currency (currency null: no cashback and none the trigger names). */
  reward: { amount: number; currency: string | null };
  /** Cashback paid in any other currency, largest first (empty in the usual case). */
  otherCurrencies: Money[];
}

/**
 * The trigger's reward currency is its budget's (a budgeted cashback matches no other currency); without a
 * budget, the currency most of its firings paid cashback in (then the larger sum, then the code), or the one
 * currency its match names. Amounts in different currencies are never added together.
 */
export function rewardTotals(
  trigger: { match: TriggerMatch; limits: TriggerLimits },
  totals: ReadonlyMap<string, CurrencyTotal>,
): RewardTotals {
  const ranked = [...totals]
    .filter(([, total]) => total.fires > 0 || total.amount !== 0)
    .sort(([codeA, a], [codeB, b]) => b.fires - a.fires || b.amount - a.amount || codeA.localeCompare(codeB));
  const named = trigger.match.currencies?.length === 1 ? trigger.match.currencies[0]! : null;
  const currency = trigger.limits.budget?.currency ?? ranked[0]?.[0] ?? named;
  return {
    reward: { amount: currency === null ? 0 : (totals.get(currency)?.amount ?? 0), currency },
    otherCurrencies: ranked
      .filter(([code]) => code !== currency)
      .map(([code, total]) => ({ amount: total.amount, currency: code }))
      .sort((a, b) => b.amount - a.amount),
  };
}
