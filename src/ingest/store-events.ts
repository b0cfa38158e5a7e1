// Stores a batch of events: in the ingest transaction, or (plain authorizations) as one statement.
import type { Db } from '../db/client.ts';
import { pgErrorCode } from '../errors.ts';
import { newId } from '../lib/ids.ts';
import type { Logger } from '../logger.ts';
import type { ActionsHook } from './actions-hook.ts';
import {
  type BatchWriteResult,
  resolveDuplicates,
  type StoreOutcome,
  storedEventsOf,
  writeEventBatch,
} from './batch-write.ts';
import { assertCardsLocked, lockCards } from './card-locks.ts';
import { eventKey, type PendingEvent, type StoredEvent } from './event-fields.ts';
import { linkEarlierFollowers, linkNewEvents } from './follower-links.ts';
import { type IngestTx, inTransaction, withRetries } from './ingest-transaction.ts';

export type { StoreOutcome } from './batch-write.ts';

export interface StoreOptions {
  /** The rules engine: what the batch's purchases fire, reserved in its transaction. */
  actions: ActionsHook;
  /** Where a failure of the work done after commit (linking earlier followers) is reported. */
  logger?: Logger;
  /** Told, once a batch committed, what it left for dispatch (must not throw; it never delays the answer). */
  committed?: (work: CommittedWork) => void;
}

/** What a committed batch left for dispatch. */
export interface CommittedWork {
  /** The actions it wrote (status `queued`). */
  actionIds: string[];
  /** Whether it linked clearings, refunds or reversals, which may have moved rewarded purchases. */
  followers: boolean;
}

/**
 * Stores normalised events in ONE transaction and returns, per input event and in order, its event id and
 * whether it is new or a resend. The same (processor, id) twice in `events` is stored once: the second is a
 * duplicate of the first. Retries the transaction on deadlock or serialization failure.
 *
 * A batch of authorizations for which the rules seam has nothing to do (the usual stream) is its write
 * statement alone, committed as it runs (no BEGIN or COMMIT: one round trip instead of two): what the
 * transaction would do after it only reads (the original ids of resent events) or links followers stored
 * earlier, which is done right after, in a transaction of its own, before the callers are answered. Should
 * that linking fail, the orphan sweep links them later (maintenance.ts).
 */
export async function storeEvents(
  db: Db,
  events: PendingEvent[],
  options: StoreOptions,
): Promise<StoreOutcome[]> {
  if (events.length === 0) return [];
  const firstIndex = new Map<string, number>();
  const unique: PendingEvent[] = [];
  const slot = events.map((event) => {
    const key = eventKey(event.processorId, event.externalId);
    let index = firstIndex.get(key);
    if (index === undefined) {
      index = unique.length;
      firstIndex.set(key, index);
      unique.push(event);
      return { index, repeat: false };
    }
    return { index, repeat: true };
  });
  let outcomes = await storeAsOneStatement(db, unique, options);
  if (!outcomes) {
    const stored = await withRetries((receivedAt, useMerchantZone) =>
      inTransaction(db.$client, (tx) =>
        storeInTransaction(tx, unique, receivedAt, useMerchantZone, options.actions),
      ),
    );
    outcomes = stored.outcomes;
    options.committed?.({
      actionIds: stored.actionIds,
      followers: unique.some((event) => event.type !== 'authorization'),
    });
  }
  return slot.map(({ index, repeat }) => {
    const outcome = outcomes[index]!;
    return repeat ? { ...outcome, status: 'duplicate' as const, actions: 0 } : outcome;
  });
}

