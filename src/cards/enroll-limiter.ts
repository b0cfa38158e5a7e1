import type { Deps } from '../deps.ts';

/** Counts one enrollment attempt for the user; `rate_limited` (with `retry_after`) past the hourly limit. */
export async function consumeEnrollmentAttempt(deps: Pick<Deps, 'limiters'>, userId: string): Promise<void> {
  await deps.limiters.enrollments.consume(userId);
}
