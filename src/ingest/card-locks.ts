// Serialises ingest transactions that touch the same card, so a purchase's events never pass each other unseen.
import type { PendingEvent } from './event-fields.ts';
import type { Conn } from './ingest-transaction.ts';

/**
 * Locks, for the rest of the transaction, the row of every enrolled card of `events` (found by fingerprint or
 * by the processor's card token, as the batch write finds them), in id order so two batches cannot deadlock.
 * Without it an authorization and its clearing stored by concurrent transactions cannot see each other, and
 * both fire the purchase: a second receipt or webhook the orphan sweep can no longer take back. With it the
 * later transaction reads the earlier one's events once that commits, and links to them.
 * Row locks, not advisory ones: a batch of 5,000 cards would take 5,000 entries of Postgres' shared lock table
 * (about 6,400 by default), and a few such batches at once fill it ("out of shared memory"). `for no key
 * update` is the weakest mode that excludes itself (it leaves the card's key free to reference).
 * Must be the transaction's first statement (before any other row lock), and is sent without waiting for the
 * write queued behind it: the server runs them in order, so it costs no round trip.
 */
export async function lockCards(tx: Conn, events: readonly PendingEvent[]): Promise<ReadonlySet<string>> {
  const cards = JSON.stringify(
    events.map((event) => [event.card.fingerprint ?? null, event.processorId, event.card.token ?? null]),
  );
  const rows = await tx<{ id: string }[]>`
    select distinct id from (
      select c.id
      from jsonb_array_elements(${cards}::text::jsonb) as x
      left join card_tokens t on x->>0 is null and t.processor_id = x->>1 and t.token = x->>2
      join cards c on c.fingerprint = coalesce(x->>0, t.fingerprint) and c.deleted_at is null
      order by c.id
      for no key update of c
    ) locked`.execute();
  return new Set(rows.map((row) => row.id));
}

/**
 * The write found a card the lock statement did not (enrolled, or a token linked to it, in between: most likely
 * while the batch waited for another card's lock). Its events were stored without the card's lock, so the
 * transaction is rolled back and tried again, and the next try locks that card too.
 */
export class UnlockedCardError extends Error {
  constructor() {
    super('a card was enrolled or linked while the batch took its card locks');
    this.name = 'UnlockedCardError';
  }
}

/** Throws UnlockedCardError when a stored event's card is not among the `locked` ones. */
export function assertCardsLocked(locked: ReadonlySet<string>, cardIds: Iterable<string | null>): void {
  for (const id of cardIds) if (id !== null && !locked.has(id)) throw new UnlockedCardError();
}
