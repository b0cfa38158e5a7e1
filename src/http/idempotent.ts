import type { Context } from 'hono';
import type { Executor } from '../db/client.ts';
import { withIdempotency } from '../idempotency/idempotency.ts';
import type { AppEnv } from './env.ts';

/**
 * Runs a creating verb under the request's Idempotency-Key (per caller scope) and answers 201 with its
 * result, or replays the first answer with `Idempotent-Replayed: true`.
 */
export async function createdIdempotently<T extends object>(
  c: Context<AppEnv>,
  scope: string,
  body: unknown,
  run: (db: Executor) => Promise<T>,
) {
  const deps = c.get('deps');
  const result = await withIdempotency(
    deps,
    { scope, key: c.req.header('idempotency-key'), method: c.req.method, path: c.req.path, body },
    async (db) => ({ status: 201, body: await run(db) }),
  );
  if (result.replayed) c.header('idempotent-replayed', 'true');
  return c.json(result.body, result.status as 201);
}
