// Why an offer gave nothing, in the words a cardholder uses: the contract's reason codes with the terms of the
// trigger version that decided ("2 of 5 stamps", "only between 07:00 and 11:00").
import type { TriggerAction, TriggerLimits, TriggerMatch } from '../rules/dsl.ts';
import type { NotFiredReason } from '../rules/reasons.ts';
import { formatDate, formatMoney, wordList } from './format.ts';

export interface ReasonContext {
  /** The terms of the trigger version that decided, when known. */
  terms?: { match: TriggerMatch; limits: TriggerLimits; action: TriggerAction } | undefined;
  /** Stamp progress of `not_nth_purchase`. */
  progress?: { have: number; need: number } | undefined;
  /** The purchase's currency: a trigger's amounts are in it. */
  currency: string;
}

const DAYS = ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday'];

/** ISO days (1 = Monday) in words, runs of three or more joined: [1,2,3,4,5] → "Monday to Friday". */
export function daysInWords(days: readonly number[]): string {
  const sorted = [...new Set(days)].filter((d) => d >= 1 && d <= 7).sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j]! + 1) j++;
    const first = DAYS[sorted[i]! - 1]!;
    const last = DAYS[sorted[j]! - 1]!;
    if (j - i >= 2) parts.push(`${first} to ${last}`);
    else for (let k = i; k <= j; k++) parts.push(DAYS[sorted[k]! - 1]!);
    i = j + 1;
  }
  return wordList(parts);
}

/** A local-time window: "before 11:00" when it starts at midnight, "after 18:00" when it ends there. */
function windowInWords(window: { from: string; to: string }): string {
  if (window.from === '00:00') return `before ${window.to}`;
  if (window.to === '00:00') return `after ${window.from}`;
  return `between ${window.from} and ${window.to}`;
}

const REGIONS = new Intl.DisplayNames('en', { type: 'region' });
const regionName = (code: string) => {
  try {
    return REGIONS.of(code) ?? code;
  } catch {
    return code;
  }
};

const SCHEMES: Record<string, string> = {
  visa: 'Visa',
  mastercard: 'Mastercard',
  amex: 'American Express',
  discover: 'Discover',
};

const ENTRY_MODES: Record<string, string> = {
  contactless: 'contactless',
  chip: 'by chip',
  magstripe: 'by swiping the card',
  manual: 'with the number typed in',
  ecommerce: 'online',
  card_on_file: 'with a card saved by the shop',
  unknown: 'in another way',
};

const WHAT_AN_ACTION_GIVES: Record<TriggerAction['type'], string> = {
  receipt: 'receipts',
  points: 'points',
  cashback: 'cashback',
  coupon: 'coupons',
  social_post: 'posts on your behalf',
  webhook: 'notice of your purchases',
};

const ordinal = (n: number) => {
  const tens = n % 100;
  const suffix =
    tens >= 11 && tens <= 13 ? 'th' : n % 10 === 1 ? 'st' : n % 10 === 2 ? 'nd' : n % 10 === 3 ? 'rd' : 'th';
  return `${n}${suffix}`;
};

const times = (n: number) => (n === 1 ? 'once' : n === 2 ? 'twice' : `${n} times`);

/** One reason a trigger did not fire, in plain words. */
export function reasonInWords(reason: NotFiredReason, context: ReasonContext): string {
  const match = context.terms?.match;
  const limits = context.terms?.limits;
  switch (reason) {
    case 'event_type_mismatch':
      return match?.event_types?.length === 1 && match.event_types[0] === 'clearing'
        ? 'only once the payment has settled'
        : 'not for this kind of transaction';
    case 'merchant_mismatch':
      return 'only at other shops of this brand';
    case 'mcc_mismatch':
      return 'only at another kind of shop';
    case 'country_mismatch':
      return match?.countries
        ? `only in ${wordList(match.countries.map(regionName), 'or')}`
        : 'only in other countries';
    case 'currency_mismatch':
      return match?.currencies
        ? `only for payments in ${wordList(match.currencies, 'or')}`
        : 'only for payments in another currency';
    case 'scheme_mismatch':
      return match?.schemes
        ? `only with ${wordList(
            match.schemes.map((s) => SCHEMES[s] ?? s),
            'or',
          )} cards`
        : 'only with another kind of card';
    case 'entry_mode_mismatch':
      return match?.entry_modes
        ? `only when you pay ${wordList(
            match.entry_modes.map((m) => ENTRY_MODES[m] ?? m),
            'or',
          )}`
        : 'only when you pay another way';
    case 'amount_below_min':
      return match?.amount_min !== undefined
        ? `only on purchases of ${formatMoney(match.amount_min, context.currency)} or more`
        : 'the purchase was too small';
    case 'amount_above_max':
      return match?.amount_max !== undefined
        ? `only on purchases up to ${formatMoney(match.amount_max, context.currency)}`
        : 'the purchase was too large';
    case 'wrong_day':
      return match?.days_of_week ? `only on ${daysInWords(match.days_of_week)}` : 'not on this day';
    case 'outside_local_time':
      return match?.local_time ? `only ${windowInWords(match.local_time)}` : 'not at this time of day';
    case 'not_started':
      return match?.starts_at
        ? `the offer starts on ${formatDate(new Date(match.starts_at))}`
        : 'the offer had not started yet';
    case 'ended':
      return match?.ends_at
        ? `the offer ended on ${formatDate(new Date(match.ends_at))}`
        : 'the offer has ended';
    case 'scope_not_granted':
      return context.terms
        ? `you have not allowed this app to give you ${WHAT_AN_ACTION_GIVES[context.terms.action.type]}`
        : 'you have not allowed this app to do this';
    case 'trigger_paused':
      return 'the offer is paused';
    case 'not_first_purchase':
      return 'only on your first purchase there';
    case 'not_nth_purchase':
      if (context.progress)
        return `${context.progress.have} of ${context.progress.need} ${context.progress.need === 1 ? 'stamp' : 'stamps'}`;
      return match?.nth_purchase
        ? `only on every ${ordinal(match.nth_purchase.n)} purchase`
        : 'not this purchase';
    case 'limit_per_card_reached':
      return limits?.per_card
        ? `already used ${times(limits.per_card)} with this card, the most it allows`
        : 'already used as often as it allows with this card';
    case 'limit_per_user_per_day_reached':
      return limits?.per_user_per_day
        ? `already used ${times(limits.per_user_per_day)} today, the most it allows a day`
        : 'already used as often as it allows today';
    case 'redemptions_exhausted':
      return 'the offer has run out';
    case 'budget_exhausted':
      return 'the offer’s budget is spent';
  }
}
