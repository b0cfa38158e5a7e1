// How the cardholder's pages write amounts, dates and cards: in English, each currency with its own digits.
import { minorDigits } from '../rules/reward.ts';

/** An amount in minor units of an ISO 4217 currency, as people read it: 475 USD → "$4.75", 500 JPY → "¥500". */
export function formatMoney(amount: number, currency: string): string {
  const digits = minorDigits(currency);
  try {
    return new Intl.NumberFormat('en', {
      style: 'currency',
      currency,
      minimumFractionDigits: digits,
      maximumFractionDigits: digits,
    }).format(amount / 10 ** digits);
  } catch {
    return `${(amount / 10 ** digits).toFixed(digits)} ${currency}`;
  }
}

const POINTS = new Intl.NumberFormat('en');

export const formatPoints = (points: number) =>
  `${POINTS.format(points)} ${points === 1 ? 'point' : 'points'}`;

const DATE = new Intl.DateTimeFormat('en-GB', {
  day: 'numeric',
  month: 'short',
  year: 'numeric',
  timeZone: 'UTC',
});
const DATE_TIME = new Intl.DateTimeFormat('en-GB', {
  day: 'numeric',
  month: 'short',
  year: 'numeric',
  hour: '2-digit',
  minute: '2-digit',
  hourCycle: 'h23',
  timeZone: 'UTC',
});

/** A day, in UTC: the pages do not know the reader's time zone, and a day is what they show of an instant. */
export const formatDate = (at: Date) => DATE.format(at);

/** An instant where its day alone could mislead (a coupon's expiry): the day and time, saying it is UTC. */
export const formatInstant = (at: Date) => `${DATE_TIME.format(at)} UTC`;

/**
 * A wall-clock time where a card was used (`2026-11-23T08:15:02`), shown as it was there: "23 Nov 2026, 08:15".
 * Read as if it were UTC and written in UTC, so no time zone moves it.
 */
export function formatLocalTime(wallClock: string): string {
  const at = new Date(`${wallClock.slice(0, 19)}Z`);
  return Number.isNaN(at.getTime()) ? wallClock : DATE_TIME.format(at);
}

const SCHEME_NAMES: Record<string, string> = {
  visa: 'Visa',
  mastercard: 'Mastercard',
  amex: 'American Express',
  discover: 'Discover',
};

/** "Visa ending 4242": what a person calls their card. */
export const cardName = (card: { scheme: string; last4: string }) =>
  `${SCHEME_NAMES[card.scheme] ?? 'Card'} ending ${card.last4}`;

/** A list in words: "a", "a and b", "a, b and c" (`joiner` "or" for alternatives). */
export function wordList(items: readonly string[], joiner: 'and' | 'or' = 'and'): string {
  if (items.length <= 1) return items[0] ?? '';
  return `${items.slice(0, -1).join(', ')} ${joiner} ${items.at(-1)}`;
}
