// Ingests ISO 8583 messages: converts each into the contract's event shape, then `ingestEvents`.
import { convertIso8583, ISO8583_ELEMENT_OF } from '../adapters/iso8583.ts';
import { redactCardNumbers } from '../cards/card-numbers.ts';
import type { Deps } from '../deps.ts';
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
  const at: number[] = [];
  messages.forEach((message, index) => {
    const converted = convertIso8583(message, now);
    if (!converted.ok) {
      // Paths name the message's keys, which the sender chose: a card number used as one is not echoed.
      const errors = converted.errors.map((e) => ({
        path: redactCardNumbers(e.path),
        message: redactCardNumbers(e.message),
      }));
      results[index] = { id: null, event_id: null, status: 'rejected', errors, actions: 0 };
      return;
    }
    events.push(converted.event);
    at.push(index);
  });
  if (events.length > 0) {
    const ingested = await ingestEvents(deps, processor, events);
    ingested.forEach((result, i) => {
      // Errors found after conversion (a card number in DE43, say) name the data element.
      const errors = result.errors?.map((e) => ({ ...e, path: ISO8583_ELEMENT_OF[e.path] ?? e.path }));
      results[at[i]!] = errors ? { ...result, errors } : result;
    });
  }
  return results as IngestResult[];
}
