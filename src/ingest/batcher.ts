import type { Db } from '../db/client.ts';
import { ingestFlushEvents } from './metrics.ts';
import { type PendingEvent, type StoreOutcome, storeEvents } from './store.ts';

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
}

interface Waiting {
  events: PendingEvent[];
  resolve: (outcomes: StoreOutcome[]) => void;
  reject: (error: unknown) => void;
}

/**
 * Group commit for ingestion: events submitted by concurrent requests are stored together in one
 * transaction. A request never waits for a timer: the batch is cut on the next turn of the event loop when
 * a transaction slot is free, and while all slots are busy, arriving requests pile up for the next batch
 * (so the wait is at most one transaction, a few milliseconds). Each caller's promise settles after commit.
 */
export class MicroBatcher {
  readonly #db: Db;
  readonly #options: BatcherOptions;
  #waiting: Waiting[] = [];
  #waitingEvents = 0;
  #inFlight = 0;
  #scheduled = false;

  constructor(db: Db, options: BatcherOptions) {
    this.#db = db;
    this.#options = options;
  }

  /** Stores the events (with others' if they arrive together); resolves after commit, in input order. */
  submit(events: PendingEvent[]): Promise<StoreOutcome[]> {
    if (events.length === 0) return Promise.resolve([]);
    return new Promise((resolve, reject) => {
      this.#waiting.push({ events, resolve, reject });
      this.#waitingEvents += events.length;
      this.#schedule();
    });
  }

  #mayStart(): boolean {
    if (this.#waiting.length === 0 || this.#inFlight >= this.#options.maxInFlight) return false;
    return this.#inFlight === 0 || this.#waitingEvents >= this.#options.parallelFrom;
  }

  #schedule() {
    if (this.#scheduled || !this.#mayStart()) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      this.#flush();
    });
  }

  #flush() {
    if (!this.#mayStart()) return;
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
          storeEvents(this.#db, waiting.events).then(waiting.resolve, waiting.reject);
      })
      .finally(() => {
        this.#inFlight--;
        this.#schedule();
      });
    this.#schedule();
  }
}
