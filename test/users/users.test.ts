import { describe, expect, it } from 'vitest';
import { createLimiters } from '../../src/limits/limiters.ts';
import { createRedis } from '../../src/redis.ts';
import { consumeLoginAttempt } from '../../src/sessions/login-limiter.ts';
import { usePlatform } from '../helpers/platform.ts';
import { form, hiddenFields, signUp, uniqueEmail } from '../oauth/support.ts';

const platform = usePlatform();

/** Users and sessions stored: what a refused sign-up or sign-in must leave as it was. */
const stored = async () => {
  const [row] = await platform.deps.sql`
    select (select count(*)::int from users) as users, (select count(*)::int from sessions) as sessions`;
  return row;
};

describe('sign-up', () => {
  it('creates a user, lower-cases the email and never returns or stores the password', async () => {
    const email = uniqueEmail('Ada').replace('ada', 'ADA');
    const res = await platform.request('POST', '/v1/users', {
      body: { email: email.toUpperCase(), password: 'a long enough password' },
    });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ object: 'user', email: email.toLowerCase() });
    expect(res.body.id).toMatch(/^usr_/);
    expect(res.text).not.toContain('password');
    const [row] = await platform.deps.sql`select password_hash from users where id = ${res.body.id}`;
    expect(row!.password_hash).toMatch(/^\$argon2id\$/);
  });

  it('refuses a second account for the same email (any case) with 409', async () => {
    const email = uniqueEmail();
    expect(
      (await platform.request('POST', '/v1/users', { body: { email, password: 'a long enough password' } }))
        .status,
    ).toBe(201);
    const before = await stored();
    const again = await platform.request('POST', '/v1/users', {
      body: { email: email.toUpperCase(), password: 'another password!' },
    });
    expect(again.status).toBe(409);
    expect(again.body.code).toBe('conflict');
    expect(await stored()).toEqual(before);
  });

  it.each([
    ['bad email', { email: 'not-an-email', password: 'a long enough password' }, 'email'],
    ['short password', { email: 'x@example.com', password: 'short' }, 'password'],
    ['missing password', { email: 'x@example.com' }, 'password'],
    ['unknown field', { email: 'x@example.com', password: 'a long enough password', admin: true }, '(body)'],
  ])('%s → 422 naming the field', async (_name, body, path) => {
    const before = await stored();
    const res = await platform.request('POST', '/v1/users', { body });
    expect(res.status).toBe(422);
    expect(res.body.code).toBe('validation_failed');
    expect(await stored()).toEqual(before);
    expect(res.headers.get('content-type')).toContain('application/problem+json');
    expect(res.body.errors.map((e: { path: string }) => e.path)).toContain(path);
  });

  it('replays the first answer for the same Idempotency-Key', async () => {
    const email = uniqueEmail();
    const body = { email, password: 'a long enough password' };
    const headers = { 'idempotency-key': `signup-${email}` };
    const first = await platform.request('POST', '/v1/users', { body, headers });
    const second = await platform.request('POST', '/v1/users', { body, headers });
    expect(first.status).toBe(201);
    expect(second.status).toBe(201);
    expect(second.body.id).toBe(first.body.id);
    expect(second.headers.get('idempotent-replayed')).toBe('true');
    const [{ count }] = (await platform.deps
      .sql`select count(*)::int as count from users where email = ${email}`) as any;
    expect(count).toBe(1);
  });
});

