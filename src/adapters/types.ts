import type { FieldError } from '../errors.ts';
import type { EntryMode, EventType } from '../lib/payments.ts';

export type { EntryMode, EventType };

/** One event in the `POST /v1/events` JSON shape (see the contract): what every adapter produces. */
export interface ContractEvent {
  id: string;
  type: EventType;
  occurred_at: string;
  card: { pan: string } | { token: string };
  amount: number;
  currency: string;
  merchant: {
    mid: string;
    name?: string;
    mcc?: string;
    city?: string;
    region?: string;
    postal_code?: string;
    country?: string;
    terminal_id?: string;
  };
  auth_code?: string;
  rrn?: string;
  entry_mode?: EntryMode;
  original_id: string | null;
}

/** A field of the event, as error paths name it. */
export type EventField =
  | 'id'
  | 'original_id'
  | 'auth_code'
  | 'rrn'
  | `merchant.${Exclude<keyof ContractEvent['merchant'], symbol>}`;

/**
 * Text a converter cut, padded or encoded into an event field: DE43 split into name and city, DE41 and DE42
 * URI-encoded into the event id. The card-number guard judges the text as that field, so a card number the
 * conversion cut apart or escaped is still found (only the event's own fields are checked otherwise).
 */
export interface SourceText {
  field: EventField;
  text: string;
}

/**
 * A converter's answer: the event and the sources of any field it did not copy as sent, or every field error
 * found (paths name the foreign field) and the texts sent for the fields the card-number guard refuses, so
 * its refusals come in the same answer.
 */
export type Conversion =
  | { ok: true; event: ContractEvent; sources: SourceText[] }
  | { ok: false; errors: FieldError[]; sources: SourceText[] };
