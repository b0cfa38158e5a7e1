import type { EventType } from '../lib/payments.ts';

/**
 * The part of a stored event the rules engine reads (src/ingest's StoredEvent is assignable to it).
 * `localAt` is the wall clock where the card was used (`YYYY-MM-DDTHH:MM:SS(.fff)`, no zone): days of the week,
 * local-time windows and "per day" limits read it, so the engine never needs a time-zone database.
 */
export interface RuleEvent {
  id: string;
  type: EventType;
  /** RFC 3339 instant with an offset or Z. */
  occurredAt: string;
  localAt: string;
  utcOffsetMinutes: number;
  userId: string;
  cardId: string;
  cardScheme: string;
  /** Minor units of `currency`. */
  amount: number;
  currency: string;
  merchantId: string | null;
  mid: string;
  merchantName: string | null;
  mcc: string | null;
  merchantCountry: string | null;
  entryMode: string | null;
}

/** An app the cardholder connected, with the scopes granted to it. */
export interface Grant {
  appId: string;
  scopes: ReadonlySet<string>;
}

/** Purchases fire triggers; refunds and reversals only give back what a purchase used. */
export const isPurchase = (event: Pick<RuleEvent, 'type'>): boolean =>
  event.type === 'authorization' || event.type === 'clearing';

/**
 * A purchase of its own, where a purchase fires: its authorization, or a clearing no authorization was seen for
 * (clearing-only feeds). The clearing of an authorized purchase is part of that purchase, not another.
 */
export const isOwnPurchase = (event: Pick<RuleEvent, 'type'> & { authorizationId: string | null }): boolean =>
  event.type === 'authorization' || (event.type === 'clearing' && event.authorizationId === null);

/** The merchant's local calendar day (`YYYY-MM-DD`) of the event: the day `per_user_per_day` counts in. */
export const localDay = (event: Pick<RuleEvent, 'localAt'>): string => event.localAt.slice(0, 10);

const digit = (text: string, at: number) => text.charCodeAt(at) - 48;

/** Minutes since local midnight (0–1439) of a `YYYY-MM-DDTHH:MM…` wall clock. */
export function minuteOfDay(localAt: string): number {
  return (digit(localAt, 11) * 10 + digit(localAt, 12)) * 60 + digit(localAt, 14) * 10 + digit(localAt, 15);
}

/** Days since 1970-01-01 of a proleptic Gregorian date (Hinnant's days_from_civil; years counted from March). */
function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yearOfEra = y - era * 400;
  const dayOfYear = Math.floor((153 * (month + (month > 2 ? -3 : 9)) + 2) / 5) + day - 1;
  const dayOfEra = yearOfEra * 365 + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100) + dayOfYear;
  return era * 146097 + dayOfEra - 719468;
}

const twoDigits = (text: string, at: number) => digit(text, at) * 10 + digit(text, at + 1);
const yearOf = (text: string) => twoDigits(text, 0) * 100 + twoDigits(text, 2);

/** ISO day of the week (1 = Monday … 7 = Sunday) of a `YYYY-MM-DD…` wall clock, without building a Date. */
export function isoWeekday(localAt: string): number {
  const days = daysFromCivil(yearOf(localAt), twoDigits(localAt, 5), twoDigits(localAt, 8));
  // 1970-01-01 was a Thursday (4).
  return ((((days + 3) % 7) + 7) % 7) + 1;
}

const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.(\d{1,9}))?(?:Z|[+-]\d{2}:\d{2})$/;

/**
 * Epoch milliseconds of an RFC 3339 instant (`…T08:15:02.5-08:00`, `…Z`), by arithmetic: Date.parse costs
 * several times more and runs once per event that meets a dated trigger. Anything else goes to Date.parse.
 */
export function instantOf(text: string): number {
  const fraction = RFC3339.exec(text);
  if (fraction === null) return Date.parse(text);
  const [month, day] = [twoDigits(text, 5), twoDigits(text, 8)];
  const [hour, minute, second] = [twoDigits(text, 11), twoDigits(text, 14), twoDigits(text, 17)];
  const zone = text.length - 6;
  const zoned = !text.endsWith('Z');
  const [zoneHours, zoneMinutes] = zoned ? [twoDigits(text, zone + 1), twoDigits(text, zone + 4)] : [0, 0];
  // Out-of-range fields (month 13, 24:00, second 60, +24:00) are Date.parse's to judge, to stay exactly like it.
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 59)
    return Date.parse(text);
  if (zoneHours > 23 || zoneMinutes > 59) return Date.parse(text);
  const days = daysFromCivil(yearOf(text), month, day);
  // Date.parse keeps milliseconds and drops finer digits; so does this.
  const millis = fraction[1] ? Number(fraction[1].slice(0, 3).padEnd(3, '0')) : 0;
  const offset = (zoneHours * 60 + zoneMinutes) * (text[zone] === '-' ? -1 : 1);
  return (days * 86400 + hour * 3600 + minute * 60 + second - offset * 60) * 1000 + millis;
}

/**
 * What the conditions of many triggers read from one event, worked out at most once per event: parsing the
 * instant and lower-casing the name cost more than the comparisons that use them.
 */
export class EventFacts {
  #event: RuleEvent;
  #instant: number | undefined;
  #lowerName: string | null | undefined;
  #minute = -1;
  #weekday = 0;

  constructor(event: RuleEvent) {
    this.#event = event;
  }

  get event(): RuleEvent {
    return this.#event;
  }

  /** Reads another event: evaluate() keeps one per index instead of allocating one per event. */
  reset(event: RuleEvent): void {
    this.#event = event;
    this.#instant = undefined;
    this.#lowerName = undefined;
    this.#minute = -1;
    this.#weekday = 0;
  }

  /** Milliseconds since the epoch of `occurredAt` (NaN when unreadable, which no date range holds). */
  get instant(): number {
    if (this.#instant === undefined) this.#instant = instantOf(this.event.occurredAt);
    return this.#instant;
  }

  get lowerName(): string | null {
    if (this.#lowerName === undefined) this.#lowerName = this.event.merchantName?.toLowerCase() ?? null;
    return this.#lowerName;
  }

  get minuteOfDay(): number {
    if (this.#minute < 0) this.#minute = minuteOfDay(this.event.localAt);
    return this.#minute;
  }

  get weekday(): number {
    if (this.#weekday === 0) this.#weekday = isoWeekday(this.event.localAt);
    return this.#weekday;
  }
}
