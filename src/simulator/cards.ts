// The simulated cards: test card numbers drawn from the seed, unique per index, Luhn-valid.
import { BASE62, hash53, Random } from './random.ts';

export type WireFormat = 'json' | 'iso8583' | 'stripe';

/** The share of cards whose issuer sends each feed (a card's events all come in its issuer's format). */
export type FormatShares = Record<WireFormat, number>;

export const DEFAULT_FORMAT_SHARES: FormatShares = { json: 0.8, iso8583: 0.1, stripe: 0.1 };

export interface SimulatedCard {
  index: number;
  pan: string;
  expMonth: number;
  expYear: number;
  /** The processor's own reference to the card (`ic_…`, a Stripe Issuing card id): how Stripe feeds name it. */
  token: string;
  format: WireFormat;
}

// Test BIN ranges of the four schemes cardlink reads (PAN length in brackets), in proportion to their use.
const BINS: { bin: string; length: number; weight: number }[] = [
  { bin: '400000', length: 16, weight: 35 },
  { bin: '424242', length: 16, weight: 25 },
  { bin: '555555', length: 16, weight: 18 },
  { bin: '222300', length: 16, weight: 12 },
  { bin: '378282', length: 15, weight: 5 },
  { bin: '601100', length: 16, weight: 5 },
];

/** The Luhn check digit that completes `body`. */
export function luhnCheckDigit(body: string): string {
  let sum = 0;
  for (let i = 0; i < body.length; i++) {
    let digit = body.charCodeAt(body.length - 1 - i) - 48;
    if (i % 2 === 0) {
      digit *= 2;
      if (digit > 9) digit -= 9;
    }
    sum += digit;
  }
  return String((10 - (sum % 10)) % 10);
}

/**
 * The account digits of card `index`: `(a·index + b) mod 10^digits` with `a` coprime to 10 is a bijection,
 * so no two indexes share a number within a BIN, and the seed decides `a` and `b`.
 */
function accountDigits(seed: string, index: number, digits: number): string {
  const modulus = 10 ** digits;
  let a = hash53(seed, 11) % modulus;
  if (a % 2 === 0) a += 1;
  if (a % 5 === 0) a += 2;
  const b = hash53(seed, 12) % modulus;
  // BigInt: a·index overflows a double's exact range for large indexes.
  const value = (BigInt(a) * BigInt(index) + BigInt(b)) % BigInt(modulus);
  return value.toString().padStart(digits, '0');
}

/** Which feed a card's events come in, by the shares (drawn per card from the seed). */
export function formatOf(seed: string, index: number, shares: FormatShares): WireFormat {
  const roll = Random.for(seed, 'format', index).next();
  const total = shares.json + shares.iso8583 + shares.stripe;
  if (roll * total < shares.iso8583) return 'iso8583';
  if (roll * total < shares.iso8583 + shares.stripe) return 'stripe';
  return 'json';
}

/** Card `index` of the world of `seed`: the same seed and index always give the same card. */
export function simulatedCard(
  seed: string,
  index: number,
  shares: FormatShares = DEFAULT_FORMAT_SHARES,
): SimulatedCard {
  const random = Random.for(seed, 'card', index);
  const { bin, length } = BINS[random.weighted(BINS.map((b) => b.weight))]!;
  const body = bin + accountDigits(seed, index, length - bin.length - 1);
  return {
    index,
    pan: body + luhnCheckDigit(body),
    expMonth: random.int(1, 12),
    expYear: random.int(2030, 2034),
    token: `ic_${Random.for(seed, 'token', index).text(24, BASE62)}`,
    format: formatOf(seed, index, shares),
  };
}

/** The first `count` cards of the world of `seed`. */
export function simulatedCards(
  seed: string,
  count: number,
  shares: FormatShares = DEFAULT_FORMAT_SHARES,
): SimulatedCard[] {
  return Array.from({ length: count }, (_, i) => simulatedCard(seed, i, shares));
}
