import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import type { Deps } from '../deps.ts';
import { AppError } from '../errors.ts';
import { hashToken } from '../lib/secrets.ts';

/** Redis keys carry a hash of the email, never the address itself. */
const emailKey = (email: string) => hashToken(email.trim().toLowerCase());

/** Failed sign-ins allowed per email within the window before the email is locked for the window. */
export const LOGIN_FAILURES_PER_EMAIL = 5;
/** Failed sign-ins allowed per client address within the window (many emails from one address). */
export const LOGIN_FAILURES_PER_IP = 100;
export const LOGIN_WINDOW_SECONDS = 15 * 60;

interface Limiters {
  email: RateLimiterRedis;
  ip: RateLimiterRedis;
}

const cache = new WeakMap<Deps, Limiters>();

/**
 * Limits live in Redis (shared by every API process) over the fail-fast connection. If Redis is away, an
 * in-process limiter with the same limits takes over (rate-limiter-flexible's insurance limiter), so sign-in
 * keeps working and stays limited per process instead of failing or going unlimited.
 */
function limiters(deps: Deps): Limiters {
  let found = cache.get(deps);
  if (!found) {
    const make = (name: string, points: number) =>
      new RateLimiterRedis({
        storeClient: deps.redisProbe,
        keyPrefix: `${deps.config.queuePrefix}:rl:login:${name}`,
        points,
        duration: LOGIN_WINDOW_SECONDS,
        blockDuration: LOGIN_WINDOW_SECONDS,
        insuranceLimiter: new RateLimiterMemory({ points, duration: LOGIN_WINDOW_SECONDS }),
      });
    found = { email: make('email', LOGIN_FAILURES_PER_EMAIL), ip: make('ip', LOGIN_FAILURES_PER_IP) };
    cache.set(deps, found);
  }
  return found;
}

const limited = (res: RateLimiterRes) =>
  new AppError('rate_limited', 'Too many sign-in attempts; try again later.', {
    extra: { retry_after: Math.max(1, Math.ceil(res.msBeforeNext / 1000)) },
  });

/**
 * Counts a sign-in attempt against the email and the address before the password is checked, and refuses
 * (429 `rate_limited`, `retry_after` seconds) once either is over its limit. Counting first (one atomic
 * increment) means simultaneous guesses cannot all pass a check made before any of them was recorded.
 */
export async function consumeLoginAttempt(deps: Deps, email: string, ip: string): Promise<void> {
  const { email: byEmail, ip: byIp } = limiters(deps);
  const results = await Promise.allSettled([byEmail.consume(emailKey(email)), byIp.consume(ip)]);
  for (const result of results) {
    if (result.status === 'fulfilled') continue;
    if (result.reason instanceof RateLimiterRes) throw limited(result.reason);
    throw result.reason;
  }
}

/** A successful sign-in clears the email's count and gives the address its attempt back. */
export async function recordLoginSuccess(deps: Deps, email: string, ip: string): Promise<void> {
  const { email: byEmail, ip: byIp } = limiters(deps);
  await Promise.all([byEmail.delete(emailKey(email)), byIp.reward(ip, 1)]);
}