/** The ingest transaction: the batch write, then linking and the rules seam on the events it stored. */
async function storeInTransaction(
  ingestTx: IngestTx,
  events: PendingEvent[],
  receivedAt: string,
  useMerchantZone: boolean,
  hook: ActionsHook,
): Promise<{ outcomes: StoreOutcome[]; actionIds: string[] }> {
  const tx = ingestTx.sql;
  const ids = events.map(() => newId('evt'));
  const locked = lockCards(tx, events);
  locked.catch(() => {}); // awaited with the write: should it fail, its error (not the write's) is thrown
  const [lockedCards, result] = await Promise.all([
    locked,
    writeEventBatch(tx, events, ids, receivedAt, useMerchantZone),
  ]);
  assertCardsLocked(
    lockedCards,
    result.storedRows.map((row) => row.card_id),
  );
  await resolveDuplicates(tx, events, result);
  const stored = storedEventsOf(events, ids, result);
  if (stored.length === 0) return { outcomes: result.outcomes, actionIds: [] };
  const links = await linkNewEvents(tx, stored, receivedAt, result.followersWaiting);
  return reserveActions(ingestTx, stored, result, links, hook);
}

/** Runs the rules seam on the new stored events and records how many actions each caused. */
async function reserveActions(
  ingestTx: IngestTx,
  stored: StoredEvent[],
  { outcomes, seqs }: BatchWriteResult,
  links: Awaited<ReturnType<typeof linkNewEvents>>,
  hook: ActionsHook,
): Promise<{ outcomes: StoreOutcome[]; actionIds: string[] }> {
  const { fired, actionIds } = await hook.reserve(ingestTx, stored, { seqs, ...links });
  for (const outcome of outcomes) {
    if (outcome.status === 'accepted') outcome.actions = fired.get(outcome.eventId) ?? 0;
  }
  return { outcomes, actionIds };
}

/**
 * A batch of authorizations no trigger can match: the batch write committed on its own, earlier followers linked
 * after. Null when the batch needs the transaction: it holds other events, or a trigger may match (judged by the
 * index as it stands, or, when a trigger changed meanwhile, by the index brought up to that change).
 */
async function storeAsOneStatement(
  db: Db,
  events: PendingEvent[],
  options: StoreOptions,
): Promise<StoreOutcome[] | null> {
  if (!events.every((event) => event.type === 'authorization')) return null;
  const pool = db.$client;
  const ids = events.map(() => newId('evt'));
  let result: BatchWriteResult;
  for (;;) {
    const { may, seq } = options.actions.mayReserve(events);
    if (may) return null;
    // One statement outside any transaction block is a transaction of its own: Postgres commits it before it
    // answers (ReadyForQuery, on which postgres.js resolves), and a failure leaves nothing of it.
    result = await withRetries((receivedAt, useMerchantZone) =>
      writeEventBatch(pool, events, ids, receivedAt, useMerchantZone, seq),
    );
    if (!result.stale) break;
    await options.actions.catchUpTriggers(result.seqs.triggers);
  }
  // Committed. Should reading the originals of resent events fail now, the callers' retry finds every event
  // of the batch stored and answers `duplicate` with its id: nothing is lost or stored twice.
  await resolveDuplicates(pool, events, result);
  if (result.followersWaiting && result.storedRows.length > 0) {
    // Only then are the stored events needed as objects (the usual batch builds none).
    const stored = storedEventsOf(events, ids, result);
    try {
      await withRetries(() =>
        inTransaction(pool, async (tx) => {
          // The new authorizations fired nothing (no trigger could match them); a refund or reversal of one that
          // came first still gives back what an earlier clearing of it fired.
          const { takeBacks } = await linkEarlierFollowers(tx.sql, stored, {
            receivedAt: result.receivedAt,
            followerIds: [], // authorizations only
          });
          if (takeBacks.length > 0) await options.actions.settleLateLinks(tx.sql, { takeBacks, doubles: [] });
        }),
      );
      options.committed?.({ actionIds: [], followers: true });
    } catch (error) {
      if (!options.logger) throw error;
      options.logger.warn(
        {
          err: { message: error instanceof Error ? error.message : String(error), code: pgErrorCode(error) },
        },
        'earlier followers not linked to new authorizations; the orphan sweep will link them',
      );
    }
  }
  return result.outcomes;
}
