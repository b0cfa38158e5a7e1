// Keeps card numbers out of every stored field: refused in text, hashed in references.
import type { SourceText } from '../adapters/types.ts';
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

/** The keys of `T` whose value may be a string. */
type StringKeys<T> = {
  [K in keyof T]-?: [Extract<T[K], string>] extends [never] ? never : K;
}[keyof T] &
  string;

/** Every string field of the event as error paths name it (`card` is the PAN's, checked by its schema). */
type StringField = Exclude<StringKeys<CardEventInput>, 'card'> | `merchant.${StringKeys<Merchant>}`;

type Handling = 'refuse' | 'hash' | 'none';

// Typed over every string field so that a field added to the event schema fails to compile until someone
// decides here whether it may hold a card number: the guard cannot silently miss a new field. `none`: its
// validated format (an enum, 2 to 4 letters or digits, a timestamp stored as timestamptz) keeps no card
// number. Refusals name their fields in this order.
const HANDLING = {
  id: 'hash',
  type: 'none',
  occurred_at: 'none',
  currency: 'none',
  original_id: 'hash',
  'merchant.mid': 'hash',
  'merchant.name': 'refuse',
  'merchant.mcc': 'none',
  'merchant.city': 'refuse',
  'merchant.region': 'refuse',
  'merchant.postal_code': 'refuse',
  'merchant.country': 'none',
  'merchant.terminal_id': 'refuse',
  auth_code: 'refuse',
  rrn: 'hash',
  entry_mode: 'none',
} as const satisfies Record<StringField, Handling>;

/** A guarded field, resolved once at load: where its value is and its bit in the per-event masks. */
interface Slot {
  path: StringField;
  inMerchant: boolean;
  key: string;
  bit: number;
}

const slots = (handling: Handling, firstBit: number): Slot[] =>
  (Object.keys(HANDLING) as StringField[])
    .filter((path) => HANDLING[path] === handling)
    .map((path, i) => {
      const inMerchant = path.startsWith('merchant.');
      const key = inMerchant ? path.slice('merchant.'.length) : path;
      return { path, inMerchant, key, bit: 1 << (firstBit + i) };
    });

const REFUSED = slots('refuse', 0);
const HASHED = slots('hash', REFUSED.length);
const BIT_OF: ReadonlyMap<string, number> = new Map([...REFUSED, ...HASHED].map((s) => [s.path, s.bit]));

// The masks below keep a field's two marks in one int32: `bit << ANY` (it holds any card's number) and
// `bit << OWN` (the event's own PAN spread out), so a field's bit must stay below OWN.
const ANY = 0;
const OWN = 16;
if (REFUSED.length + HASHED.length > OWN) throw new Error('card-number-guard: too many fields for its masks');

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
  const pan = event.card.pan;
  const fields = event as unknown as Fields;
  const sourced = sourceMarks(pan, sources);
  const errors = refusals(fields, pan, sourced);
  if (errors !== undefined) return { ok: false, errors };

  let hidden: CardEventInput | undefined;
  for (const slot of HASHED) {
    const value = fieldValue(fields, slot);
    if (!value || !(anyCardIn(value) || (sourced & (slot.bit << ANY)) !== 0)) continue;
    hidden ??= { ...event, merchant: { ...event.merchant } };
    const target = (slot.inMerchant ? hidden.merchant : hidden) as Record<string, unknown>;
    target[slot.key] = cardKeys.identifier(value as string);
  }
  return { ok: true, event: hidden ?? event }; // the common case: nothing copied
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
  const pan =
    typeof card.pan === 'string' && /^[0-9]+$/.test(card.pan) && holdsCardNumber(card.pan)
      ? card.pan
      : undefined;
  const merchant = isObject(event.merchant) ? event.merchant : {};
  return refusals({ ...event, merchant }, pan, sourceMarks(pan, sources)) ?? [];
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null;

type Fields = Record<string, unknown> & { merchant: Record<string, unknown> };

const fieldValue = (event: Fields, slot: Slot): unknown =>
  (slot.inMerchant ? event.merchant : event)[slot.key];

/**
 * An error for each field refused for the card number it holds, or undefined (no array for the common case).
 * A field holds one when its value or its source holds any card's number (holdsCardNumber) or the event's
 * own PAN spread by any characters; a reference is hashed when its value or source holds any card's.
 */
function refusals(event: Fields, pan: string | undefined, sourced: number): FieldError[] | undefined {
  let errors: FieldError[] | undefined;
  for (const slot of REFUSED) {
    if ((sourced & ((slot.bit << ANY) | (slot.bit << OWN))) !== 0 || holds(fieldValue(event, slot), pan)) {
      errors ??= [];
      errors.push({ path: slot.path, message: MESSAGE });
    }
  }
  // A reference is hashed by its value alone (as CardKeys.reference), so equal references hash equally in every
  // event and in merchants' MIDs. The own PAN spread by other characters is visible only beside that PAN:
  // a reference holding it, and no card number by itself, is refused rather than hashed in some events only.
  for (const slot of HASHED) {
    const value = fieldValue(event, slot);
    const ownPan = (sourced & (slot.bit << OWN)) !== 0 || ownPanIn(value, pan);
    if (ownPan && (sourced & (slot.bit << ANY)) === 0 && !anyCardIn(value)) {
      errors ??= [];
      errors.push({ path: slot.path, message: MESSAGE });
    }
  }
  return errors;
}

/**
 * The fields whose source text holds a card number, as a mask: bit `field << ANY` when it holds any card's,
 * else `field << OWN` when it holds the event's own PAN spread out. 0 without sources (the common case).
 */
function sourceMarks(pan: string | undefined, sources: readonly SourceText[]): number {
  let marks = 0;
  for (const source of sources) {
    const bit = BIT_OF.get(source.field) ?? 0;
    if (holdsCardNumber(source.text)) marks |= bit << ANY;
    else if (ownPanIn(source.text, pan)) marks |= bit << OWN;
  }
  return marks;
}

/** Whether a value holds any card's number or the event's own PAN spread out. */
const holds = (value: unknown, pan: string | undefined): boolean => anyCardIn(value) || ownPanIn(value, pan);

/**
 * Whether a value is text holding any card's number. holdsCardNumber's first pass already answers ASCII with
 * fewer than 12 digits without allocating; a length test cannot go first, as NFKC folds "⑪" to "11".
 */
const anyCardIn = (value: unknown): boolean => typeof value === 'string' && holdsCardNumber(value);

/** Whether `value` holds the own `pan`'s digits, also spread by other characters ("4111 1111/1111x1111"). */
function ownPanIn(value: unknown, pan: string | undefined): boolean {
  if (pan === undefined || typeof value !== 'string' || value.length < pan.length) return false;
  let count = 0;
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i);
    if (code >= 48 && code <= 57) count++;
  }
  if (count < pan.length) return false; // the common case: no allocation
  return value.replace(/[^0-9]/g, '').includes(pan);
}
