// The card event's shape, once: its fields, its vocabularies and the batch write's columns.
import type { EntryMode, EventType } from '../lib/payments.ts';
import { statedOffsetMinutes } from './local-time.ts';

export { ENTRY_MODES, type EntryMode, EVENT_TYPES, type EventType } from '../lib/payments.ts';

/** What an event carries from the processor into its `events` row unchanged. */
export interface SentFields {
  processorId: string;
  externalId: string;
  type: EventType;
  /** RFC 3339: as sent while pending (its offset gives the local time), `toISOString()`'s form once stored. */
  occurredAt: string;
  amount: number;
  currency: string;
  mid: string;
  merchantName: string | null;
  mcc: string | null;
  merchantCity: string | null;
  merchantRegion: string | null;
  merchantPostalCode: string | null;
  merchantCountry: string | null;
  terminalId: string | null;
  authCode: string | null;
  rrn: string | null;
  entryMode: EntryMode | null;
  originalExternalId: string | null;
}

/** An event validated and normalised, its PAN already replaced by a fingerprint: what a flush stores. */
export interface PendingEvent extends SentFields {
  card: { fingerprint: string; token?: undefined } | { token: string; fingerprint?: undefined };
}

/** A canonical event as stored (and as handed to the rules engine). Timestamps are ISO 8601 strings. */
export interface StoredEvent extends SentFields {
  id: string;
  receivedAt: string;
  /** Wall-clock time where the card was used, `YYYY-MM-DDTHH:MM:SS(.fff)` without zone. */
  localAt: string;
  utcOffsetMinutes: number;
  cardId: string;
  userId: string;
  cardScheme: string;
  merchantId: string | null;
  /** The authorization this clearing, refund or reversal follows, once known. */
  authorizationId: string | null;
}

/** The identity of an event: a processor's id for it is unique for that processor. */
export const eventKey = (processorId: string, externalId: string) => `${processorId}\u0000${externalId}`;

type SqlType = 'text' | 'int' | 'bigint' | 'timestamptz';

/**
 * The `events` column of each sent field and the SQL type it is read as. A mapped type over `SentFields`,
 * so that a field added there without its column here does not compile.
 */
const SENT_COLUMNS: { readonly [Field in keyof SentFields]: { column: string; type: SqlType } } = {
  processorId: { column: 'processor_id', type: 'text' },
  externalId: { column: 'external_id', type: 'text' },
  type: { column: 'type', type: 'text' },
  occurredAt: { column: 'occurred_at', type: 'timestamptz' },
  amount: { column: 'amount', type: 'bigint' },
  currency: { column: 'currency', type: 'text' },
  mid: { column: 'mid', type: 'text' },
  merchantName: { column: 'merchant_name', type: 'text' },
  mcc: { column: 'mcc', type: 'text' },
  merchantCity: { column: 'merchant_city', type: 'text' },
  merchantRegion: { column: 'merchant_region', type: 'text' },
  merchantPostalCode: { column: 'merchant_postal_code', type: 'text' },
  merchantCountry: { column: 'merchant_country', type: 'text' },
  terminalId: { column: 'terminal_id', type: 'text' },
  authCode: { column: 'auth_code', type: 'text' },
  rrn: { column: 'rrn', type: 'text' },
  entryMode: { column: 'entry_mode', type: 'text' },
  originalExternalId: { column: 'original_external_id', type: 'text' },
};

/** One value of an event's row in the batch write's parameter: its name there, its SQL type, its source. */
interface InputColumn {
  name: string;
  type: SqlType;
  read: (event: PendingEvent, index: number, id: string) => string | number | null;
}

/**
 * What the batch write reads for each event, in the order of its row: the event's place in the batch and
 * its new id, what the write resolves (stated offset, card), then every sent field.
 */
const INPUT_COLUMNS: readonly InputColumn[] = [
  { name: 'idx', type: 'int', read: (_event, index) => index },
  { name: 'id', type: 'text', read: (_event, _index, id) => id },
  { name: 'stated_offset', type: 'int', read: (event) => statedOffsetMinutes(event.occurredAt) },
  { name: 'card_fingerprint', type: 'text', read: (event) => event.card.fingerprint ?? null },
  { name: 'card_token', type: 'text', read: (event) => event.card.token ?? null },
  ...(Object.keys(SENT_COLUMNS) as (keyof SentFields)[]).map(
    (field): InputColumn => ({
      name: SENT_COLUMNS[field].column,
      type: SENT_COLUMNS[field].type,
      read: (event) => event[field],
    }),
  ),
];

// Copied, not `new Array(length)`: a holey array took JSON.stringify's slow path (bench/README.md).
const EMPTY_ROW: (string | number | null)[] = INPUT_COLUMNS.map(() => null);

/** One event as a row of the batch write's parameter: positional, in `INPUT_COLUMNS` order. */
export function eventRow(event: PendingEvent, index: number, id: string): (string | number | null)[] {
  const row = EMPTY_ROW.slice();
  for (let i = 0; i < INPUT_COLUMNS.length; i++) row[i] = INPUT_COLUMNS[i]!.read(event, index, id);
  return row;
}

/** The select list that reads an `eventRow` array `x` back into named, typed columns. */
export const READ_EVENT_ROW = INPUT_COLUMNS.map(
  ({ name, type }, i) => `${type === 'text' ? `x->>${i}` : `(x->>${i})::${type}`} as ${name}`,
).join(', ');

/** The `events` columns stored as sent, in one order for an INSERT's column list and its select list. */
export const SENT_COLUMN_NAMES = Object.values(SENT_COLUMNS).map(({ column }) => column);
