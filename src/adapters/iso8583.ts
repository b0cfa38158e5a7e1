/**
 * ISO 8583:1987 messages, as JSON keyed by data element, turned into `POST /v1/events` events.
 * PURE: no I/O, no clock reads (the caller passes `now`, used only to infer the year DE7 and DE13 omit).
 *
 * Message type (MTI) → event type. The last MTI digit is the message origin; a repeat (odd origin:
 * 0101, 0221, 0401, 0421, …) is the same message sent again, so it maps like its first transmission
 * and yields the same event id (answered `duplicate`).
 *
 * | MTI         | meaning                                        | event type                  |
 * |-------------|------------------------------------------------|-----------------------------|
 * | 0100, 0101  | authorization request (dual message)           | authorization               |
 * | 0120, 0121  | authorization advice (stand-in approval)       | authorization               |
 * | 0200, 0201  | financial request (single message)             | authorization               |
 * | 0220, 0221  | financial advice (completion, store-and-fwd)   | clearing                    |
 * | 0320, 0321  | batch-upload advice (terminal settlement)      | clearing                    |
 * | 0400, 0401  | reversal request                               | reversal                    |
 * | 0420, 0421  | reversal advice                                | reversal                    |
 * Processing code (DE3) starting `20` (refund / return credit) turns any non-reversal above into `refund`.
 * Any other MTI (responses 0110/0210, network management 0800, …) is rejected on `mti`.
 *
 * Event id: `<mti>:<DE7>:<DE11>:<DE41>:<DE42>` (MTI with repeat folded to the first transmission, DE7
 * transmission date/time MMDDhhmmss UTC, DE11 STAN, DE41 terminal and DE42 MID trimmed and URI-encoded).
 * STAN + DE7 identify a message per acquirer terminal; the MTI keeps a reversal that reuses its original's
 * STAN and DE7 from colliding with it. A reversal's `original_id` is built the same way from DE90
 * (original MTI, STAN and DE7) with the reversal's own DE41/DE42, so it equals the id the original got.
 * Without DE90 (or with DE90 all zeros) `original_id` is null and the platform matches the reversal by
 * card, MID, auth code and amount. DE90 on an advice (0220/0320, completing a pre-authorization) links it
 * the same way.
 *
 * occurred_at: DE7 (UTC) is the instant; when DE12/DE13 (local time and date) are present the offset
 * local − UTC, rounded to 15 minutes, is kept so occurred_at carries the merchant's local time
 * (e.g. `2026-11-23T08:15:02-08:00`). A difference outside −12h…+14h (a late store-and-forward advice)
 * cannot be an offset: occurred_at is then DE7 in UTC.
 *
 * DE43 (40 characters, ISO 8583:1987): positions 1–25 name, 26–38 city, 39–40 country alpha-2; when the
 * last three positions are digits they are an ISO 3166 numeric country code (city 26–37).
 *
 * DE22 POS entry mode, first two digits → entry_mode: 01, 79 manual; 02, 80, 90 magstripe; 05, 95 chip;
 * 07, 91 contactless; 09, 81 ecommerce; 10, 82 card_on_file (credential on file, PAN entered by a server);
 * anything else (00 unknown, …) leaves entry_mode out.
 *
 * DE95 (replacement amounts) on a reversal makes it partial: the amount reversed is DE4 − DE95 actual amount.
 *
 * The PAN (DE2) is checked (12–19 digits, Luhn) and passed on in memory only; no error message repeats it.
 * DE43 as sent (before it is cut into name and city) and DE41/DE42 as sent (before they are URI-encoded into
 * the ids) are handed on as the sources of those fields, which the card-number guard checks as well.
 */
import currencyCodes from 'currency-codes';
import countries from 'i18n-iso-countries';
import { luhnValid } from '../cards/pan.ts';
import type { FieldError } from '../errors.ts';
import type { ContractEvent, Conversion, EntryMode, EventType, SourceText } from './types.ts';

