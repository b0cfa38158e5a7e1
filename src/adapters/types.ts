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

/** A converter's answer: the event, or every field error found (paths name the foreign field). */
export type Conversion = { ok: true; event: ContractEvent } | { ok: false; errors: FieldError[] };
