// Ingests ISO 8583 messages: converts each into the contract's event shape, then `ingestEvents`.
import { convertIso8583, ISO8583_ELEMENT_OF } from '../adapters/iso8583.ts';
import type { SourceText } from '../adapters/types.ts';
import { redactCardNumbers } from '../cards/card-numbers.ts';
import type { Deps } from '../deps.ts';
import type { FieldError } from '../errors.ts';
import { refusedCardNumbers } from './card-number-guard.ts';
import { type IngestResult, ingestEvents } from './ingest.ts';

/**
 * Ingests ISO 8583 messages (JSON keyed by data element) for an authenticated processor: each message is
 * converted on its own (a bad one is `rejected` with errors naming its data elements), the rest go through
 * `ingestEvents` in one call. One result per message, in order.
 */
export async function ingestIso8583(
  deps: Deps,
  processor: { id: string },
  messages: readonly unknown[],
  now = new Date(),
): Promise<IngestResult[]> {
  const results: (IngestResult | undefined)[] = new Array(messages.length);
  const events: unknown[] = [];
  const sources: SourceText[][] = [];
  const at: number[] = [];
  messages.forEach((message, index) => {
    const converted = convertIso8583(message, now);
    if (!converted.ok) {
      // Paths name the message's keys, which the sender chose: a card number used as one is not echoed.
      const errors = uniqueErrors([
        ...converted.errors.map((e) => ({
          path: redactCardNumbers(e.path),
          message: redactCardNumbers(e.message),
        })),
        // With the card-number guard's refusals (DE43): every error in one answer.
        ...refusedCardNumbers(undefined, converted.sources).map(named),
      ]);
      results[index] = { id: null, event_id: null, status: 'rejected', errors, actions: 0 };
      return;
    }
    events.push(converted.event);
    sources.push(converted.sources);
    at.push(index);
  });
  if (events.length > 0) {
    const ingested = await ingestEvents(deps, processor, events, sources);
    ingested.forEach((result, i) => {
      // Errors found after conversion (a card number in DE43, say) name the data element, once.
      const errors = result.errors && uniqueErrors(result.errors.map(named));
      results[at[i]!] = errors ? { ...result, errors } : result;
    });
  }
  return results as IngestResult[];
}

/** An error on an event field named by the data element it came from. */
const named = (error: FieldError): FieldError => ({
  ...error,
  path: ISO8583_ELEMENT_OF[error.path] ?? error.path,
});

/** `errors` without repeats (name and city both come from DE43). */
function uniqueErrors(errors: FieldError[]): FieldError[] {
  const seen = new Set<string>();
  return errors.filter((e) => {
    const key = `${e.path}\u0000${e.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
