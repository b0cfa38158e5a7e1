import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import type { Config } from '../config.ts';
import { AppError } from '../errors.ts';
import type { Redis } from '../redis.ts';
import { addressKey } from './address-key.ts';
import { CredentialCheckLimit } from './credential-checks.ts';

export interface LimitOptions {
  /** Names the limit's Redis keys (under `<QUEUE_PREFIX>:rl:`). */
  name: string;
  points: number;
  windowSeconds: number;
  /** Past the limit, the key stays refused for a whole window from then (else until its window ends). */
  block: boolean;
  /** Keys are client addresses, counted the way every per-address limit counts them (`addressKey`). */
  perAddress?: boolean;
  /** The `rate_limited` error's detail. */
  message: string;
}

/** A count of attempts per key within a window; past the limit it answers `rate_limited`. */
export class AttemptLimiter {
  readonly #limiter: RateLimiterRedis;

  constructor(
    redis: Redis,
    keyPrefix: string,
    readonly options: LimitOptions,
  ) {
    const { points, windowSeconds } = options;
    // In Redis, shared by every API process; if Redis is away the same limits hold per process in memory.
    this.#limiter = new RateLimiterRedis({
      storeClient: redis,
      keyPrefix: `${keyPrefix}:${options.name}`,
      points,
      duration: windowSeconds,
      ...(options.block ? { blockDuration: windowSeconds } : {}),
      insuranceLimiter: new RateLimiterMemory({ points, duration: windowSeconds }),
    });
  }

  #key(key: string): string {
    return this.options.perAddress ? addressKey(key) : key;
  }

  #limited(msBeforeNext: number): AppError {
    return new AppError('rate_limited', this.options.message, {
      extra: { retry_after: Math.max(1, Math.ceil(msBeforeNext / 1000)) },
    });
  }

  /** Counts one attempt for `key`; throws `rate_limited` (with `retry_after` seconds) once over the limit. */
  async consume(key: string): Promise<void> {
    try {
      await this.#limiter.consume(this.#key(key));
    } catch (error) {
      if (!(error instanceof RateLimiterRes)) throw error;
      throw this.#limited(error.msBeforeNext);
    }
  }

  /** The `rate_limited` error the next `consume` of `key` would throw, if it has no attempt left; counts nothing. */
  async refusal(key: string): Promise<AppError | undefined> {
    const state = await this.#limiter.get(this.#key(key));
    if (!state || state.consumedPoints < this.options.points) return undefined;
    return this.#limited(state.msBeforeNext);
  }

  /** Gives back an attempt counted by `consume` that turned out not to be refused. */
  async refund(key: string): Promise<void> {
    await this.#limiter.reward(this.#key(key), 1);
  }

  /** Forgets every attempt counted for `key`. */
  async reset(key: string): Promise<void> {
    await this.#limiter.delete(this.#key(key));
  }
}

export interface Limiters {
  /** Failed OAuth client authentications per client address; past it only known secrets are checked. */
  clientSecretFailures: CredentialCheckLimit;
  /** Failed processor api-key checks per client address; past it only known keys are checked. */
  apiKeyFailures: CredentialCheckLimit;
  /** Sign-in attempts per email, reset by a successful one. */
  loginsPerEmail: AttemptLimiter;
  /** Sign-in attempts per client address (many emails from one address), refunded by successful ones. */
  loginsPerAddress: AttemptLimiter;
  /**
   * Card enrollment attempts per user: a 409 tells whether a number is enrolled by someone, so attempts are
   * bounded to keep that from becoming an oracle over card numbers.
   */
  enrollments: AttemptLimiter;
  /** Card enrollments refused because the number is enrolled, per user (each says something about a card). */
  enrollRefusals: AttemptLimiter;
  /** Sign-ups refused because the email has an account, per client address (each says so of an email). */
  signupRefusals: AttemptLimiter;
}

/** The per-process limiters, over the fail-fast Redis connection. */
export function createLimiters(config: Config, redis: Redis): Limiters {
  const { limits } = config;
  const keyPrefix = `${config.queuePrefix}:rl`;
  const limiter = (options: LimitOptions) => new AttemptLimiter(redis, keyPrefix, options);
  const credentialLimit = (options: LimitOptions) =>
    new CredentialCheckLimit(redis, keyPrefix, limiter(options), limits.knownCredentialSeconds);
  return {
    clientSecretFailures: credentialLimit({
      name: 'client-secret',
      perAddress: true,
      points: limits.clientSecretFailuresPerIp,
      windowSeconds: limits.authFailureWindowSeconds,
      block: true,
      message: 'Too many failed client authentications from this address; try again later.',
    }),
    apiKeyFailures: credentialLimit({
      name: 'api-key',
      perAddress: true,
      points: limits.apiKeyFailuresPerIp,
      windowSeconds: limits.authFailureWindowSeconds,
      block: true,
      message: 'Too many requests with a wrong api key from this address; try again later.',
    }),
    loginsPerEmail: limiter({
      name: 'login:email',
      points: limits.loginFailuresPerEmail,
      windowSeconds: limits.loginFailureWindowSeconds,
      block: true,
      message: 'Too many sign-in attempts; try again later.',
    }),
    loginsPerAddress: limiter({
      name: 'login:ip',
      perAddress: true,
      points: limits.loginFailuresPerIp,
      windowSeconds: limits.loginFailureWindowSeconds,
      block: true,
      message: 'Too many sign-in attempts; try again later.',
    }),
    enrollments: limiter({
      name: 'enroll',
      points: limits.enrollmentsPerUserPerHour,
      windowSeconds: 60 * 60,
      block: false,
      message: 'Too many card enrollment attempts; try again later.',
    }),
    enrollRefusals: limiter({
      name: 'enroll-refused',
      points: limits.enrollRefusalsPerUserPerDay,
      windowSeconds: 24 * 60 * 60,
      block: true,
      message: 'Too many refused card enrollments; try again later.',
    }),
    signupRefusals: limiter({
      name: 'signup-refused',
      perAddress: true,
      points: limits.signupRefusalsPerIpPerHour,
      windowSeconds: 60 * 60,
      block: true,
      message:
        'Too many sign-ups for emails that already have an account from this address; try again later.',
    }),
  };
}
