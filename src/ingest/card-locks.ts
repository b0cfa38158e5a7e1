// Serialises ingest transactions that touch the same card, so a purchase's events never pass each other unseen.
import type { PendingEvent } from './event-fields.ts';
import type { Conn } from './ingest-transaction.ts';

// The first key of the two-key advisory lock space: cards' locks never meet another advisory lock.
const CARD_LOCK_CLASS = 0x63617264; // 'card'

/**
 * Takes, for the rest of the transaction, a lock on every enrolled card of `events` (found by fingerprint or
 * by the processor's card token, as the batch write finds them), in one order so two batches cannot deadlock.
 * Without it an authorization and its clearing stored by concurrent transactions cannot see each other, and
 * both fire the purchase: a second receipt or webhook the orphan sweep can no longer take back. With it the
 * later transaction reads the earlier one's events once that commits, and links to them.
 * Must be the transaction's first statement (before any row lock), and is sent without waiting for the write
 * queued behind it: the server runs them in order, so it costs no round trip.
 */
export function lockCards(tx: Conn, events: readonly PendingEvent[]): Promise<unknown> {
  const cards = JSON.stringify(
    events.map((event) => [event.card.fingerprint ?? null, event.processorId, event.card.token ?? null]),
  );
  return tx`
    select count(pg_advisory_xact_lock(${CARD_LOCK_CLASS}::int, k)) from (
      select distinct hashtext(c.id) as k
      from jsonb_array_elements(${cards}::text::jsonb) as x
      left join card_tokens t on x->>0 is null and t.processor_id = x->>1 and t.token = x->>2
      join cards c on c.fingerprint = coalesce(x->>0, t.fingerprint) and c.deleted_at is null
      order by k
    ) ordered`.execute();
}
