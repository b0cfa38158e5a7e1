import type { Deps } from '../deps.ts';
import { EnrolledCardRefusal } from './cards.ts';

/**
 * Runs an enrollment under the user's limit of refused enrollments (`ENROLL_REFUSALS_PER_USER_PER_DAY`).
 * Only a number refused because it is enrolled counts (`EnrolledCardRefusal`): whether a number that passes
 * every local check is refused tells whether someone enrolled it. A typo (length, Luhn, scheme, expiry) can be
 * found on the user's own device and tells nothing, so it is not counted. The attempt is counted before it
 * runs, so simultaneous attempts cannot all pass a check made before any was recorded, and given back unless
 * the card was refused as enrolled. Past the limit every enrollment of the user is `rate_limited`.
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
    if (!(error instanceof EnrolledCardRefusal)) await limiter.refund(userId);
    throw error;
  }
}
