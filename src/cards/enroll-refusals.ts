import type { Deps } from '../deps.ts';
import { AppError } from '../errors.ts';

/** Refusals that say something about the card number sent (its form, its validity, whether it is enrolled). */
const isRefusal = (error: unknown) =>
  error instanceof AppError && (error.code === 'validation_failed' || error.code === 'conflict');

/**
 * Runs an enrollment under the user's limit of refused enrollments (`ENROLL_REFUSALS_PER_USER_PER_DAY`):
 * whether a valid number is refused tells whether someone enrolled it, so refusals are bounded. The attempt is
 * counted before it runs, so simultaneous attempts cannot all pass a check made before any was recorded, and
 * given back unless the card was refused. Past the limit every enrollment of the user is `rate_limited`.
 */
export async function withinEnrollRefusalLimit<T>(
  deps: Pick<Deps, 'limiters'>,
  userId: string,
  enroll: () => Promise<T>,
): Promise<T> {
  const limiter = deps.limiters.enrollRefusals;
  await limiter.consume(userId);
  try {
    const enrolled = await enroll();
    await limiter.refund(userId);
    return enrolled;
  } catch (error) {
    if (!isRefusal(error)) await limiter.refund(userId);
    throw error;
  }
}
