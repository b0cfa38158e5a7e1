import type { Deps } from '../deps.ts';
import { withinEnrollRefusalLimit } from './enroll-refusals.ts';

/** Counts one enrollment attempt for the user; `rate_limited` (with `retry_after`) past the hourly limit. */
export async function consumeEnrollmentAttempt(deps: Pick<Deps, 'limiters'>, userId: string): Promise<void> {
  await deps.limiters.enrollments.consume(userId);
}

/**
 * Runs an enrollment under both of the user's limits, as every way of adding a card must (the API and the
 * account page): attempts per hour, then refusals of enrolled numbers per day.
 */
export async function underEnrollmentLimits<T>(
  deps: Pick<Deps, 'limiters'>,
  userId: string,
  enroll: () => Promise<T>,
): Promise<T> {
  await consumeEnrollmentAttempt(deps, userId);
  return withinEnrollRefusalLimit(deps, userId, enroll);
}
