import { migrationsCurrent } from '../db/migrate.ts';
import type { Deps } from '../deps.ts';

export type CheckResult = 'ok' | string;

export interface Readiness {
  ready: boolean;
  checks: { postgres: CheckResult; redis: CheckResult; migrations: CheckResult };
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

const describe = (error: unknown) => (error instanceof Error ? error.message : String(error));

/** Checks Postgres, Redis and the migration level, each bounded in time; never throws. */
export async function checkReadiness(deps: Pick<Deps, 'sql' | 'redisProbe'>): Promise<Readiness> {
  const [postgres, redis, migrations] = await Promise.all([
    withTimeout(deps.sql`select 1`, 2000, 'postgres').then(
      () => 'ok',
      (error) => `unreachable: ${describe(error)}`,
    ),
    withTimeout(deps.redisProbe.ping(), 1000, 'redis').then(
      () => 'ok',
      (error) => `unreachable: ${describe(error)}`,
    ),
    withTimeout(migrationsCurrent(deps.sql), 2000, 'postgres').then(
      (current) => (current ? 'ok' : 'pending migrations'),
      (error) => `unknown: ${describe(error)}`,
    ),
  ]);
  return {
    ready: postgres === 'ok' && redis === 'ok' && migrations === 'ok',
    checks: { postgres, redis, migrations },
  };
}
