import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import type { Config } from '../config.ts';
import { AppError } from '../errors.ts';
import type { Redis } from '../redis.ts';

/** A count of refused attempts per key within a window; past the limit it answers `rate_limited`. */
export class FailureLimiter {
  readonly #limiter: RateLimiterRedis;

  constructor(
    redis: Redis,
    keyPrefix: string,
    readonly points: number,
    readonly windowSeconds: number,
    readonly message: string,
  ) {
    // In Redis, shared by every API process; if Redis is away the same limits hold per process in memory.
    this.#limiter = new RateLimiterRedis({
      storeClient: redis,
      keyPrefix,
      points,
      duration: windowSeconds,
      blockDuration: windowSeconds,
      insuranceLimiter: new RateLimiterMemory({ points, duration: windowSeconds }),
    });
  }

  /** Counts one attempt for `key`; throws `rate_limited` (with `retry_after` seconds) once over the limit. */
  async consume(key: string): Promise<void> {
    try {
      await this.#limiter.consume(key);
    } catch (error) {
      if (!(error instanceof RateLimiterRes)) throw error;
      throw new AppError('rate_limited', this.message, {
        extra: { retry_after: Math.max(1, Math.ceil(error.msBeforeNext / 1000)) },
      });
    }
  }

  /** Gives back an attempt counted by `consume` that turned out not to be refused. */
  async refund(key: string): Promise<void> {
    await this.#limiter.reward(key, 1);
  }
}

export interface Limiters {
  /** Failed OAuth client authentications per client address. */
  clientSecretFailures: FailureLimiter;
  /** Failed processor api-key checks per client address. */
  apiKeyFailures: FailureLimiter;
  /** Refused card enrollments per user (each refusal says something about a card number). */
  enrollRefusals: FailureLimiter;
}

/** The per-process limiters, over the fail-fast Redis connection. */
export function createLimiters(config: Config, redis: Redis): Limiters {
  const prefix = `${config.queuePrefix}:rl`;
  const { limits } = config;
  return {
    clientSecretFailures: new FailureLimiter(
      redis,
      `${prefix}:client-secret`,
      limits.clientSecretFailuresPerIp,
      limits.authFailureWindowSeconds,
      'Too many failed client authentications from this address; try again later.',
    ),
    apiKeyFailures: new FailureLimiter(
      redis,
      `${prefix}:api-key`,
      limits.apiKeyFailuresPerIp,
      limits.authFailureWindowSeconds,
      'Too many requests with a wrong api key from this address; try again later.',
    ),
    enrollRefusals: new FailureLimiter(
      redis,
      `${prefix}:enroll-refused`,
      limits.enrollRefusalsPerUserPerDay,
      24 * 60 * 60,
      'Too many refused card enrollments; try again later.',
    ),
  };
}
