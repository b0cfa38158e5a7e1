// Ingests Stripe Issuing webhooks: checks Stripe's signature, converts the event, then `ingestEvents`.
import { convertStripeEvent, STRIPE_FIELD_OF } from '../adapters/stripe-issuing.ts';
import { verifyStripeSignature } from '../adapters/stripe-signature.ts';
import type { Deps } from '../deps.ts';
import { AppError, type FieldError, invalidFields } from '../errors.ts';
import { getProcessor } from '../processors/processors.ts';
import { refusedCardNumbers } from './card-number-guard.ts';
import { ingestEvents } from './ingest.ts';

export type StripeWebhookOutcome =
  | {
      status: 'accepted' | 'duplicate';
      stripeEventId: string;
      id: string;
      eventId: string | null;
      actions: number;
    }
  | { status: 'ignored'; stripeEventId: string | null; reason: string };

// Verified against when the processor is unknown or holds no secret, so every refusal costs the same.
const DECOY_SECRET = 'whsec_decoy_never_matches_anything_0000';

/** The processor's Stripe endpoint secret, or undefined when it is unknown, disabled or holds none. */
async function stripeSecretOf(deps: Deps, processorId: string): Promise<string | undefined> {
  if (!/^prc_[A-Za-z0-9]{1,60}$/.test(processorId)) return undefined;
  try {
    const processor = await getProcessor(deps.db, processorId);
    if (processor.status !== 'active' || !processor.stripeEndpointSecretSealed) return undefined;
    return deps.secretBox.open(processor.stripeEndpointSecretSealed);
  } catch (error) {
    if (error instanceof AppError && error.code === 'not_found') return undefined;
    throw error;
  }
}

/**
 * Authenticates a Stripe webhook for a processor: `Stripe-Signature` over the raw body with that
 * processor's Stripe endpoint secret. An unknown or disabled processor, a missing secret and a bad
 * signature are the same `signature_invalid` (and cost the same), so the endpoint reveals nothing.
 */
export async function authenticateStripeWebhook(
  deps: Deps,
  processorId: string,
  signatureHeader: string | undefined,
  rawBody: string,
  now = new Date(),
): Promise<{ id: string }> {
  const secret = await stripeSecretOf(deps, processorId);
  const check = verifyStripeSignature(
    signatureHeader,
    rawBody,
    secret ?? DECOY_SECRET,
    Math.floor(now.getTime() / 1000),
  );
  if (!secret || !check.ok) {
    throw new AppError(
      'signature_invalid',
      'The Stripe-Signature header does not verify for this endpoint (t=…,v1=… with the endpoint secret, within 5 minutes).',
    );
  }
  return { id: processorId };
}

/** An error on an event field named as Stripe names the field it came from. */
const stripeNamed = (error: FieldError): FieldError => ({
  ...error,
  path: STRIPE_FIELD_OF[error.path] ?? error.path,
});

/**
 * Ingests one verified Stripe Issuing webhook event. Event types and declines we do not turn into events
 * are `ignored` (acknowledged, so Stripe stops retrying); a malformed handled event is a
 * `validation_failed` naming the Stripe fields.
 */
export async function ingestStripeEvent(
  deps: Deps,
  processor: { id: string },
  body: unknown,
): Promise<StripeWebhookOutcome> {
  const converted = convertStripeEvent(body);
  if (converted.kind === 'invalid') {
    // With the card-number guard's refusals of the merchant's fields: every error in one answer.
    throw invalidFields([
      ...converted.errors,
      ...refusedCardNumbers(undefined, converted.sources).map(stripeNamed),
    ]);
  }
  if (converted.kind === 'ignored')
    return { status: 'ignored', stripeEventId: converted.stripeEventId ?? null, reason: converted.reason };
  const [result] = await ingestEvents(deps, processor, [converted.event]);
  if (!result || result.status === 'rejected') {
    // Named as Stripe names them: a card number refused in merchant_data.postal_code, say.
    throw invalidFields((result?.errors ?? []).map(stripeNamed));
  }
  return {
    status: result.status,
    stripeEventId: converted.stripeEventId,
    id: result.id ?? '', // as stored: a keyed hash when the id held a card number
    eventId: result.event_id,
    actions: result.actions,
  };
}
