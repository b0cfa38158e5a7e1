// The seam where the rules engine plugs into the ingest transaction (src/actions implements it).
import type { ChangeSeqs } from './batch-write.ts';
import type { PendingEvent, StoredEvent } from './event-fields.ts';
import type { TakeBack } from './follower-links.ts';
import type { Conn, IngestTx } from './ingest-transaction.ts';

export interface Reserved {
  fired: Map<string, number>;
  actionIds: string[];
}

export interface ActionsHook {
  /**
   * Whether `reserve` may do anything for a batch of these events, judged by the trigger index as it stands,
   * and the change it reflects (`seq`). When it may not (and nothing else in the batch needs the transaction:
   * no follower to link), the batch commits in the same round trip as its write, guarded by `seq`: should a
   * trigger have changed since, nothing is written and the hook is asked again after `catchUpTriggers`.
   */
  mayReserve(events: readonly PendingEvent[]): { may: boolean; seq: number };
  /** Brings the trigger index up to `seq` at least (a value a batch write read). */
  catchUpTriggers(seq: number): Promise<void>;
  /**
   * Called inside the ingestion transaction (its connection, and a drizzle database on it) with the events that
   * are new in it (never a duplicate), after they are inserted and linked to their authorization, and the change
   * counters the write read (the index and grants must reflect at least those); whatever it writes commits or
   * rolls back with them. `alreadyCleared` names the new authorizations an earlier clearing was linked to (the
   * purchase was seen, and fired if it could, on that clearing); `earlierTakeBacks` are the refunds and
   * reversals stored before the batch that follow a purchase since it (one of its own, or, linked by card, an
   * older one): like the batch's own, they take back what that purchase used. Returns how many actions each
   * event caused (absent = 0) and the ids of the actions it wrote (dispatched once the transaction commits).
   */
  reserve(
    tx: IngestTx,
    newEvents: readonly StoredEvent[],
    context: {
      seqs: ChangeSeqs;
      alreadyCleared: ReadonlySet<string>;
      earlierTakeBacks: readonly TakeBack[];
    },
  ): Promise<Reserved>;

  /**
   * Settles links made after a purchase's own transaction, in the caller's transaction: refunds and reversals
   * linked once their authorization came (on the plain-authorization path, which links after its commit; in the
   * orphan sweep) give back; a clearing that fired alone and was then linked to an authorization that fired too
   * gives back its doubled firings.
   */
  settleLateLinks(
    conn: Conn,
    late: {
      takeBacks: readonly TakeBack[];
      doubles: readonly { clearingId: string; authorizationId: string }[];
    },
  ): Promise<void>;
}
