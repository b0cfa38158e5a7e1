// A hand-written twin of zod's event parse for the ordinary event; zod handles the rest.

import { holdsCardNumber } from '../cards/card-numbers.ts';
import { luhnValid } from '../cards/pan.ts';
import { isCountryCode } from '../lib/country.ts';
import { isCurrencyCode } from '../lib/currency.ts';
import { ENTRY_MODES, EVENT_TYPES } from '../lib/payments.ts';
import {
  type CardEventInput,
  EARLIEST,
  MAX_FUTURE_MS,
  MAX_OFFSET_MINUTES,
  MAX_REFERENCE_LENGTH,
  MIN_OFFSET_MINUTES,
  TEXT_MAX,
} from './schema.ts';

// A hand-written twin of `CardEventInput.safeParse` for the ordinary event, because zod was the largest CPU
// cost per event on POST /v1/events (bench/README.md). It answers only when it is sure zod would accept,
// with the data zod would give; anything unusual (an explicit `undefined`, text that needs trimming, a
// non-plain object …) gets null and goes to zod, which stays the one judge of invalid input and the one
// writer of error messages.
// test/ingest/fast-validate.test.ts holds it to zod with fast-check.

type Merchant = CardEventInput['merchant'];

const EVENT_TYPE_SET: ReadonlySet<string> = new Set(EVENT_TYPES);
const ENTRY_MODE_SET: ReadonlySet<string> = new Set(ENTRY_MODES);

const textUpTo = (max: number) => (value: string) => isCleanText(value, max);
const isAuthCode = textUpTo(TEXT_MAX.auth_code);
const isRrn = textUpTo(TEXT_MAX.rrn);
const isEntryMode = (value: string) => ENTRY_MODE_SET.has(value);

/** The merchant's nullish fields in the schema's order, each with what a string in it must be. */
const MERCHANT_NULLISH: readonly (readonly [key: string, accepts: (value: string) => boolean])[] = [
  ['name', textUpTo(TEXT_MAX.name)],
  ['mcc', isMcc],
  ['city', textUpTo(TEXT_MAX.city)],
  ['region', textUpTo(TEXT_MAX.region)],
  ['postal_code', textUpTo(TEXT_MAX.postal_code)],
  ['country', isCountryCode],
  ['terminal_id', textUpTo(TEXT_MAX.terminal_id)],
];

/**
 * The event zod's `CardEventInput.safeParse(raw)` would produce, or null when that is not certain (invalid
 * or merely unusual input: the caller then asks zod).
 */
export function fastParseCardEvent(raw: unknown): CardEventInput | null {
  if (!isPlainObject(raw)) return null;
  const id = raw.id;
  if (typeof id !== 'string' || !isReference(id)) return null;
  const type = raw.type;
  if (typeof type !== 'string' || !EVENT_TYPE_SET.has(type)) return null;
  const occurredAt = raw.occurred_at;
  if (typeof occurredAt !== 'string' || !isAcceptedTimestamp(occurredAt)) return null;

  const rawCard = raw.card;
  if (!isPlainObject(rawCard)) return null;
  let cardKeys = 0;
  for (const key in rawCard) {
    if (key !== 'pan' && key !== 'token') return null;
    cardKeys++;
  }
  if (cardKeys !== 1) return null;
  const pan = rawCard.pan;
  const token = rawCard.token;
  let card: CardEventInput['card'];
  if (pan !== undefined) {
    if (typeof pan !== 'string' || !isPan(pan)) return null;
    card = { pan };
  } else {
    if (typeof token !== 'string' || !isToken(token)) return null;
    card = { token };
  }

  const amount = raw.amount;
  if (
    typeof amount !== 'number' ||
    !Number.isInteger(amount) ||
    amount < 0 ||
    amount > Number.MAX_SAFE_INTEGER
  )
    return null;
  const currency = raw.currency;
  if (typeof currency !== 'string' || !isCurrency(currency)) return null;

  const merchant = parseMerchant(raw.merchant);
  if (merchant === null) return null;

  const event: CardEventInput = {
    id,
    type: type as CardEventInput['type'],
    occurred_at: occurredAt,
    card,
    amount,
    currency,
    merchant,
  };
  const fields = event as Record<string, unknown>;
  if (!copyNullish(raw, fields, 'auth_code', isAuthCode)) return null;
  if (!copyNullish(raw, fields, 'rrn', isRrn)) return null;
  if (!copyNullish(raw, fields, 'entry_mode', isEntryMode)) return null;
  const originalId = raw.original_id;
  if (originalId === undefined) {
    if ('original_id' in raw) return null;
  } else if (originalId === null) {
    event.original_id = null;
  } else {
    if (typeof originalId !== 'string' || !isReference(originalId)) return null;
    if (type === 'authorization') return null;
    event.original_id = originalId;
  }

  return event;
}