/** A message as received: `mti` plus data elements "2" … "128", each a string. */
export type Iso8583Message = Record<string, unknown>;

const MTI_TYPES: Record<string, EventType> = {
  '0100': 'authorization',
  '0120': 'authorization',
  '0200': 'authorization',
  '0220': 'clearing',
  '0320': 'clearing',
  '0400': 'reversal',
  '0420': 'reversal',
};

/** The event type each supported MTI maps to (repeats fold onto their first transmission). */
export const ISO8583_MTI_TABLE: Readonly<Record<string, EventType>> = MTI_TYPES;

/** DE3 transaction types (first two digits) we accept: purchases, cash, quasi-cash, refunds. */
const PROCESSING_CODES: Record<string, string> = {
  '00': 'purchase',
  '01': 'cash withdrawal',
  '09': 'purchase with cashback',
  '11': 'quasi-cash',
  '20': 'refund',
};

const ENTRY_MODES: Record<string, EntryMode> = {
  '01': 'manual',
  '79': 'manual',
  '02': 'magstripe',
  '80': 'magstripe',
  '90': 'magstripe',
  '05': 'chip',
  '95': 'chip',
  '07': 'contactless',
  '91': 'contactless',
  '09': 'ecommerce',
  '81': 'ecommerce',
  '10': 'card_on_file',
  '82': 'card_on_file',
};

const PRINTABLE = /^[\x20-\x7E]*$/;
const MINUTE = 60_000;

/** Folds a repeat MTI (odd last digit) onto its first transmission: 0101 → 0100, 0421 → 0420. */
export function foldRepeat(mti: string): string {
  const origin = Number(mti[3]);
  return `${mti.slice(0, 3)}${origin - (origin % 2)}`;
}

/** Our event's fields → the data elements they came from, for errors found after conversion. */
export const ISO8583_ELEMENT_OF: Readonly<Record<string, string>> = {
  rrn: '37',
  auth_code: '38',
  'merchant.terminal_id': '41',
  'merchant.mid': '42',
  'merchant.name': '43',
  'merchant.city': '43',
};

/** The event id of a message from its (folded) MTI, DE7, DE11, DE41 and DE42 — see the module comment. */
export function iso8583EventId(
  mti: string,
  de7: string,
  de11: string,
  terminal: string,
  mid: string,
): string {
  return [
    foldRepeat(mti),
    de7,
    de11,
    encodeURIComponent(terminal.trim()),
    encodeURIComponent(mid.trim()),
  ].join(':');
}

function utc(year: number, month: number, day: number, hour: number, minute: number, second: number) {
  const ms = Date.UTC(year, month - 1, day, hour, minute, second);
  const d = new Date(ms);
  // Date.UTC rolls 30 February over into March: a roll-over means the date does not exist.
  return d.getUTCMonth() === month - 1 && d.getUTCDate() === day ? ms : undefined;
}

/** MMDDhhmmss (no year) → the epoch ms in the year nearest to `anchor`, or undefined if no such date. */
function nearestYear(mmddhhmmss: string, anchor: number): number | undefined {
  const [month, day, hour, minute, second] = [0, 2, 4, 6, 8].map((i) =>
    Number(mmddhhmmss.slice(i, i + 2)),
  ) as [number, number, number, number, number];
  if (hour > 23 || minute > 59 || second > 59) return undefined;
  const year = new Date(anchor).getUTCFullYear();
  let best: number | undefined;
  for (const y of [year - 1, year, year + 1]) {
    const ms = utc(y, month, day, hour, minute, second);
    if (ms !== undefined && (best === undefined || Math.abs(ms - anchor) < Math.abs(best - anchor)))
      best = ms;
  }
  return best;
}

