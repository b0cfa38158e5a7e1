import type { ZodError } from 'zod';
import { AppError, invalidFields } from '../errors.ts';
import { type IngestResult, MAX_EVENTS_PER_REQUEST } from '../ingest/schema.ts';
import { fieldErrors } from './router.ts';

/*
 * The envelope of the ingestion routes (`POST /v1/events` on both of its paths, `/v1/events/iso8583`): one
 * item, or a batch `{ "<items>": [...] }`. Only the envelope can fail the whole request; each item is
 * validated on its own by ingestion, so one bad item in a batch is rejected alone.
 */

/**
 * Route hook for the batch routes: only the envelope's own validation fails the request. The router's
 * default hook also refuses the whole request when any string holds a NUL; here each event is validated on
 * its own (control characters, NUL included, are refused per field), so one bad event is `rejected` alone
 * as the contract requires, and nothing with a NUL reaches Postgres.
 */
export function envelopeOnlyHook(
  result: { success: true } | { success: false; error: ZodError; target: string },
): undefined {
  if (!result.success) {
    throw new AppError('validation_failed', 'The request has invalid fields.', {
      errors: fieldErrors(result.error, result.target),
    });
  }
  return undefined;
}

/**
 * The items of a batch body (`events`, or `messages` for ISO 8583), 1 to 1000 and nothing beside them; null
 * when the body is one item itself.
 */
export function batchOf(
  body: Record<string, unknown>,
  field: 'events' | 'messages' = 'events',
): unknown[] | null {
  if (!(field in body)) return null;
  const item = field.slice(0, -1);
  const extra = Object.keys(body).filter((key) => key !== field);
  if (extra.length > 0) {
    // The keys are the sender's (a card number, even): the problem body redacts them on the way out.
    throw invalidFields(extra.map((key) => ({ path: key, message: `is not allowed beside \`${field}\`` })));
  }
  const items = body[field];
  if (!Array.isArray(items)) throw invalidFields([{ path: field, message: `must be an array of ${field}` }]);
  if (items.length === 0) throw invalidFields([{ path: field, message: `must hold at least one ${item}` }]);
  if (items.length > MAX_EVENTS_PER_REQUEST) {
    throw invalidFields([
      { path: field, message: `must hold at most ${MAX_EVENTS_PER_REQUEST} ${field} per request` },
    ]);
  }
  return items;
}

/**
 * A request of one event is that event: when it was rejected (and so nothing was stored), the request is
 * refused with its field errors. Null when it was accepted or a duplicate.
 */
export function singleEventRejection(result: IngestResult): AppError | null {
  if (result.status !== 'rejected') return null;
  return invalidFields(
    (result.errors ?? []).map((e) => ({
      path: e.path === '(event)' ? '(body)' : e.path,
      message: e.message,
    })),
  );
}
