// Signing up from a client address, with the refusals that say an email has an account counted per address.
import type { Executor } from '../db/client.ts';
import type { UserRow } from '../db/schema/index.ts';
import { AppError } from '../errors.ts';
import type { Limiters } from '../limits/limiters.ts';
import { createUser } from './users.ts';

export interface SignUpDeps {
  db: Executor;
  limiters: Pick<Limiters, 'signupRefusals'>;
}

/**
 * Signs a cardholder up. A refusal because the email has an account tells the asker that it has one, so those
 * are counted per client address: past `SIGNUP_REFUSALS_PER_IP_PER_HOUR` the address may not sign up for the
 * rest of the hour, whatever the email (`rate_limited`), and the answers cannot be used to list who has one.
 * Counted before it runs (as `withinEnrollRefusalLimit`), so simultaneous attempts cannot all pass a check
 * made before any was recorded; given back unless the email has an account.
 */
export async function signUpFrom(
  deps: SignUpDeps,
  input: { email: string; password: string },
  address: string,
): Promise<UserRow> {
  const limiter = deps.limiters.signupRefusals;
  await limiter.consume(address);
  try {
    const user = await createUser(deps.db, input);
    await limiter.refund(address);
    return user;
  } catch (error) {
    if (!(error instanceof AppError && error.code === 'conflict')) await limiter.refund(address);
    throw error;
  }
}