function parseMerchant(raw: unknown): Merchant | null {
  if (!isPlainObject(raw)) return null;
  const mid = raw.mid;
  if (typeof mid !== 'string' || !isCleanText(mid, TEXT_MAX.mid)) return null;
  const merchant: Merchant = { mid };
  for (const [key, accepts] of MERCHANT_NULLISH) {
    if (!copyNullish(raw, merchant as Record<string, unknown>, key, accepts)) return null;
  }
  return merchant;
}

/** Objects as JSON.parse makes them: zod would also read inherited keys, getters and odd prototypes. */
function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/**
 * Copies the nullish field `key` of `from` to `to` as zod would: absent stays absent, null is kept, and so is
 * a string that `accepts` approves. False when that is not certain (an explicit `undefined`, another type, a
 * string it does not approve): the caller then asks zod.
 */
function copyNullish(
  from: Record<string, unknown>,
  to: Record<string, unknown>,
  key: string,
  accepts: (value: string) => boolean,
): boolean {
  const value = from[key];
  if (value === undefined) return !(key in from);
  if (value !== null && (typeof value !== 'string' || !accepts(value))) return false;
  to[key] = value;
  return true;
}

/** Printable ASCII without spaces, 1 to 255 characters (event ids, original_id, tokens). */
function isReference(value: string): boolean {
  const length = value.length;
  if (length === 0 || length > MAX_REFERENCE_LENGTH) return false;
  for (let i = 0; i < length; i++) {
    const code = value.charCodeAt(i);
    if (code < 0x21 || code > 0x7e) return false;
  }
  return true;
}

/**
 * `text(max)` of the schema for a value `.trim()` leaves alone: 1 to `max` code points (zod counts a
 * surrogate pair as one), no control character, no lone surrogate. A value with white space at either end
 * is not judged here (zod trims it first).
 */
function isCleanText(value: string, max: number): boolean {
  const length = value.length;
  if (length === 0 || length > 2 * max) return false;
  if (isTrimmed(value.charCodeAt(0)) || isTrimmed(value.charCodeAt(length - 1))) return false;
  let codePoints = length;
  for (let i = 0; i < length; i++) {
    const code = value.charCodeAt(i);
    if (code < 0x7f) {
      if (code < 0x20) return false;
      continue;
    }
    if (code <= 0x9f) return false; // DEL and the C1 controls
    if (code >= 0xd800 && code <= 0xdfff) {
      if (code >= 0xdc00) return false;
      const next = i + 1 < length ? value.charCodeAt(i + 1) : 0;
      if (next < 0xdc00 || next > 0xdfff) return false;
      i++;
      codePoints--;
    }
  }
  return codePoints <= max;
}

/** The code units String.prototype.trim removes (WhiteSpace and LineTerminator, as `\s` matches). */
export function isTrimmed(code: number): boolean {
  if (code <= 0x20) return code === 0x20 || (code >= 0x09 && code <= 0x0d);
  if (code < 0xa0) return false;
  return (
    code === 0xa0 ||
    code === 0x1680 ||
    (code >= 0x2000 && code <= 0x200a) ||
    code === 0x2028 ||
    code === 0x2029 ||
    code === 0x202f ||
    code === 0x205f ||
    code === 0x3000 ||
    code === 0xfeff
  );
}

function isDigit(code: number): boolean {
  return code >= 48 && code <= 57;
}

function isPan(value: string): boolean {
  const length = value.length;
  if (length < 12 || length > 19) return false;
  for (let i = 0; i < length; i++) if (!isDigit(value.charCodeAt(i))) return false;
  return luhnValid(value);
}

function isToken(value: string): boolean {
  return isReference(value) && !holdsCardNumber(value);
}

