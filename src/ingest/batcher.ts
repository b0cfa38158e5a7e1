// Group commit: gathers the events of concurrent requests into shared store transactions.
import type { Db } from '../db/client.ts';
import type { Logger } from '../logger.ts';
import type { ActionsHook } from './actions-hook.ts';
import type { PendingEvent } from './event-fields.ts';
import { ingestFlushEvents } from './metrics.ts';
import { type CommittedWork, type StoreOutcome, storeEvents } from './store-events.ts';

export interface BatcherOptions {
  /** Transactions allowed in flight at once; further requests queue and join the next one. */
  maxInFlight: number;
  /** Events per transaction at most (a request is never split, so one large request may exceed it). */
  maxEvents: number;
  /**
   * A second transaction starts beside a running one only when at least this many events wait: small
   * requests then gather into larger batches (fewer round trips per event), large ones use both cores.
   */
  parallelFrom: number;
  /** ...or when the oldest waiting request has waited this long (ms): fewer events never wait longer. */
  maxWaitMs: number;
  /** The rules engine each transaction runs (see `storeEvents`). */
  actions: ActionsHook;
  /** Where failures after a commit are reported (see `storeEvents`). */
  logger?: Logger;
  /** Told what each committed batch left for dispatch (see `storeEvents`). */
  committed?: (work: CommittedWork) => void;
}

interface Waiting {
  /** performance.now() when submitted. */
  at: number;
  events: PendingEvent[];
  resolve: (outcomes: StoreOutcome[]) => void;
  reject: (error: unknown) => void;
}

/**
 * Group commit for ingestion: events submitted by concurrent requests are stored together in one
 * transaction. When nothing is being stored the batch is cut on the next turn of the event loop; beside
 * running transactions a new one opens once `parallelFrom` events wait or the oldest has waited `maxWaitMs`;
 * while all slots are busy, arriving requests pile up for the next batch (so the wait is at most one
 * transaction, or `maxWaitMs`). Each caller's promise settles after commit.
 */
export class MicroBatcher {
  readonly #db: Db;
  readonly #options: BatcherOptions;
  #waiting: Waiting[] = [];
  #waitingEvents = 0;
  #inFlight = 0;
  #scheduled = false;
  #timer: NodeJS.Timeout | undefined;

  constructor(db: Db, options: BatcherOptions) {
    this.#db = db;
    this.#options = options;
  }

  /** Transactions running now. */
  get inFlight(): number {
    return this.#inFlight;
  }

  /** Stores the events (with others' if they arrive together); resolves after commit, in input order. */
  submit(events: PendingEvent[]): Promise<StoreOutcome[]> {
    if (events.length === 0) return Promise.resolve([]);
    return new Promise((resolve, reject) => {
      this.#waiting.push({ at: performance.now(), events, resolve, reject });
      this.#waitingEvents += events.length;
      this.#schedule();
    });
  }

  #mayStart(waitedEnough = false): boolean {
    if (this.#waiting.length === 0 || this.#inFlight >= this.#options.maxInFlight) return false;
    return waitedEnough || this.#inFlight === 0 || this.#waitingEvents >= this.#options.parallelFrom;
  }

  #schedule() {
    if (this.#scheduled) return;
    if (this.#mayStart()) {
      this.#scheduled = true;
      setImmediate(() => {
        this.#scheduled = false;
        this.#flush();
      });
    } else if (this.#timer === undefined && this.#mayStart(true)) {
      // A slot is free but too few events wait to open a transaction beside the running ones: they get one
      // once the oldest has waited maxWaitMs (counting time spent while every slot was busy), unless a running
      // one finishes (or more arrive) first.
      const waited = performance.now() - this.#waiting[0]!.at;
      this.#timer = setTimeout(
        () => {
          this.#timer = undefined;
          this.#flush(true);
        },
        Math.max(0, this.#options.maxWaitMs - waited),
      );
    }
  }

  #flush(waitedEnough = false) {
    if (!this.#mayStart(waitedEnough)) return;
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    const batch: Waiting[] = [];
    let count = 0;
    while (this.#waiting.length > 0) {
      const next = this.#waiting[0]!;
      if (batch.length > 0 && count + next.events.length > this.#options.maxEvents) break;
      batch.push(this.#waiting.shift()!);
      count += next.events.length;
    }
    this.#waitingEvents -= count;
    this.#inFlight++;
    storeEvents(
      this.#db,
      batch.flatMap((waiting) => waiting.events),
      this.#options,
    )
      .then((outcomes) => {
        ingestFlushEvents.observe(count);
        let offset = 0;
        for (const waiting of batch) {
          waiting.resolve(outcomes.slice(offset, offset + waiting.events.length));
          offset += waiting.events.length;
        }
      })
      .catch((error: unknown) => {
        // One caller's events must not fail the others grouped with them: each is retried alone.
        if (batch.length === 1) {
          batch[0]!.reject(error);
          return;
        }
        for (const waiting of batch)
          storeEvents(this.#db, waiting.events, this.#options).then(waiting.resolve, waiting.reject);
      })
      .finally(() => {
        this.#inFlight--;
        this.#schedule();
      });
    this.#schedule();
  }
}
