import type { Db, Executor, Sql } from '../db/client.ts';
import type { Logger } from '../logger.ts';
import { createTriggerIndex, type TriggerIndex, upsertTrigger } from '../rules/trigger-index.ts';
import { readChangesSince, TRIGGERS_CHANNEL, type TriggerChangeNotice } from './changes.ts';

/**
 * This process's index of every trigger, kept in step with the database: LISTEN hears each change, and the change
 * counter (`trigger_changes.seq`) tells what was missed, so a dropped notification costs a delay, never a change.
 */
export interface TriggerRegistry {
  /** Listens and loads every trigger; idempotent, and called by the other methods, so it is lazy. */
  start(): Promise<void>;
  /** Applies every change committed before the call (coalesced with a read already in flight). */
  catchUp(): Promise<void>;
  /**
   * Resolves once the index reflects every change up to `seq` (a value read from `trigger_changes`). A catch-up
   * it needs reads through `via` when given (the caller's transaction, so that it never waits on the pool while
   * holding a connection; read committed, holding no trigger change of its own); a read already in flight, on
   * whichever connection, serves it.
   */
  syncTo(seq: number, via?: Executor): Promise<void>;
  /** The index as it stands and the last change it reflects (an empty index at 0 before `start`). */
  current(): { index: TriggerIndex; seq: number };
  /** Stops listening; a later use starts again from where it stood. */
  stop(): Promise<void>;
}

/** A registry over the pool (its LISTEN connection is postgres.js's own, opened by `start`). */
export function createTriggerRegistry(deps: { sql: Sql; db: Db; logger: Logger }): TriggerRegistry {
  const index = createTriggerIndex();
  let seen = 0;
  let starting: Promise<void> | null = null;
  let unlisten: (() => Promise<void>) | null = null;
  let reading: Promise<void> | null = null;
  let readAgain = false;

  async function readOnce(via: Executor) {
    const { counter, changed } = await readChangesSince(via, seen);
    for (const trigger of changed) {
      // An archived trigger leaves the index; a paused one stays for explanations but is in no list.
      upsertTrigger(index, trigger);
      seen = Math.max(seen, trigger.changeSeq);
    }
    seen = Math.max(seen, counter);
  }

  /**
   * One read at a time; a request during a read asks for one more, since its change may have missed the first.
   * They all go through the executor of the request that started them.
   */
  function catchUp(via: Executor = deps.db): Promise<void> {
    if (reading) {
      readAgain = true;
      return reading;
    }
    reading = (async () => {
      try {
        do {
          readAgain = false;
          await readOnce(via);
        } while (readAgain);
      } finally {
        reading = null;
      }
    })();
    return reading;
  }

  const catchUpLogged = () =>
    catchUp().catch((err: unknown) => deps.logger.error({ err }, 'trigger registry: catch-up failed'));

  function onNotice(payload: string) {
    let notice: Partial<TriggerChangeNotice> = {};
    try {
      notice = JSON.parse(payload) as TriggerChangeNotice;
    } catch {}
    if (typeof notice.seq === 'number' && notice.seq <= seen) return;
    void catchUpLogged();
  }

  function start(via?: Executor): Promise<void> {
    starting ??= (async () => {
      // Listen before reading, so a change committed in between is heard; postgres.js re-listens after a
      // reconnect and calls onlisten again, and the catch-up there reads whatever was said while it was away.
      // The first onlisten comes before `listen` resolves: the read just below, through `via`, covers it.
      const listening = await deps.sql.listen(TRIGGERS_CHANNEL, onNotice, () => {
        if (unlisten) void catchUpLogged();
      });
      unlisten = listening.unlisten;
      await catchUp(via);
    })().catch(async (err: unknown) => {
      // Undone whole, so the next use starts afresh rather than adding a second listener.
      starting = null;
      await unlisten?.().catch(() => {});
      unlisten = null;
      throw err;
    });
    return starting;
  }

  return {
    start,
    catchUp: async () => {
      await start();
      await catchUp();
    },
    syncTo: async (seq, via) => {
      await start(via);
      if (seen >= seq) return;
      await catchUp(via);
      if (seen < seq) throw new Error(`trigger change ${seq} has not committed (the counter is at ${seen})`);
    },
    current: () => ({ index, seq: seen }),
    stop: async () => {
      const started = starting;
      if (!started) return;
      starting = null;
      await started.catch(() => {});
      await unlisten?.();
      unlisten = null;
      await reading?.catch(() => {});
    },
  };
}
