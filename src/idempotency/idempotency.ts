import { createHmac } from 'node:crypto';
import { and, eq, lt } from 'drizzle-orm';
import type { CardKeys } from '../cards/card-keys.ts';
import type { Db, Executor } from '../db/client.ts';
import { idempotencyKeys } from '../db/schema/index.ts';
import { AppError } from '../errors.ts';
import type { SecretBox } from '../lib/secrets.ts';

export const IDEMPOTENCY_TTL_MS = 24 * 60 * 60 * 1000;

export interface IdempotentRequest {
  /** Who is calling (`admin`, a processor id, an app id…): keys are per caller. */
  scope: string;
  key: string | undefined;
  /** Method, path and body: the same key with a different request is refused. */
  method: string;
  path: string;
  body: unknown;
}

export interface IdempotentResult<T> {
  status: number;
  body: T;
  replayed: boolean;
}

// Keyed, because the body may hold what must not be recoverable from a stored digest (a password, a card
// number: few enough candidates to try them all against a plain hash).
const requestHash = (req: IdempotentRequest, secretsKey: string) =>
  createHmac('sha256', secretsKey)
    .update(`idempotent request\u0000${req.method} ${req.path}\n${JSON.stringify(req.body ?? null)}`)
    .digest('hex');

/**
 * Runs a creating verb at most once per (scope, key) for 24 hours. The key's record and the verb's writes
 * commit in one transaction, so a crash can never leave one without the other; a concurrent second request
 * waits on the first's row lock and then replays its answer. The key and the request are stored only as
 * keyed hashes: the caller chose both, and either could hold anything, a card number included.
 */
export async function withIdempotency<T>(
  deps: { db: Db; secretBox: SecretBox; cardKeys: CardKeys; config: { secretsKey: string } },
  req: IdempotentRequest,
  run: (db: Executor) => Promise<{ status: number; body: T }>,
): Promise<IdempotentResult<T>> {
  if (!req.key) return { ...(await run(deps.db)), replayed: false };
  const hash = requestHash(req, deps.config.secretsKey);
  const storedKey = deps.cardKeys.identifier(req.key);
  const where = and(eq(idempotencyKeys.scope, req.scope), eq(idempotencyKeys.key, storedKey));

  return deps.db.transaction(async (tx) => {
    const claim = () =>
      tx
        .insert(idempotencyKeys)
        .values({ scope: req.scope, key: storedKey, requestHash: hash })
        .onConflictDoNothing()
        .returning({ key: idempotencyKeys.key });

    let claimed = (await claim()).length > 0;
    if (!claimed) {
      const [existing] = await tx.select().from(idempotencyKeys).where(where);
      if (!existing) {
        throw new AppError(
          'idempotency_key_in_use',
          'A request with this Idempotency-Key is being processed.',
        );
      }
      if (Date.now() - existing.createdAt.getTime() > IDEMPOTENCY_TTL_MS) {
        await tx.delete(idempotencyKeys).where(where);
        claimed = (await claim()).length > 0;
      } else if (existing.requestHash !== hash) {
        throw new AppError(
          'idempotency_key_reused',
          'This Idempotency-Key was already used with a different request.',
        );
      } else if (existing.statusCode === null || existing.responseSealed === null) {
        throw new AppError(
          'idempotency_key_in_use',
          'A request with this Idempotency-Key is being processed.',
        );
      } else {
        return {
          status: existing.statusCode,
          body: JSON.parse(deps.secretBox.open(existing.responseSealed)) as T,
          replayed: true,
        };
      }
    }
    if (!claimed)
      throw new AppError('idempotency_key_in_use', 'A request with this Idempotency-Key is being processed.');

    const result = await run(tx);
    await tx
      .update(idempotencyKeys)
      .set({ statusCode: result.status, responseSealed: deps.secretBox.seal(JSON.stringify(result.body)) })
      .where(where);
    return { ...result, replayed: false };
  });
}

/** Deletes records older than the 24-hour window; returns how many went. */
export async function purgeExpiredIdempotencyKeys(db: Executor, now = new Date()): Promise<number> {
  const cutoff = new Date(now.getTime() - IDEMPOTENCY_TTL_MS);
  const deleted = await db
    .delete(idempotencyKeys)
    .where(lt(idempotencyKeys.createdAt, cutoff))
    .returning({ key: idempotencyKeys.key });
  return deleted.length;
}