describe('sessions', () => {
  it('signs in with a bearer token and an HttpOnly SameSite=Lax cookie; both authenticate; sign-out ends it', async () => {
    const user = await signUp(platform);
    const res = await platform.request('POST', '/v1/sessions', {
      body: { email: user.email, password: user.password },
    });
    expect(res.status).toBe(200);
    expect(res.body.token).toMatch(/^ses_/);
    expect(res.body.user).toMatchObject({ id: user.id, email: user.email });
    const cookie = res.headers.get('set-cookie')!;
    expect(cookie).toContain(`cardlink_session=${res.body.token}`);
    expect(cookie).toMatch(/HttpOnly/i);
    expect(cookie).toMatch(/SameSite=Lax/i);
    expect(cookie).not.toMatch(/Secure/i); // PUBLIC_URL is http in tests

    const [stored] = await platform.deps
      .sql`select token_hash from sessions where user_id = ${user.id} limit 1`;
    expect(stored!.token_hash).not.toContain('ses_');

    expect((await platform.request('GET', '/v1/me', { token: res.body.token })).body.id).toBe(user.id);
    const viaCookie = await platform.request('GET', '/v1/me', {
      headers: { cookie: `cardlink_session=${res.body.token}` },
    });
    expect(viaCookie.body.id).toBe(user.id);

    expect((await platform.request('DELETE', '/v1/sessions/current', { token: res.body.token })).status).toBe(
      204,
    );
    const after = await platform.request('GET', '/v1/me', { token: res.body.token });
    expect(after.status).toBe(401);
    expect(after.body.code).toBe('unauthorized');
  });

  it('gives the same 401 for a wrong password and an unknown email', async () => {
    const user = await signUp(platform);
    const before = await stored();
    const wrong = await platform.request('POST', '/v1/sessions', {
      body: { email: user.email, password: 'wrong password!' },
    });
    const unknown = await platform.request('POST', '/v1/sessions', {
      body: { email: uniqueEmail('nobody'), password: 'whatever pass' },
    });
    expect(wrong.status).toBe(401);
    expect(unknown.status).toBe(401);
    expect([wrong.body.code, unknown.body.code]).toEqual(['unauthorized', 'unauthorized']);
    expect(await stored()).toEqual(before);
    expect(wrong.body.detail).toBe(unknown.body.detail);
  });

  it('refuses an expired session', async () => {
    const user = await signUp(platform);
    expect((await platform.request('GET', '/v1/me', { token: user.token })).status).toBe(200);
    await platform.deps
      .sql`update sessions set expires_at = now() - interval '1 second' where user_id = ${user.id}`;
    expect((await platform.request('GET', '/v1/me', { token: user.token })).status).toBe(401);
  });

  it('refuses a missing or forged session token', async () => {
    expect((await platform.request('GET', '/v1/me')).status).toBe(401);
    expect((await platform.request('GET', '/v1/me', { token: 'ses_forged' })).status).toBe(401);
  });

  it('locks an email after 5 failed attempts with 429 and Retry-After, even for the right password', async () => {
    const user = await signUp(platform);
    const before = await stored();
    for (let i = 0; i < 5; i++) {
      const res = await platform.request('POST', '/v1/sessions', {
        body: { email: user.email, password: `wrong ${i} password` },
      });
      expect(res.status).toBe(401);
      expect(res.body.code).toBe('unauthorized');
    }
    const locked = await platform.request('POST', '/v1/sessions', {
      body: { email: user.email, password: user.password },
    });
    expect(locked.status).toBe(429);
    expect(locked.body.code).toBe('rate_limited');
    expect(Number(locked.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(await stored()).toEqual(before);
    // Another account is not affected.
    const other = await signUp(platform);
    expect(
      (
        await platform.request('POST', '/v1/sessions', {
          body: { email: other.email, password: other.password },
        })
      ).status,
    ).toBe(200);
  });

  it('simultaneous guesses cannot slip past the per-email limit', async () => {
    const user = await signUp(platform);
    const before = await stored();
    const guesses = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        platform.request('POST', '/v1/sessions', {
          body: { email: user.email, password: `parallel guess ${i}` },
        }),
      ),
    );
    const statuses = guesses.map((res) => res.status);
    expect(statuses.filter((status) => status === 401).length).toBeLessThanOrEqual(5);
    expect(statuses.filter((status) => status === 429).length).toBeGreaterThanOrEqual(15);
    for (const res of guesses)
      expect(res.body.code).toBe(res.status === 429 ? 'rate_limited' : 'unauthorized');
    expect(await stored()).toEqual(before);
  });

  it('a successful sign-in clears earlier failures', async () => {
    const user = await signUp(platform);
    for (let round = 0; round < 2; round++) {
      for (let i = 0; i < 4; i++) {
        await platform.request('POST', '/v1/sessions', {
          body: { email: user.email, password: 'wrong password!' },
        });
      }
      const ok = await platform.request('POST', '/v1/sessions', {
        body: { email: user.email, password: user.password },
      });
      expect(ok.status).toBe(200);
    }
  });
});

