/**
 * Stripe Issuing webhook events turned into `POST /v1/events` events. PURE: no I/O, no clock.
 *
 * | Stripe event                                   | event                                              |
 * |------------------------------------------------|----------------------------------------------------|
 * | `issuing_authorization.created`, approved      | authorization, id = `iauth_…`                      |
 * | `issuing_authorization.created`, declined      | ignored (nothing was bought)                       |
 * | `issuing_transaction.created`, type `capture`  | clearing, id = `ipi_…`, original_id = `iauth_…`    |
 * | `issuing_transaction.created`, type `refund`   | refund, id = `ipi_…`, original_id = `iauth_…`/null |
 * | any other event type                           | ignored (acknowledged so Stripe stops retrying)    |
 *
 * The Stripe card id (`ic_…`) is the card `token` (link it once with `POST /v1/card_tokens`).
 * Amounts are in the card's currency (`amount`/`currency`, not `merchant_amount`); Stripe signs
 * transaction amounts from the balance's side (a capture is negative), so the magnitude is taken.
 * The MCC is `merchant_data.category_code`, which Stripe sends beside its category name.
 * `authorization_method` → entry_mode: chip, contactless, swipe → magstripe, keyed_in → manual,
 * online → ecommerce. occurred_at is the object's `created` (UTC).
 */
import currencyCodes from 'currency-codes';
import { z } from 'zod';
import { redactCardNumbers } from '../cards/card-numbers.ts';
import type { FieldError } from '../errors.ts';
import { CountryCode } from '../lib/country.ts';
import type { ContractEvent, EntryMode, EventField, SourceText } from './types.ts';

export const HANDLED_STRIPE_EVENTS = [
  'issuing_authorization.created',
  'issuing_transaction.created',
] as const;

export type StripeConversion =
  | { kind: 'event'; stripeEventId: string; event: ContractEvent }
  | { kind: 'ignored'; stripeEventId?: string; reason: string }
  // sources: the texts sent for the merchant's fields, so the card-number guard's refusals come in the same
  // answer as these errors (see Conversion in types.ts).
  | { kind: 'invalid'; errors: FieldError[]; sources: SourceText[] };

const ENTRY_MODES: Record<string, EntryMode> = {
  chip: 'chip',
  contactless: 'contactless',
  swipe: 'magstripe',
  keyed_in: 'manual',
  online: 'ecommerce',
};

const optionalText = (max: number) => z.string().max(max).nullish();

const MerchantData = z.object({
  network_id: z.string().trim().min(1).max(64),
  name: optionalText(200),
  category_code: z.string().regex(/^\d{4}$/, 'must be a 4-digit merchant category code'),
  city: optionalText(100),
  state: optionalText(50),
  postal_code: optionalText(20),
  country: CountryCode.nullish(),
  terminal_id: optionalText(64),
});

const Currency = z
  .string()
  .refine((c) => /^[a-z]{3}$/i.test(c) && currencyCodes.code(c.toUpperCase()) !== undefined, {
    message: 'must be an ISO 4217 currency code',
  });

// Unix seconds; bounded at 9999-12-31T23:59:59Z so that converting it to a date can never throw.
const Created = z.number().int().positive().max(253_402_300_799, 'must be Unix seconds before year 10000');
const expandableId = (prefix: string) =>
  z.union([
    z.string().startsWith(prefix, `must be a ${prefix}… id`),
    z.object({ id: z.string().startsWith(prefix, `must be a ${prefix}… id`) }),
  ]);
const idOf = (value: string | { id: string }) => (typeof value === 'string' ? value : value.id);

const Authorization = z.object({
  id: z.string().startsWith('iauth_', 'must be an iauth_… id').max(255),
  object: z.literal('issuing.authorization'),
  amount: z.number().int().nonnegative(),
  approved: z.boolean(),
  authorization_method: z.string(),
  card: expandableId('ic_'),
  created: Created,
  currency: Currency,
  merchant_data: MerchantData,
  pending_request: z.object({ amount: z.number().int().nonnegative() }).nullish(),
  request_history: z
    .array(z.object({ approved: z.boolean(), authorization_code: z.string().nullish() }))
    .optional(),
});

const Transaction = z.object({
  id: z.string().startsWith('ipi_', 'must be an ipi_… id').max(255),
  object: z.literal('issuing.transaction'),
  amount: z
    .number()
    .int()
    .refine((n) => n !== 0, 'must not be zero'),
  authorization: expandableId('iauth_').nullish(),
  card: expandableId('ic_'),
  created: Created,
  currency: Currency,
  merchant_data: MerchantData,
  network_data: z.object({ authorization_code: z.string().nullish() }).nullish(),
  type: z.string(),
});

const Envelope = z.object({
  id: z.string().min(1).max(255),
  object: z.literal('event'),
  type: z.string().min(1),
  data: z.object({ object: z.record(z.string(), z.unknown()) }),
});

const issues = (error: z.ZodError, prefix: string): FieldError[] =>
  error.issues.map((issue) => ({
    path: [prefix, ...issue.path.map(String)].filter(Boolean).join('.') || '(body)',
    message: issue.message,
  }));

