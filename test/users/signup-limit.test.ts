// A refused sign-up says the email has an account: those refusals are limited per client address, so the
// answers cannot list who has one.
import { expect, it } from 'vitest';
import { usePlatform } from '../helpers/platform.ts';
import { uniqueEmail } from '../oauth/support.ts';

const LIMIT = 3;
const platform = usePlatform({ env: { SIGNUP_REFUSALS_PER_IP_PER_HOUR: String(LIMIT) } });
const PASSWORD = 'correct horse battery';

const signUp = (email: string) =>
  platform.request('POST', '/v1/users', { body: { email, password: PASSWORD } });
const userCount = async () =>
  (await platform.deps.sql<{ n: number }[]>`select count(*)::int as n from users`)[0]!.n;

it('answers 409 for a registered email up to the limit, then 429 for any sign-up from that address', async () => {
  const taken = uniqueEmail('taken');
  expect((await signUp(taken)).status).toBe(201);
  // New emails are not refusals: they do not count.
  for (let i = 0; i < LIMIT + 2; i++) expect((await signUp(uniqueEmail('fresh'))).status).toBe(201);
  for (let i = 0; i < LIMIT; i++) expect((await signUp(taken)).status).toBe(409);

  const before = await userCount();
  const over = await signUp(taken);
  expect(over.status).toBe(429);
  expect(over.body).toMatchObject({ code: 'rate_limited', retry_after: expect.any(Number) });
  expect(Number(over.headers.get('retry-after'))).toBe(over.body.retry_after);
  // Blocked for the window: a new email from the address is refused too, and nothing is created.
  const fresh = await signUp(uniqueEmail('blocked'));
  expect(fresh.status).toBe(429);
  expect(await userCount()).toBe(before);
});

it('counts attempts in flight: a burst past the limit is 429 whatever the email, so it tells nothing', async () => {
  await platform.deps.limiters.signupRefusals.reset('unknown');
  const taken = uniqueEmail('burst-taken');
  expect((await signUp(taken)).status).toBe(201);
  const emails = Array.from({ length: 40 }, (_, i) => (i % 2 ? taken : uniqueEmail('burst')));
  const answers = await Promise.all(emails.map(signUp));
  const allowed = answers.filter((a) => a.status !== 429);
  // Only LIMIT attempts were ever in flight at once; every other answer is the same for taken and new emails.
  expect(allowed.length).toBeLessThanOrEqual(LIMIT);
  expect(answers.filter((a, i) => i % 2 === 1 && a.status === 409).length).toBeLessThanOrEqual(LIMIT);
  await platform.deps.limiters.signupRefusals.reset('unknown');
});