describe('the login page', () => {
  async function loginPage(next?: string) {
    const page = await platform.request(
      'GET',
      `/login${next === undefined ? '' : `?next=${encodeURIComponent(next)}`}`,
    );
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toContain('text/html');
    const csrfCookie = page.headers.get('set-cookie')!.split(';')[0]!;
    return { fields: hiddenFields(page.text), csrfCookie };
  }

  it('signs in, sets the session cookie and goes to `next`', async () => {
    const user = await signUp(platform);
    const { fields, csrfCookie } = await loginPage('/oauth/authorize?client_id=x&state=a%20b');
    const body = form({ ...fields, email: user.email, password: user.password });
    const res = await platform.request('POST', '/login', {
      raw: body.raw,
      headers: { ...body.headers, cookie: csrfCookie },
    });
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/oauth/authorize?client_id=x&state=a%20b');
    const session = res.headers.get('set-cookie')!.match(/cardlink_session=([^;]+)/)![1]!;
    expect(
      (await platform.request('GET', '/v1/me', { headers: { cookie: `cardlink_session=${session}` } })).body
        .id,
    ).toBe(user.id);
  });

  const OFF_SITE = [
    'https://evil.example/steal',
    '//evil.example/steal',
    '/\\evil.example',
    'javascript:alert(1)',
    // Dot segments that normalise to a protocol-relative path.
    '/.//evil.example/x',
    '/..//evil.example/x',
    '/%2e//evil.example/x',
    '/./\\evil.example',
  ];

  it.each(OFF_SITE)(
    'a signed-in visit to sign-in or sign-up never leaves the site (next=%s)',
    async (next) => {
      const user = await signUp(platform);
      for (const page of ['/login', '/signup']) {
        const res = await platform.request('GET', `${page}?next=${encodeURIComponent(next)}`, {
          headers: { cookie: `cardlink_session=${user.token}` },
        });
        expect(res.status).toBe(302);
        expect(res.headers.get('location')).toBe('/account');
      }
    },
  );

  it.each(OFF_SITE)('never redirects off-site (next=%s)', async (next) => {
    const user = await signUp(platform);
    const { fields, csrfCookie } = await loginPage(next);
    expect(fields.next).toBe('/account');
    const body = form({ ...fields, next, email: user.email, password: user.password });
    const res = await platform.request('POST', '/login', {
      raw: body.raw,
      headers: { ...body.headers, cookie: csrfCookie },
    });
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/account');
  });

  it('an email with a NUL byte is a wrong email (401 page), not a 500', async () => {
    const { fields, csrfCookie } = await loginPage('/login');
    const before = await stored();
    const body = form({ ...fields, email: 'a\u0000@example.com', password: 'whatever it is' });
    const res = await platform.request('POST', '/login', {
      raw: body.raw,
      headers: { ...body.headers, cookie: csrfCookie },
    });
    expect(res.status).toBe(401);
    expect(res.text).toContain('Wrong email or password');
    expect(await stored()).toEqual(before);
  });

  it('re-renders with an error for a wrong password, and refuses a form without its CSRF cookie', async () => {
    const user = await signUp(platform);
    const { fields, csrfCookie } = await loginPage('/login');
    const before = await stored();
    const wrong = form({ ...fields, email: user.email, password: 'not the password' });
    const res = await platform.request('POST', '/login', {
      raw: wrong.raw,
      headers: { ...wrong.headers, cookie: csrfCookie },
    });
    expect(res.status).toBe(401);
    expect(res.text).toContain('Wrong email or password');
    expect(res.headers.get('set-cookie') ?? '').not.toContain('cardlink_session=');

    const forged = form({ ...fields, email: user.email, password: user.password });
    const noCookie = await platform.request('POST', '/login', forged);
    expect(noCookie.status).toBe(400);
    expect(noCookie.text).toContain('The form expired');
    expect(noCookie.headers.get('set-cookie') ?? '').not.toContain('cardlink_session=');
    expect(await stored()).toEqual(before);
  });

  it('refuses a CSRF pair chosen by whoever can set the cookie (the token is signed by the server)', async () => {
    const user = await signUp(platform);
    const before = await stored();
    const chosen = 'attacker-chosen-value-0123456789';
    const body = form({ next: '/login', csrf: chosen, email: user.email, password: user.password });
    const res = await platform.request('POST', '/login', {
      raw: body.raw,
      headers: { ...body.headers, cookie: `cardlink_login_csrf=${chosen}` },
    });
    expect(res.status).toBe(400);
    expect(res.headers.get('set-cookie') ?? '').not.toContain('cardlink_session=');
    // The page's own token pairs only with the nonce in the cookie it was issued with.
    const { fields } = await loginPage('/login');
    const other = form({ ...fields, email: user.email, password: user.password });
    const mismatched = await platform.request('POST', '/login', {
      raw: other.raw,
      headers: { ...other.headers, cookie: `cardlink_login_csrf=${chosen}` },
    });
    expect(mismatched.status).toBe(400);
    expect(mismatched.headers.get('set-cookie') ?? '').not.toContain('cardlink_session=');
    expect([res.text, mismatched.text]).toEqual([
      expect.stringContaining('The form expired'),
      expect.stringContaining('The form expired'),
    ]);
    expect(await stored()).toEqual(before);
  });
  it('signs only nonces it issued: a planted cookie is replaced, and its page token is refused with it', async () => {
    const user = await signUp(platform);
    const before = await stored();
    const planted = 'cardlink_login_csrf=attacker-chosen-nonce-0123456789';
    const page = await platform.request('GET', '/login', { headers: { cookie: planted } });
    const issued = page.headers.get('set-cookie')!.split(';')[0]!;
    expect(issued).toMatch(/^cardlink_login_csrf=[A-Za-z0-9_-]{20,64}\.[A-Za-z0-9_-]{43}$/);
    expect(issued).not.toBe(planted);
    const body = form({ ...hiddenFields(page.text), email: user.email, password: user.password });
    const withPlanted = await platform.request('POST', '/login', {
      raw: body.raw,
      headers: { ...body.headers, cookie: planted },
    });
    expect(withPlanted.status).toBe(400);
    expect(withPlanted.headers.get('set-cookie') ?? '').not.toContain('cardlink_session=');
    expect(await stored()).toEqual(before);
    const withIssued = await platform.request('POST', '/login', {
      raw: body.raw,
      headers: { ...body.headers, cookie: issued },
    });
    expect(withIssued.status).toBe(303);
  });
});