/** RFC 3339 with a numeric offset: the wall time at `offsetMinutes` from UTC. */
function withOffset(instant: number, offsetMinutes: number): string {
  if (offsetMinutes === 0) return new Date(instant).toISOString().replace('.000Z', 'Z');
  const wall = new Date(instant + offsetMinutes * MINUTE).toISOString().slice(0, 19);
  const sign = offsetMinutes < 0 ? '-' : '+';
  const abs = Math.abs(offsetMinutes);
  const hh = String(Math.floor(abs / 60)).padStart(2, '0');
  const mm = String(abs % 60).padStart(2, '0');
  return `${wall}${sign}${hh}:${mm}`;
}

/** DE43 → name, city, country alpha-2; or an error message. */
export function parseNameLocation(
  raw: string,
): { name: string; city?: string; country: string } | { error: string } {
  if (raw.length > 40) return { error: 'must be at most 40 characters (name 25, city 13, country 2)' };
  const field = raw.padEnd(40, ' ');
  const name = field.slice(0, 25).trim();
  let city: string;
  let country: string | undefined;
  const tail3 = field.slice(37, 40);
  if (/^\d{3}$/.test(tail3)) {
    city = field.slice(25, 37).trim();
    country = countries.numericToAlpha2(tail3);
    if (!country) return { error: `country code ${tail3} (positions 38-40) is not an ISO 3166 numeric code` };
  } else {
    city = field.slice(25, 38).trim();
    const alpha2 = field.slice(38, 40).toUpperCase();
    if (
      !/^[A-Z]{2}$/.test(alpha2) ||
      !countries.isValid(alpha2) ||
      countries.alpha2ToNumeric(alpha2) === undefined
    )
      return { error: 'positions 39-40 must be an ISO 3166 alpha-2 country code (or 38-40 a numeric one)' };
    country = alpha2;
  }
  if (!name) return { error: 'the merchant name (positions 1-25) is blank' };
  return city ? { name, city, country } : { name, country };
}

/**
 * ISO 4217 numeric → alpha-3. Entries the ISO list files under the "ZZ" entity (no currency 999, testing
 * 963, precious metals, bond-market units) are no money a card is charged in.
 */
function currencyOf(numeric: string): string | undefined {
  const record = currencyCodes.number(numeric);
  if (!record || record.countries.every((entity) => entity.startsWith('Zz'))) return undefined;
  return record.code;
}

const DATA_ELEMENT_KEY = /^(mti|[1-9]\d{0,2})$/;

