// Opens the ingest transaction (BEGIN pipelined with its first statement) and retries it.
import type postgres from 'postgres';
import { type Db, drizzleOver, type Sql } from '../db/client.ts';
import { pgErrorCode } from '../errors.ts';
import { UnlockedCardError } from './card-locks.ts';

/** A postgres.js connection: the pool (a statement then commits on its own) or one inside a transaction. */
export type Conn = postgres.ISql;

/** The ingestion transaction as the rules seam sees it: the connection, and drizzle over it when wanted. */
export interface IngestTx {
  sql: Sql;
  /** A drizzle database on the same connection, inside the same transaction (made on first use). */
  db(): Db;
  /**
   * Statements (not yet awaited) whose answers matter only as part of the commit: they go out together with
   * COMMIT, one round trip instead of two. Should one fail, the transaction aborts (COMMIT then rolls back) and
   * the failure is thrown: nothing of the transaction is kept.
   */
  sendWithCommit(statements: readonly PromiseLike<unknown>[]): void;
}

// postgres.js holds a write under 1 KiB back until the event loop's check phase, to send small queries
// together; under load that held the transaction's connection for the rest of a loop iteration
// (bench/README.md). BEGIN is padded to just under 1 KiB, so the statement queued after it pushes the write
// over and both go out at once; COMMIT past it, so it goes out at once. Postgres skips the comment.
const BEGIN = `begin /*${' '.repeat(1000)}*/`;
const COMMIT = `commit /*${' '.repeat(1024)}*/`;

/**
 * Runs `work` in one transaction on a reserved connection. BEGIN is not a round trip of its own: it is
 * written together with `work`'s first statement (postgres.js pipelines queries on a connection), so a
 * batch with nothing else to do costs two round trips, statement and COMMIT, instead of four with
 * `sql.begin` (BEGIN, statement, look-up, COMMIT).
 */
export async function inTransaction<T>(pool: Sql, work: (tx: IngestTx) => Promise<T>): Promise<T> {
  const conn = await pool.reserve();
  let db: Db | undefined;
  const begun = conn.unsafe(BEGIN).execute();
  begun.catch(() => {}); // awaited below; a failure must not surface as an unhandled rejection meanwhile
  try {
    // A reserved connection lacks the pool's `options`, which drizzle reads (and sets its parsers on): it
    // gets the pool's, whose parsers the pool's own drizzle already set, so nothing changes for the pool.
    const withCommit: PromiseLike<unknown>[] = [];
    const result = await work({
      sql: conn,
      db: () => (db ??= drizzleOver(Object.assign(conn, { options: pool.options }))),
      sendWithCommit: (statements) => withCommit.push(...statements),
    });
    await begun;
    // In order on the connection: the statements, then COMMIT.
    await Promise.all([...withCommit, conn.unsafe(COMMIT)]);
    return result;
  } catch (error) {
    // Rolls back whatever the failed statement left open; answers an error (ignored) if none is.
    await conn`rollback`.catch(() => {});
    await begun.catch(() => {});
    throw error;
  } finally {
    conn.release();
  }
}

// Deadlock and serialization failures are retried; 22023 (time zone not recognised) would mean a merchant
// time zone Postgres does not know: the batch is retried with UTC for those rather than lost.
const RETRYABLE = new Set(['40P01', '40001']);

/**
 * Runs a transaction (given when it is received and whether merchant time zones apply) up to 3 times: again
 * on deadlock or serialization failure, or when a card appeared after its locks were taken (card-locks.ts), and
 * without merchant zones when Postgres does not know one.
 */
export async function withRetries<T>(
  attempt: (receivedAt: string, useMerchantZone: boolean) => Promise<T>,
): Promise<T> {
  let useMerchantZone = true;
  for (let tries = 1; ; tries++) {
    try {
      return await attempt(new Date().toISOString(), useMerchantZone);
    } catch (error) {
      if (error instanceof UnlockedCardError && tries < 3) continue;
      const code = pgErrorCode(error);
      if (tries >= 3 || !code) throw error;
      if (code === '22023' && useMerchantZone) useMerchantZone = false;
      else if (!RETRYABLE.has(code)) throw error;
    }
  }
}
