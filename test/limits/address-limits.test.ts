import { describe, expect, it } from 'vitest';
import { AppError } from '../../src/errors.ts';
import { consumeLoginAttempt } from '../../src/sessions/login-limiter.ts';
import { usePlatform } from '../helpers/platform.ts';

const LIMIT = 3;
const platform = usePlatform({
  env: {
    LOGIN_FAILURES_PER_IP: String(LIMIT),
    LOGIN_FAILURES_PER_EMAIL: '100',
    API_KEY_FAILURES_PER_IP: String(LIMIT),
    CLIENT_SECRET_FAILURES_PER_IP: String(LIMIT),
  },
});

const refusal = (attempt: Promise<void>) =>
  attempt.then(
    () => undefined,
    (error: unknown) => (error instanceof AppError ? error.code : error),
  );

let email = 0;
const attempts = {
  'sign-in': (address: string) => consumeLoginAttempt(platform.deps, `user${email++}@example.test`, address),
  'api key': (address: string) => platform.deps.limiters.apiKeyFailures.failures.consume(address),
  'client secret': (address: string) => platform.deps.limiters.clientSecretFailures.failures.consume(address),
};

// Each limit counts under its own Redis keys, so the cases may share addresses.
describe.each(Object.entries(attempts))('the per-address %s limit', (_name, attempt) => {
  it('counts every address of one IPv6 /64 as one client', async () => {
    for (let i = 1; i <= LIMIT; i++) expect(await refusal(attempt(`2001:db8:a:b::${i}`))).toBeUndefined();
    expect(await refusal(attempt(`2001:db8:a:b:ffff:1:2:3`))).toBe('rate_limited');
    expect(await refusal(attempt(`2001:db8:a:c::1`))).toBeUndefined();
  });

  it('counts an IPv4-mapped IPv6 address as the IPv4 address', async () => {
    const v4 = `198.51.100.7`;
    for (let i = 0; i < LIMIT; i++) expect(await refusal(attempt(`::ffff:${v4}`))).toBeUndefined();
    expect(await refusal(attempt(v4))).toBe('rate_limited');
  });
});