/** Converts one ISO 8583 message to a contract event, or lists every field error by data element. */
export function convertIso8583(message: unknown, now: Date): Conversion {
  if (typeof message !== 'object' || message === null || Array.isArray(message)) {
    return {
      ok: false,
      errors: [{ path: '(message)', message: 'must be a JSON object keyed by data element' }],
      sources: [],
    };
  }
  const msg = message as Iso8583Message;
  const errors: FieldError[] = [];
  const fail = (path: string, text: string) => {
    errors.push({ path, message: text });
  };

  for (const [key, value] of Object.entries(msg)) {
    if (!DATA_ELEMENT_KEY.test(key) || (key !== 'mti' && Number(key) > 128)) {
      fail(key, 'is not an ISO 8583 data element (use "mti" or "2" … "128")');
    } else if (typeof value !== 'string' && value !== null && value !== undefined) {
      fail(key, 'must be a string');
    }
  }

  /** Reads a string data element against a pattern; records an error if it is present but wrong. */
  const read = (de: string, pattern: RegExp, describe: string, required: boolean): string | undefined => {
    const value = msg[de];
    if (value === undefined || value === null) {
      if (required) fail(de, 'is required');
      return undefined;
    }
    if (typeof value !== 'string') return undefined; // already reported
    if (!pattern.test(value)) {
      fail(de, describe);
      return undefined;
    }
    return value;
  };

  const mti = read('mti', /^\d{4}$/, 'must be a 4-digit message type indicator', true);
  let type: EventType | undefined;
  if (mti) {
    type = MTI_TYPES[foldRepeat(mti)];
    if (!type)
      fail(
        'mti',
        `message type ${mti} is not an event (accepted: ${Object.keys(MTI_TYPES).join(', ')} and their repeats)`,
      );
  }

  const pan = read('2', /^\d{12,19}$/, 'must be a card number of 12 to 19 digits', true);
  if (pan && !luhnValid(pan)) fail('2', 'is not a valid card number (Luhn check failed)');

  const processingCode = read('3', /^\d{6}$/, 'must be a 6-digit processing code', true);
  const transactionType = processingCode?.slice(0, 2);
  if (transactionType !== undefined && !(transactionType in PROCESSING_CODES))
    fail(
      '3',
      `transaction type ${transactionType} is not a purchase, cash or refund (accepted: ${Object.keys(PROCESSING_CODES).join(', ')})`,
    );
  if (type && type !== 'reversal' && transactionType === '20') type = 'refund';

  const amountText = read('4', /^\d{12}$/, 'must be 12 digits (the amount in minor units)', true);
  let amount = amountText === undefined ? undefined : Number(amountText);
  if (amount === 0) fail('4', 'must be greater than zero');

  const de7 = read('7', /^\d{10}$/, 'must be 10 digits (MMDDhhmmss, UTC)', true);
  const transmittedAt = de7 === undefined ? undefined : nearestYear(de7, now.getTime());
  if (de7 !== undefined && transmittedAt === undefined)
    fail('7', 'is not a valid date and time (MMDDhhmmss)');

  const stan = read('11', /^\d{6}$/, 'must be a 6-digit system trace audit number', true);
  const localTime = read('12', /^\d{6}$/, 'must be 6 digits (hhmmss, local time)', false);
  const localDate = read('13', /^\d{4}$/, 'must be 4 digits (MMDD, local date)', false);
  if (
    (localTime === undefined) !== (localDate === undefined) &&
    !errors.some((e) => e.path === '12' || e.path === '13')
  )
    fail(localTime === undefined ? '12' : '13', 'local time (12) and local date (13) come together');

  const mcc = read('18', /^\d{4}$/, 'must be a 4-digit merchant category code', false);
  const posEntry = read('22', /^\d{3}$/, 'must be 3 digits (POS entry mode)', false);
  const rrn = read(
    '37',
    /^[A-Za-z0-9 ]{12}$/,
    'must be 12 alphanumeric characters (retrieval reference number)',
    false,
  );
  const authCode = read(
    '38',
    /^[A-Za-z0-9 ]{6}$/,
    'must be 6 alphanumeric characters (authorization code)',
    false,
  );
  const terminal = read(
    '41',
    /^[\x20-\x7E]{1,8}$/,
    'must be 1 to 8 printable characters (terminal id)',
    false,
  );
  const mid = read('42', /^[\x20-\x7E]{1,15}$/, 'must be 1 to 15 printable characters (merchant id)', true);
  if (mid !== undefined && !mid.trim()) fail('42', 'must not be blank');
  const nameLocation = read('43', PRINTABLE, 'must be printable characters', false);
  const location = nameLocation === undefined ? undefined : parseNameLocation(nameLocation);
  if (location && 'error' in location) fail('43', location.error);

  const currencyNumeric = read('49', /^\d{3}$/, 'must be a 3-digit ISO 4217 numeric currency code', true);
  const currency = currencyNumeric === undefined ? undefined : currencyOf(currencyNumeric);
  if (currencyNumeric !== undefined && !currency)
    fail('49', `${currencyNumeric} is not an ISO 4217 currency`);

  const original = read(
    '90',
    /^\d{42}$/,
    'must be 42 digits (original MTI, STAN, DE7, acquirer, forwarder)',
    false,
  );
  let originalId: string | null = null;
  if (original !== undefined && !/^0+$/.test(original)) {
    const originalMti = original.slice(0, 4);
    const originalStan = original.slice(4, 10);
    const originalDe7 = original.slice(10, 20);
    if (!MTI_TYPES[foldRepeat(originalMti)] || MTI_TYPES[foldRepeat(originalMti)] === 'reversal')
      fail('90', `original message type ${originalMti} is not an authorization, financial or advice message`);
    else if (nearestYear(originalDe7, now.getTime()) === undefined)
      fail('90', 'the original transmission date and time (positions 11-20) is not a valid MMDDhhmmss');
    else if (mid !== undefined)
      originalId = iso8583EventId(originalMti, originalDe7, originalStan, terminal ?? '', mid);
  }

  const replacement = read('95', /^\d{42}$/, 'must be 42 digits (replacement amounts)', false);
  if (replacement !== undefined) {
    if (type !== 'reversal') fail('95', 'replacement amounts apply only to a reversal (04xx)');
    else if (amount !== undefined) {
      const actual = Number(replacement.slice(0, 12));
      if (actual >= amount) fail('95', 'the actual amount must be less than the original amount (4)');
      else amount -= actual;
    }
  }

  if (errors.length > 0) {
    const de43 = msg['43'];
    return {
      ok: false,
      errors,
      sources: typeof de43 === 'string' ? [{ field: 'merchant.name', text: de43 }] : [],
    };
  }
  // Every required field was read without error, so these hold.
  if (!mti || !type || !pan || amount === undefined || !currency || !de7 || !stan || !mid || !transmittedAt)
    return { ok: false, errors: [{ path: '(message)', message: 'is incomplete' }], sources: [] };

  let occurredAt = withOffset(transmittedAt, 0);
  if (localTime !== undefined && localDate !== undefined) {
    const local = nearestYear(`${localDate}${localTime}`, transmittedAt);
    if (local === undefined)
      return { ok: false, errors: [{ path: '13', message: 'is not a valid date (MMDD)' }], sources: [] };
    const offset = Math.round((local - transmittedAt) / (15 * MINUTE)) * 15;
    if (offset >= -12 * 60 && offset <= 14 * 60) occurredAt = withOffset(local - offset * MINUTE, offset);
  }

  const merchant: ContractEvent['merchant'] = { mid: mid.trim() };
  if (location && !('error' in location)) {
    merchant.name = location.name;
    if (location.city) merchant.city = location.city;
    merchant.country = location.country;
  }
  if (mcc) merchant.mcc = mcc;
  if (terminal?.trim()) merchant.terminal_id = terminal.trim();

  const event: ContractEvent = {
    id: iso8583EventId(mti, de7, stan, terminal ?? '', mid),
    type,
    occurred_at: occurredAt,
    card: { pan },
    amount,
    currency,
    merchant,
    original_id: originalId,
  };
  if (authCode?.trim()) event.auth_code = authCode.trim();
  if (rrn?.trim()) event.rrn = rrn.trim();
  const entryMode = posEntry ? ENTRY_MODES[posEntry.slice(0, 2)] : undefined;
  if (entryMode) event.entry_mode = entryMode;
  return { ok: true, event, sources: sourcesOf(event, nameLocation, terminal, mid) };
}

/** The fields cut or encoded from what was sent, with what was sent (see SourceText). */
function sourcesOf(
  event: ContractEvent,
  nameLocation: string | undefined,
  terminal: string | undefined,
  mid: string,
): SourceText[] {
  // DE43 is named by merchant.name only: one error for one data element, wherever the number was cut.
  const sources: SourceText[] =
    nameLocation === undefined ? [] : [{ field: 'merchant.name', text: nameLocation }];
  const ids: ('id' | 'original_id')[] = event.original_id === null ? ['id'] : ['id', 'original_id'];
  for (const field of ids) {
    sources.push({ field, text: mid });
    if (terminal !== undefined) sources.push({ field, text: terminal });
  }
  return sources;
}