describe('login limits when Redis is unreachable', () => {
  it('fall back to the same limits in memory instead of failing or letting everything through', async () => {
    const dead = createRedis('redis://127.0.0.1:1', platform.deps.logger, 'probe');
    try {
      const deps = { limiters: createLimiters(platform.config, dead) };
      const email = uniqueEmail('offline');
      for (let i = 0; i < platform.config.limits.loginFailuresPerEmail; i++)
        await consumeLoginAttempt(deps, email, '192.0.2.1');
      await expect(consumeLoginAttempt(deps, email, '192.0.2.1')).rejects.toMatchObject({
        code: 'rate_limited',
      });
      await consumeLoginAttempt(deps, uniqueEmail('offline'), '192.0.2.1');
    } finally {
      dead.disconnect();
    }
  });
});

describe('the OpenAPI document', () => {
  it('documents every cardholder, OAuth and page route', async () => {
    const doc = await platform.request('GET', '/openapi.json');
    expect(doc.status).toBe(200);
    const paths = Object.keys(doc.body.paths);
    for (const path of [
      '/v1/users',
      '/v1/sessions',
      '/v1/sessions/current',
      '/v1/me',
      '/v1/me/cards',
      '/v1/me/cards/{id}',
      '/v1/me/grants',
      '/v1/me/grants/{app_id}',
      '/v1/me/grants/history',
      '/v1/users/{id}/consents',
      '/v1/cards',
      '/v1/cards/{id}',
      '/.well-known/oauth-authorization-server',
      '/.well-known/jwks.json',
      '/oauth/authorize',
      '/oauth/token',
      '/oauth/revoke',
      '/oauth/introspect',
      '/v1/oauth/keys/rotate',
      '/login',
      '/signup',
      '/logout',
      '/account',
      '/account/cards',
      '/account/cards/{id}/remove',
      '/account/apps/{app_id}',
      '/account/apps/{app_id}/disconnect',
    ]) {
      expect(paths).toContain(path);
    }
    expect(Object.keys(doc.body.components.securitySchemes)).toEqual(
      expect.arrayContaining(['sessionToken', 'appToken']),
    );
  });
});
