// The ingest verb: validates raw events, swaps each PAN for its fingerprint, stores them batched.
import type { SourceText } from '../adapters/types.ts';
import type { CardKeys } from '../cards/card-keys.ts';
import { holdsCardNumber, redactCardNumbers } from '../cards/card-numbers.ts';
import type { Deps } from '../deps.ts';
import type { FieldError } from '../errors.ts';
import { guardCardNumbers, refusedCardNumbers } from './card-number-guard.ts';
import type { PendingEvent } from './event-fields.ts';
import { fastParseCardEvent } from './fast-validate.ts';
import { ingestedEvents } from './metrics.ts';
import { CardEventInput, type IngestResult } from './schema.ts';

export type { IngestResult } from './schema.ts';
export { CardEventBatch, CardEventInput, MAX_EVENTS_PER_REQUEST } from './schema.ts';

/**
 * The processor's id for an event we could not parse, when it is readable and could not be a PAN (nor hold
 * the event's own, which `errors` then name on `id`).
 */
function readableId(raw: unknown, errors: readonly FieldError[]): string | null {
  if (errors.some((e) => e.path === 'id')) return null;
  if (raw && typeof raw === 'object' && 'id' in raw) {
    const id = (raw as { id: unknown }).id;
    if (typeof id === 'string' && id.length > 0 && id.length <= 255 && !holdsCardNumber(id)) return id;
  }
  return null;
}

function toPending(processorId: string, event: CardEventInput, cardKeys: CardKeys): PendingEvent {
  return {
    processorId,
    externalId: event.id,
    type: event.type,
    occurredAt: event.occurred_at,
    // The PAN stops here: only its keyed fingerprint goes further.
    card:
      event.card.pan !== undefined
        ? { fingerprint: cardKeys.fingerprint(event.card.pan) }
        : { token: event.card.token! },
    amount: event.amount,
    currency: event.currency,
    mid: event.merchant.mid,
    merchantName: event.merchant.name ?? null,
    mcc: event.merchant.mcc ?? null,
    merchantCity: event.merchant.city ?? null,
    merchantRegion: event.merchant.region ?? null,
    merchantPostalCode: event.merchant.postal_code ?? null,
    merchantCountry: event.merchant.country ?? null,
    terminalId: event.merchant.terminal_id ?? null,
    authCode: event.auth_code ?? null,
    rrn: event.rrn ?? null,
    entryMode: event.entry_mode ?? null,
    originalExternalId: event.original_id ?? null,
  };
}

/**
 * Ingests card events for an authenticated processor. Each raw event (the contract's JSON shape, as sent
 * to `POST /v1/events`; adapters translate into it) is validated on its own, then passes the card-number
 * guard (card-number-guard.ts): a bad one is `rejected` with field errors that never quote a PAN, the others
 * are stored, references holding a card number as keyed hashes (`id` in the result is the stored one).
 * Resolves only after the new events are
 * committed (micro-batched with concurrent requests into one transaction), with one result per input event
 * in order: `accepted` (new; also for cards nobody enrolled, of which nothing is kept), `duplicate` (this
 * processor sent that id before, or earlier in the same call: `event_id` is the original's) or `rejected`.
 * `actions` is what the new event caused (the rules seam); 0 for duplicates and rejections.
 * `sources[i]`, from an adapter, holds the texts it cut or encoded into event i's fields, which the guard
 * checks too. Throws only when storage fails (the whole call then stored nothing new and may be retried).
 */
export async function ingestEvents(
  deps: Deps,
  processor: { id: string },
  rawEvents: readonly unknown[],
  sources?: readonly (readonly SourceText[])[],
): Promise<IngestResult[]> {
  const results: (IngestResult | undefined)[] = new Array(rawEvents.length);
  const pending: PendingEvent[] = [];
  const pendingAt: number[] = [];
  rawEvents.forEach((raw, index) => {
    const fast = fastParseCardEvent(raw);
    const parsed = fast !== null ? { success: true as const, data: fast } : CardEventInput.safeParse(raw);
    if (!parsed.success) {
      const errors: FieldError[] = parsed.error.issues.map((issue) => ({
        path: redactCardNumbers(issue.path.map(String).join('.')) || '(event)',
        message: redactCardNumbers(issue.message),
      }));
      // With the guard's refusals of the fields that are there: every error in one answer.
      errors.push(...refusedCardNumbers(raw, sources?.[index]));
      results[index] = {
        id: readableId(raw, errors),
        event_id: null,
        status: 'rejected',
        errors,
        actions: 0,
      };
      return;
    }
    const guarded = guardCardNumbers(parsed.data, deps.cardKeys, sources?.[index]);
    if (!guarded.ok) {
      results[index] = {
        id: readableId(raw, guarded.errors),
        event_id: null,
        status: 'rejected',
        errors: guarded.errors,
        actions: 0,
      };
      return;
    }
    pending.push(toPending(processor.id, guarded.event, deps.cardKeys));
    pendingAt.push(index);
  });

  const outcomes = await deps.ingestBatcher.submit(pending);
  const counts = { accepted: 0, duplicate: 0, unenrolled: 0, rejected: rawEvents.length - pending.length };
  outcomes.forEach((outcome, i) => {
    results[pendingAt[i]!] = {
      id: pending[i]!.externalId,
      event_id: outcome.eventId,
      status: outcome.status,
      actions: outcome.actions,
    };
    counts[outcome.status === 'accepted' && !outcome.enrolled ? 'unenrolled' : outcome.status]++;
  });
  for (const [status, count] of Object.entries(counts)) if (count > 0) ingestedEvents.inc({ status }, count);
  return results as IngestResult[];
}
