// Why a trigger did not fire (CONTRACT.md, "Reasons a trigger did not fire"): one list for backtest, activity and
// the engine. The stateless ones come from explain(), the stateful ones from decide().

export const STATELESS_REASONS = [
  'event_type_mismatch',
  'merchant_mismatch',
  'mcc_mismatch',
  'country_mismatch',
  'currency_mismatch',
  'scheme_mismatch',
  'entry_mode_mismatch',
  'amount_below_min',
  'amount_above_max',
  'wrong_day',
  'outside_local_time',
  'not_started',
  'ended',
  'scope_not_granted',
  'trigger_paused',
] as const;

export const STATEFUL_REASONS = [
  'not_first_purchase',
  'not_nth_purchase',
  'limit_per_card_reached',
  'limit_per_user_per_day_reached',
  'redemptions_exhausted',
  'budget_exhausted',
] as const;

export type StatelessReason = (typeof STATELESS_REASONS)[number];
export type StatefulReason = (typeof STATEFUL_REASONS)[number];
export type NotFiredReason = StatelessReason | StatefulReason;