function isCurrency(value: string): boolean {
  return (
    value.length === 3 &&
    isCapital(value.charCodeAt(0)) &&
    isCapital(value.charCodeAt(1)) &&
    isCapital(value.charCodeAt(2)) &&
    isCurrencyCode(value)
  );
}

function isCapital(code: number): boolean {
  return code >= 65 && code <= 90;
}

function isMcc(value: string): boolean {
  return (
    value.length === 4 &&
    isDigit(value.charCodeAt(0)) &&
    isDigit(value.charCodeAt(1)) &&
    isDigit(value.charCodeAt(2)) &&
    isDigit(value.charCodeAt(3))
  );
}

const DAYS_IN_MONTH = [0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** Two digits at `at` as a number, or -1. */
function twoDigits(value: string, at: number): number {
  const tens = value.charCodeAt(at) - 48;
  const ones = value.charCodeAt(at + 1) - 48;
  // Written so that NaN (past the end) fails too.
  if (!(tens >= 0 && tens <= 9 && ones >= 0 && ones <= 9)) return -1;
  return tens * 10 + ones;
}

/**
 * zod's `z.iso.datetime({ offset: true })` (YYYY-MM-DDTHH:MM:SS(.fraction)?(Z|±HH:MM), real calendar dates,
 * hours 00–23) and the schema's refines: from 2000, at most 24 hours ahead, offset from -12:00 to +14:00.
 */
function isAcceptedTimestamp(value: string): boolean {
  const length = value.length;
  if (length < 20) return false;
  const century = twoDigits(value, 0);
  const yearInCentury = twoDigits(value, 2);
  const month = twoDigits(value, 5);
  const day = twoDigits(value, 8);
  if (century < 0 || yearInCentury < 0 || month < 1 || month > 12 || day < 1) return false;
  if (value.charCodeAt(4) !== 45 || value.charCodeAt(7) !== 45 || value.charCodeAt(10) !== 84) return false;
  const leap = yearInCentury === 0 ? century % 4 === 0 : yearInCentury % 4 === 0;
  if (day > (month === 2 && leap ? 29 : DAYS_IN_MONTH[month]!)) return false;
  const hour = twoDigits(value, 11);
  const minute = twoDigits(value, 14);
  const second = twoDigits(value, 17);
  if (hour < 0 || hour > 23 || minute < 0 || minute > 59 || second < 0 || second > 59) return false;
  if (value.charCodeAt(13) !== 58 || value.charCodeAt(16) !== 58) return false;
  let at = 19;
  let millis = 0;
  if (value.charCodeAt(at) === 46) {
    at++;
    const fractionStart = at;
    for (; at < length && isDigit(value.charCodeAt(at)); at++) {
      // Date.parse reads milliseconds from the first three digits and drops the rest (not rounded).
      if (at - fractionStart < 3) millis = millis * 10 + value.charCodeAt(at) - 48;
    }
    const digitCount = at - fractionStart;
    if (digitCount === 0) return false;
    if (digitCount === 1) millis *= 100;
    else if (digitCount === 2) millis *= 10;
  }
  let offset = 0;
  const zone = value.charCodeAt(at);
  if (zone === 90) {
    if (at + 1 !== length) return false;
  } else if (zone === 43 || zone === 45) {
    if (at + 6 !== length || value.charCodeAt(at + 3) !== 58) return false;
    const offsetHours = twoDigits(value, at + 1);
    const offsetMinutes = twoDigits(value, at + 4);
    if (offsetHours < 0 || offsetHours > 23 || offsetMinutes < 0 || offsetMinutes > 59) return false;
    offset = offsetHours * 60 + offsetMinutes;
    if (zone === 45) offset = -offset;
  } else return false;
  if (offset < MIN_OFFSET_MINUTES || offset > MAX_OFFSET_MINUTES) return false;
  // What Date.parse (the refines' reading) gives for this grammar, without its ~250 ns of parsing. Years below
  // 1000 are refused here (all before 2000) because Date.UTC reads 0–99 as 1900–1999.
  const year = century * 100 + yearInCentury;
  if (year < 1000) return false;
  const time = Date.UTC(year, month - 1, day, hour, minute, second, millis) - offset * 60_000;
  return time >= EARLIEST && time <= Date.now() + MAX_FUTURE_MS;
}