function merchantOf(data: z.infer<typeof MerchantData>): ContractEvent['merchant'] {
  const merchant: ContractEvent['merchant'] = { mid: data.network_id, mcc: data.category_code };
  if (data.name?.trim()) merchant.name = data.name.trim();
  if (data.city?.trim()) merchant.city = data.city.trim();
  if (data.state?.trim()) merchant.region = data.state.trim();
  if (data.postal_code?.trim()) merchant.postal_code = data.postal_code.trim();
  if (data.country) merchant.country = data.country;
  if (data.terminal_id?.trim()) merchant.terminal_id = data.terminal_id.trim();
  return merchant;
}

/** Our event's merchant fields → the Stripe fields they came from, for errors found after conversion. */
export const STRIPE_FIELD_OF: Readonly<Record<string, string>> = {
  'merchant.mid': 'data.object.merchant_data.network_id',
  'merchant.name': 'data.object.merchant_data.name',
  'merchant.city': 'data.object.merchant_data.city',
  'merchant.region': 'data.object.merchant_data.state',
  'merchant.postal_code': 'data.object.merchant_data.postal_code',
  'merchant.terminal_id': 'data.object.merchant_data.terminal_id',
};

const MERCHANT_DATA = 'data.object.merchant_data.';

/** The texts sent in `merchant_data` for each event field that comes from it. */
function merchantSources(object: Record<string, unknown>): SourceText[] {
  const data = object.merchant_data;
  if (typeof data !== 'object' || data === null) return [];
  const sources: SourceText[] = [];
  for (const [field, path] of Object.entries(STRIPE_FIELD_OF)) {
    const text = (data as Record<string, unknown>)[path.slice(MERCHANT_DATA.length)];
    if (typeof text === 'string') sources.push({ field: field as EventField, text });
  }
  return sources;
}

const invalid = (error: z.ZodError, object: Record<string, unknown>): StripeConversion => ({
  kind: 'invalid',
  errors: issues(error, 'data.object'),
  sources: merchantSources(object),
});

const isoSeconds = (seconds: number) => new Date(seconds * 1000).toISOString().replace('.000Z', 'Z');

/** Converts a parsed Stripe webhook event: an event to ingest, an acknowledged-and-ignored one, or field errors. */
export function convertStripeEvent(body: unknown): StripeConversion {
  const envelope = Envelope.safeParse(body);
  if (!envelope.success) return { kind: 'invalid', errors: issues(envelope.error, ''), sources: [] };
  const { type, data } = envelope.data;
  // The event id, type and transaction type are the sender's text, echoed in the 200 answer and never stored:
  // a card number in them is redacted like in any answer.
  const stripeEventId = redactCardNumbers(envelope.data.id);

  if (type === 'issuing_authorization.created') {
    const parsed = Authorization.safeParse(data.object);
    if (!parsed.success) return invalid(parsed.error, data.object);
    const auth = parsed.data;
    if (!auth.approved) return { kind: 'ignored', stripeEventId, reason: 'declined authorization' };
    const amount = auth.amount || auth.pending_request?.amount || 0;
    if (amount <= 0)
      return {
        kind: 'invalid',
        errors: [{ path: 'data.object.amount', message: 'an approved authorization must have an amount' }],
        sources: merchantSources(data.object),
      };
    const event: ContractEvent = {
      id: auth.id,
      type: 'authorization',
      occurred_at: isoSeconds(auth.created),
      card: { token: idOf(auth.card) },
      amount,
      currency: auth.currency.toUpperCase(),
      merchant: merchantOf(auth.merchant_data),
      original_id: null,
    };
    const approval = auth.request_history?.findLast((r) => r.approved && r.authorization_code);
    if (approval?.authorization_code) event.auth_code = approval.authorization_code;
    const entryMode = ENTRY_MODES[auth.authorization_method];
    if (entryMode) event.entry_mode = entryMode;
    return { kind: 'event', stripeEventId, event };
  }

  if (type === 'issuing_transaction.created') {
    const parsed = Transaction.safeParse(data.object);
    if (!parsed.success) return invalid(parsed.error, data.object);
    const txn = parsed.data;
    if (txn.type !== 'capture' && txn.type !== 'refund')
      return { kind: 'ignored', stripeEventId, reason: `transaction type ${redactCardNumbers(txn.type)}` };
    const event: ContractEvent = {
      id: txn.id,
      type: txn.type === 'capture' ? 'clearing' : 'refund',
      occurred_at: isoSeconds(txn.created),
      card: { token: idOf(txn.card) },
      amount: Math.abs(txn.amount),
      currency: txn.currency.toUpperCase(),
      merchant: merchantOf(txn.merchant_data),
      original_id: txn.authorization ? idOf(txn.authorization) : null,
    };
    if (txn.network_data?.authorization_code) event.auth_code = txn.network_data.authorization_code;
    return { kind: 'event', stripeEventId, event };
  }

  return { kind: 'ignored', stripeEventId, reason: `event type ${redactCardNumbers(type)} is not handled` };
}
