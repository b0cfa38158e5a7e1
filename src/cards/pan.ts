import type { CardScheme } from '../db/schema/cards.ts';

/** Digits only: spaces and dashes people type between groups are dropped. */
export const normalisePan = (raw: string) => raw.replace(/[\s-]/g, '');

export const isPanShaped = (pan: string) => /^\d{12,19}$/.test(pan);

/** The Luhn (mod 10) check digit test. */
export function luhnValid(pan: string): boolean {
  let sum = 0;
  let double = false;
  for (let i = pan.length - 1; i >= 0; i--) {
    let digit = pan.charCodeAt(i) - 48;
    if (double) {
      digit *= 2;
      if (digit > 9) digit -= 9;
    }
    sum += digit;
    double = !double;
  }
  return sum % 10 === 0;
}

const inRange = (pan: string, length: number, from: number, to: number) => {
  const prefix = Number(pan.slice(0, length));
  return prefix >= from && prefix <= to;
};

/** The card network from the BIN ranges of Visa, Mastercard, American Express and Discover. */
export function schemeOf(pan: string): CardScheme {
  if (pan.startsWith('4')) return 'visa';
  if (inRange(pan, 2, 51, 55) || inRange(pan, 4, 2221, 2720)) return 'mastercard';
  if (pan.startsWith('34') || pan.startsWith('37')) return 'amex';
  if (
    pan.startsWith('6011') ||
    pan.startsWith('65') ||
    inRange(pan, 3, 644, 649) ||
    inRange(pan, 6, 622126, 622925)
  )
    return 'discover';
  return 'unknown';
}

/** Whether a card valid through the end of `month`/`year` has expired (UTC, with a day of grace for time zones). */
export function expired(month: number, year: number, now: Date): boolean {
  const firstOfNextMonth = Date.UTC(year, month, 1) + 24 * 60 * 60 * 1000;
  return now.getTime() >= firstOfNextMonth;
}
