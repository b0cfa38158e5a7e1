import type { Deps } from '../deps.ts';
import { hashToken } from '../lib/secrets.ts';

/** Redis keys carry a hash of the email, never the address itself. */
const emailKey = (email: string) => hashToken(email.trim().toLowerCase());

/**
 * Counts a sign-in attempt against the email and the address (an IPv6 /64 as one, like every per-address
 * limit) before the password is checked, and refuses
 * (`rate_limited`, `retry_after` seconds) once either is over its limit. Counting first (one atomic
 * increment) means simultaneous guesses cannot all pass a check made before any of them was recorded.
 */
export async function consumeLoginAttempt(
  deps: Pick<Deps, 'limiters'>,
  email: string,
  ip: string,
): Promise<void> {
  const { loginsPerEmail, loginsPerAddress } = deps.limiters;
  const results = await Promise.allSettled([
    loginsPerEmail.consume(emailKey(email)),
    loginsPerAddress.consume(ip),
  ]);
  for (const result of results) if (result.status === 'rejected') throw result.reason;
}

/** A successful sign-in clears the email's count and gives the address its attempt back. */
export async function recordLoginSuccess(
  deps: Pick<Deps, 'limiters'>,
  email: string,
  ip: string,
): Promise<void> {
  const { loginsPerEmail, loginsPerAddress } = deps.limiters;
  await Promise.all([loginsPerEmail.reset(emailKey(email)), loginsPerAddress.refund(ip)]);
}
