// Keeps card numbers out of every stored field: refused in text, hashed in references.
import type { EventField, SourceText } from '../adapters/types.ts';
import type { CardKeys } from '../cards/card-keys.ts';
import { holdsCardNumber } from '../cards/card-numbers.ts';
import type { FieldError } from '../errors.ts';
import type { CardEventInput } from './schema.ts';

// The one place every feed (POST /v1/events, ISO 8583, Stripe Issuing) passes after it is in our event
// shape and before anything is stored: no field may keep a card number (any card's).
//
// References compared only for equality (event ids, the MID, the RRN) keep a keyed hash instead: a 12-digit
// RRN or a 15-digit numeric MID passes the Luhn check one time in ten, and refusing those would refuse real
// traffic, while a hash still deduplicates, links and matches. Descriptive text and short codes, where a
// number that long is never legitimate, are refused with the field named (the value never quoted).
//
// The event's own PAN is one more card number under the same rule (refused or hashed by field, never a rule
// of its own); as its digits are known, it is also found when they are spread by any characters, and then
// refused in references too: whether a reference is hashed must depend on its value alone (see refusals).

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
 * `sources` are the texts an adapter cut or encoded into fields (see SourceText): a field whose source
 * holds a card number is treated as holding one.
 */
export function guardCardNumbers(
  event: CardEventInput,
  cardKeys: CardKeys,
  sources: readonly SourceText[] = [],
): Guarded {
  const check = detector(event.card.pan, sources);
  const errors = refusals(event, check);
  if (errors.length > 0) return { ok: false, errors };

  const hide = <T extends string | null | undefined>(field: EventField, value: T): T | string =>
    value && check.hashed(field, value) ? cardKeys.identifier(value) : value;
  const merchant = event.merchant;
  const id = hide('id', event.id);
  const originalId = hide('original_id', event.original_id);
  const mid = hide('merchant.mid', merchant.mid);
  const rrn = hide('rrn', event.rrn);
  if (id === event.id && originalId === event.original_id && mid === merchant.mid && rrn === event.rrn) {
    return { ok: true, event }; // the common case: nothing copied
  }
  const guarded: CardEventInput = { ...event, id, merchant: { ...merchant, mid } };
  if (originalId !== undefined) guarded.original_id = originalId;
  if (rrn !== undefined) guarded.rrn = rrn;
  return { ok: true, event: guarded };
}

/**
 * The refusals guardCardNumbers would give, for an event that failed validation: read from whatever text
 * fields it has (`raw` in the event's JSON shape, or only `sources`), so that a rejected event lists them
 * beside its other errors and the sender needs one round trip, not two.
 */
export function refusedCardNumbers(raw: unknown, sources: readonly SourceText[] = []): FieldError[] {
  const event = isObject(raw) ? raw : {};
  const card = isObject(event.card) ? event.card : {};
  // The event's own PAN, when it is one (an invalid one is no card number to look for).
  const pan = typeof card.pan === 'string' && /^[0-9]+$/.test(card.pan) && holdsCardNumber(card.pan);
  const merchant = isObject(event.merchant) ? event.merchant : {};
  return refusals({ ...event, merchant }, detector(pan ? (card.pan as string) : undefined, sources));
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null;

type Fields = Partial<Record<'id' | 'original_id' | 'auth_code' | 'rrn', unknown>> & {
  merchant: Partial<Record<string, unknown>>;
};

/** An error for each field refused for the card number it holds. */
function refusals(event: Fields, check: Check): FieldError[] {
  const errors: FieldError[] = [];
  const merchant = event.merchant;
  for (const key of REFUSED_MERCHANT_FIELDS) {
    if (check.holds(`merchant.${key}`, merchant[key]))
      errors.push({ path: `merchant.${key}`, message: MESSAGE });
  }
  if (check.holds('auth_code', event.auth_code)) errors.push({ path: 'auth_code', message: MESSAGE });
  // A reference is hashed by its value alone (as CardKeys.reference), so equal references hash equally in every
  // event and in merchants' MIDs. The own PAN spread by other characters is visible only beside that PAN:
  // a reference holding it, and no card number by itself, is refused rather than hashed in some events only.
  for (const field of HASHED_FIELDS) {
    const value = field === 'merchant.mid' ? merchant.mid : event[field];
    if (check.ownPanOnly(field, value) && !check.hashed(field, value))
      errors.push({ path: field, message: MESSAGE });
  }
  return errors;
}

type Check = ReturnType<typeof detector>;

/**
 * `holds`: whether a field holds a card number: any card's (holdsCardNumber), the event's own PAN spread by
 * any characters, or either of them in the text the field was cut from. `hashed`: whether a reference is
 * kept as its hash: it, or its source, holds a card number by holdsCardNumber (its value alone decides).
 */
function detector(pan: string | undefined, sources: readonly SourceText[]) {
  const ownPan = (value: string) => pan !== undefined && containsDigits(value, pan);
  let anyCard: Set<EventField> | undefined;
  let own: Set<EventField> | undefined;
  for (const source of sources) {
    if (holdsCardNumber(source.text)) {
      anyCard ??= new Set();
      anyCard.add(source.field);
    } else if (ownPan(source.text)) {
      own ??= new Set();
      own.add(source.field);
    }
  }
  const hashed = (field: EventField, value: unknown): boolean =>
    (typeof value === 'string' && holdsCardNumber(value)) || (anyCard?.has(field) ?? false);
  const ownPanOnly = (field: EventField, value: unknown): boolean =>
    (typeof value === 'string' && ownPan(value)) || (own?.has(field) ?? false);
  const holds = (field: EventField, value: unknown): boolean =>
    hashed(field, value) || ownPanOnly(field, value);
  return { holds, hashed, ownPanOnly };
}

/** True when `digits` appear in `text`, also spread out by any other characters ("4111 1111/1111x1111"). */
function containsDigits(text: string, digits: string): boolean {
  let count = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code >= 48 && code <= 57) count++;
  }
  if (count < digits.length) return false; // the common case: no allocation
  return text.replace(/[^0-9]/g, '').includes(digits);
}
