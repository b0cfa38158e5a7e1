// Keeps card numbers out of every stored field: refused in text, hashed in references.
import { holdsCardNumber } from '../cards/card-numbers.ts';
import { storedReference } from '../cards/fingerprint.ts';
import type { FieldError } from '../errors.ts';
import type { CardEventInput } from './schema.ts';

// The one place every feed (POST /v1/events, ISO 8583, Stripe Issuing) passes after it is in our event
// shape and before anything is stored: no field may keep a card number (any card's).
//
// References compared only for equality (event ids, the MID, the RRN) keep a keyed hash instead: a 12-digit
// RRN or a 15-digit numeric MID passes the Luhn check one time in ten, and refusing those would refuse real
// traffic, while a hash still deduplicates, links and matches. Descriptive text and short codes, where a
// number that long is never legitimate, are refused with the field named (the value never quoted).

const MESSAGE = 'must not contain a card number';

type Merchant = CardEventInput['merchant'];

const REFUSED_MERCHANT_FIELDS = [
  'name',
  'city',
  'region',
  'postal_code',
  'terminal_id',
] as const satisfies readonly (keyof Merchant)[];

/** The fields refused when they hold a card number, as error paths (for the documentation and tests). */
export const REFUSED_FIELDS = [
  ...REFUSED_MERCHANT_FIELDS.map((key) => `merchant.${key}`),
  'auth_code',
] as const;

/** The fields kept only as a keyed hash (`hmac_…`) when they hold a card number. */
export const HASHED_FIELDS = ['id', 'original_id', 'merchant.mid', 'rrn'] as const;

export type Guarded = { ok: true; event: CardEventInput } | { ok: false; errors: FieldError[] };

/**
 * Checks a validated event for card numbers outside `card.pan`: refuses it naming each refused field that
 * holds one, or returns it with every such reference replaced by its keyed hash (the input is not changed).
 */
export function guardCardNumbers(event: CardEventInput, fingerprintKey: string): Guarded {
  const errors: FieldError[] = [];
  const merchant = event.merchant;
  for (const key of REFUSED_MERCHANT_FIELDS) {
    const value = merchant[key];
    if (value && holdsCardNumber(value)) errors.push({ path: `merchant.${key}`, message: MESSAGE });
  }
  if (event.auth_code && holdsCardNumber(event.auth_code))
    errors.push({ path: 'auth_code', message: MESSAGE });
  if (errors.length > 0) return { ok: false, errors };

  const hide = (value: string) => storedReference(value, fingerprintKey);
  const id = hide(event.id);
  const originalId = event.original_id ? hide(event.original_id) : event.original_id;
  const mid = hide(merchant.mid);
  const rrn = event.rrn ? hide(event.rrn) : event.rrn;
  if (id === event.id && originalId === event.original_id && mid === merchant.mid && rrn === event.rrn) {
    return { ok: true, event }; // the common case: nothing copied
  }
  const guarded: CardEventInput = { ...event, id, merchant: { ...merchant, mid } };
  if (originalId !== undefined) guarded.original_id = originalId;
  if (rrn !== undefined) guarded.rrn = rrn;
  return { ok: true, event: guarded };
}
