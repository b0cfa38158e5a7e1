// The contract's event as zod schemas (POST /v1/events input and results) with its limits.
import { z } from '@hono/zod-openapi';
import { holdsCardNumber } from '../cards/card-numbers.ts';
import { luhnValid } from '../cards/pan.ts';
import { CountryCode } from '../lib/country.ts';
import { CurrencyCode } from '../lib/currency.ts';
import { ENTRY_MODES, EVENT_TYPES, MID_MAX_LENGTH } from '../lib/payments.ts';
import { NO_CONTROL_CHARACTERS } from '../lib/text.ts';
import { statedOffsetMinutes } from './local-time.ts';

/** Most events a processor may send in one request. */
export const MAX_EVENTS_PER_REQUEST = 1000;

/** The earliest `occurred_at` accepted. */
export const EARLIEST = Date.UTC(2000, 0, 1);

/** How far ahead of the server clock an event's `occurred_at` may be (clock skew, not prophecy). */
export const MAX_FUTURE_MS = 24 * 60 * 60 * 1000;

/** The UTC offsets an `occurred_at` may state, in minutes. */
export const MIN_OFFSET_MINUTES = -12 * 60;
export const MAX_OFFSET_MINUTES = 14 * 60;

/** Longest processor reference (event id, original_id, card token). */
export const MAX_REFERENCE_LENGTH = 255;

/** Longest value of each free-text field (after trimming, in code points as zod counts). */
export const TEXT_MAX = {
  mid: MID_MAX_LENGTH,
  name: 200,
  city: 100,
  region: 100,
  postal_code: 20,
  terminal_id: 64,
  auth_code: 12,
  rrn: 24,
} as const;

/** ISO 4217 codes this runtime knows. */

// Messages never quote the input: a PAN must not come back in an error.
export const Pan = z
  .string({ error: 'must be a string of 12 to 19 digits' })
  .regex(/^[0-9]{12,19}$/, 'must be 12 to 19 digits')
  .refine(luhnValid, 'is not a valid card number (Luhn check failed)')
  .openapi({ description: 'Primary account number: fingerprinted and dropped, never stored' });

export const CardToken = z
  .string()
  .min(1)
  .max(MAX_REFERENCE_LENGTH)
  .regex(/^[\x21-\x7e]+$/, 'must be printable ASCII without spaces')
  // A token is stored (card_tokens) and echoed: one that is or holds a card number would keep a PAN.
  .refine(
    (token) => !holdsCardNumber(token),
    'must not be or contain a card number (send the card number as `pan`)',
  )
  .openapi({ description: "The processor's own stable card reference, linked with POST /v1/card_tokens" });

export const CardRef = z
  .object({ pan: Pan.optional(), token: CardToken.optional() })
  .strict()
  .refine((card) => (card.pan === undefined) !== (card.token === undefined), {
    message: 'must carry exactly one of `pan` or `token`',
  })
  .openapi('CardReference', { description: '`{ "pan" }` or `{ "token" }`' });

// Control characters are refused in every text field.
const NO_CONTROL = NO_CONTROL_CHARACTERS;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const text = (max: number) =>
  z
    .string()
    .trim()
    .min(1)
    .max(max)
    .regex(NO_CONTROL, 'must not contain control characters')
    .refine((value) => !LONE_SURROGATE.test(value), 'must be valid Unicode');
const optionalText = (max: number) => text(max).nullish();
// The merchant's descriptive fields: stored and shown to apps, so never a card number (any card's); that is
// checked with every other field in card-number-guard.ts, after adapters and before storing.
const descriptiveText = (max: number) =>
  optionalText(max).openapi({
    description: 'Free text; refused when it holds a card number (any card’s, also in groups)',
  });

export const MerchantInput = z
  .object({
    mid: text(TEXT_MAX.mid).openapi({ description: 'Merchant id (card acceptor id)' }),
    name: descriptiveText(TEXT_MAX.name),
    mcc: z
      .string()
      .regex(/^[0-9]{4}$/, 'must be 4 digits')
      .nullish(),
    city: descriptiveText(TEXT_MAX.city),
    region: descriptiveText(TEXT_MAX.region),
    postal_code: optionalText(TEXT_MAX.postal_code),
    country: CountryCode.nullish(),
    terminal_id: optionalText(TEXT_MAX.terminal_id),
  })
  .openapi('EventMerchant');

/** One event in the contract's JSON shape (`POST /v1/events`); adapters produce exactly this. */
export const CardEventInput = z
  .object({
    id: z
      .string()
      .min(1)
      .max(MAX_REFERENCE_LENGTH)
      .regex(/^[\x21-\x7e]+$/, 'must be printable ASCII without spaces')
      .openapi({
        description: "The processor's own event id; resending it is a duplicate, never a second event",
      }),
    type: z.enum(EVENT_TYPES),
    occurred_at: z.iso
      // abort: the refinements below would read NaN from a non-timestamp and add contradicting messages.
      .datetime({
        offset: true,
        abort: true,
        error: 'must be an RFC 3339 timestamp with a time zone (Z or ±hh:mm)',
      })
      .refine((value) => Date.parse(value) >= EARLIEST, 'must not be before 2000')
      .refine(
        (value) => Date.parse(value) <= Date.now() + MAX_FUTURE_MS,
        'must not be more than 24 hours in the future',
      )
      .refine((value) => {
        const offset = statedOffsetMinutes(value) ?? 0;
        return offset >= MIN_OFFSET_MINUTES && offset <= MAX_OFFSET_MINUTES;
      }, 'must have a UTC offset between -12:00 and +14:00')
      .openapi({
        example: '2026-11-23T08:15:02-08:00',
        description:
          'From 2000 to at most 24 hours ahead of the server clock; its offset gives the local time',
      }),
    card: CardRef,
    amount: z
      .number()
      .int('must be an integer amount in minor units')
      .min(0)
      .max(Number.MAX_SAFE_INTEGER)
      .openapi({ description: 'Minor units (cents)' }),
    currency: CurrencyCode,
    merchant: MerchantInput,
    auth_code: optionalText(TEXT_MAX.auth_code),
    rrn: optionalText(TEXT_MAX.rrn),
    entry_mode: z.enum(ENTRY_MODES).nullish(),
    original_id: z
      .string()
      .min(1)
      .max(MAX_REFERENCE_LENGTH)
      .regex(/^[\x21-\x7e]+$/, 'must be printable ASCII without spaces')
      .nullish()
      .openapi({
        description: 'For clearing, refund and reversal: the `id` of the authorization they follow',
      }),
  })
  .refine((event) => event.type !== 'authorization' || event.original_id == null, {
    path: ['original_id'],
    message: 'an authorization follows nothing: must be null',
  })
  .openapi('CardEvent');

export type CardEventInput = z.infer<typeof CardEventInput>;

export const CardEventBatch = z
  .object({ events: z.array(CardEventInput).min(1).max(MAX_EVENTS_PER_REQUEST) })
  .openapi('CardEventBatch');

export const IngestStatus = z.enum(['accepted', 'duplicate', 'rejected']);

export const IngestResult = z
  .object({
    id: z
      .string()
      .nullable()
      .openapi({ description: "The processor's event id (null when it was unreadable)" }),
    event_id: z
      .string()
      .nullable()
      .openapi({ description: 'Our `evt_` id; the original one for a duplicate' }),
    status: IngestStatus,
    errors: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
    actions: z.number().int().openapi({ description: 'Actions this request caused (0 for duplicates)' }),
  })
  .openapi('IngestResult');

export type IngestResult = z.infer<typeof IngestResult>;
