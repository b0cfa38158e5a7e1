import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import type { Deps } from '../deps.ts';
import { AppError } from '../errors.ts';

/**
 * Enrollment attempts allowed per user per hour. A 409 tells whether a number is enrolled by someone, so
 * attempts are bounded to keep that from becoming an oracle over card numbers.
 */
export const ENROLLMENTS_PER_USER_PER_HOUR = 20;

const cache = new WeakMap<Deps, RateLimiterRedis>();

function limiter(deps: Deps): RateLimiterRedis {
  let found = cache.get(deps);
  if (!found) {
    found = new RateLimiterRedis({
      storeClient: deps.redisProbe,
      keyPrefix: `${deps.config.queuePrefix}:rl:enroll`,
      points: ENROLLMENTS_PER_USER_PER_HOUR,
      duration: 60 * 60,
      // Same limits per process while Redis is unreachable.
      insuranceLimiter: new RateLimiterMemory({ points: ENROLLMENTS_PER_USER_PER_HOUR, duration: 60 * 60 }),
    });
    cache.set(deps, found);
  }
  return found;
}

/** Counts one enrollment attempt for the user; 429 `rate_limited` (with `retry_after`) past the limit. */
export async function consumeEnrollmentAttempt(deps: Deps, userId: string): Promise<void> {
  try {
    await limiter(deps).consume(userId);
  } catch (error) {
    if (!(error instanceof RateLimiterRes)) throw error;
    throw new AppError('rate_limited', 'Too many card enrollment attempts; try again later.', {
      extra: { retry_after: Math.max(1, Math.ceil(error.msBeforeNext / 1000)) },
    });
  }
}
