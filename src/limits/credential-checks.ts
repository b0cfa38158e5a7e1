import { hashToken } from '../lib/secrets.ts';
import type { Redis } from '../redis.ts';
import type { AttemptLimiter } from './limiters.ts';

export interface CredentialCheck<T> {
  /** The client's address (counted by `addressKey`). */
  address: string;
  /**
   * What identifies the credential presented, derived from the secret (a hash of it, never the secret), or
   * undefined when none was presented.
   */
  credential: string | undefined;
  /** This process has just seen the credential pass (so Redis need not be asked). */
  knownHere?: boolean;
  /** Whether an error of `verify` is a failed check (counted) rather than a refusal for another reason. */
  isFailure: (error: unknown) => boolean;
  /** The check itself: the database read and comparison the limit keeps an over-limit address from. */
  verify: () => Promise<T>;
  /** Whether a failure is counted here; false where the same request is checked and counted again later. */
  count?: boolean;
}

/**
 * A limit on failed credential checks per client address that refuses BEFORE checking: once an address is
 * over it, a credential is not looked up or compared, so a right guess is not confirmed and an unknown one
 * costs no database read. A credential that passed its check recently (from any address, remembered in Redis
 * for `knownForSeconds` as a hash of its identity) is still checked, so a working app or processor behind a
 * shared address (a NAT, a proxy) is never refused because of someone else's failures.
 */
export class CredentialCheckLimit {
  constructor(
    private readonly redis: Redis,
    private readonly keyPrefix: string,
    readonly failures: AttemptLimiter,
    private readonly knownForSeconds: number,
  ) {}

  #knownKey(credential: string): string {
    return `${this.keyPrefix}:known:${this.failures.options.name}:${hashToken(credential)}`;
  }

  /** Whether the credential passed its check within `knownForSeconds`. */
  async #isKnown(credential: string): Promise<boolean> {
    try {
      return (await this.redis.exists(this.#knownKey(credential))) === 1;
    } catch {
      // Redis away: check as if known (failures are still counted, in memory), rather than refuse a right key.
      return true;
    }
  }

  async #remember(credential: string): Promise<void> {
    // Best effort: a credential not remembered is still accepted wherever its address is under the limit.
    await this.redis.set(this.#knownKey(credential), '1', 'EX', this.knownForSeconds).catch(() => undefined);
  }

  /**
   * Runs `verify` under the limit: refused (`rate_limited`) without verifying when the address is over the
   * limit and the credential is not known to work; a failure is counted (and answered `rate_limited` once it
   * passes the limit); a success remembers the credential.
   */
  async check<T>(check: CredentialCheck<T>): Promise<T> {
    const { address, credential } = check;
    const count = check.count ?? true;
    const known = credential !== undefined && (check.knownHere === true || (await this.#isKnown(credential)));
    let counted = false;
    const refusal = known ? undefined : await this.failures.refusal(address);
    if (refusal) {
      if (!count) throw refusal;
      // Counting the refused attempt starts the block (a whole window from now) and throws `rate_limited`;
      // should the window have just ended instead, the attempt is counted and checked like any other.
      await this.failures.consume(address);
      counted = true;
    }
    let result: T;
    try {
      result = await check.verify();
    } catch (error) {
      const failed = check.isFailure(error);
      if (failed && count && !counted) await this.failures.consume(address);
      if (!failed && counted) await this.failures.refund(address);
      throw error;
    }
    if (counted) await this.failures.refund(address);
    if (credential !== undefined) await this.#remember(credential);
    return result;
  }
}
