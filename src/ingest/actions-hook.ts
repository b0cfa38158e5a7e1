// The seam where the rules engine plugs into the ingest transaction (today it reserves nothing).
import type { PendingEvent, StoredEvent } from './event-fields.ts';
import type { IngestTx } from './ingest-transaction.ts';

/**
 * Whether `evaluateAndReserve` may do anything for a batch of these events. When it may not (and nothing
 * else in the batch needs the transaction: no follower to link), the batch commits in the same round trip
 * as its write and the seam is not called. Today no trigger exists, so it never may; the rules engine
 * answers it from the triggers it holds.
 */
export function mayReserveActions(_events: readonly PendingEvent[]): boolean {
  return false;
}

/**
 * The seam where the rules engine and the action outbox plug in. Called inside the ingestion transaction
 * (its connection, and a drizzle database on it) with the events that are new in it (never a duplicate),
 * after they are inserted and linked to their authorization; whatever it writes commits or rolls back with
 * them. Returns how many actions each event caused (absent = 0). Today no trigger exists, so it reserves
 * nothing.
 */
export async function evaluateAndReserve(
  _tx: IngestTx,
  _newEvents: readonly StoredEvent[],
): Promise<Map<string, number>> {
  return new Map();
}
