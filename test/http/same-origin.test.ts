import { beforeAll, describe, expect, it } from 'vitest';
import { usePlatform } from '../helpers/platform.ts';
import {
  authorizeQuery,
  CARDS,
  form,
  hiddenFields,
  pkcePair,
  registerApp,
  signUp,
  type TestApp,
} from '../oauth/support.ts';

const platform = usePlatform();
const nextYear = new Date().getUTCFullYear() + 1;
const OWN = 'http://cardlink.test';

/** Headers of a cross-site request made by a browser that holds the user's session cookie. */
const foreign = {
  'https://evil.example': { origin: 'https://evil.example' },
  null: { origin: 'null' },
  'a sibling port': { origin: 'http://cardlink.test:8080' },
  'no Origin, Sec-Fetch-Site cross-site': { 'sec-fetch-site': 'cross-site' },
  'no Origin, Sec-Fetch-Site same-site': { 'sec-fetch-site': 'same-site' },
} satisfies Record<string, Record<string, string>>;

let app: TestApp;
beforeAll(async () => {
  app = await registerApp(platform, { name: 'Origin Test', scopes: ['transactions'] });
});

const cardsOf = async (token: string) =>
  (await platform.request('GET', '/v1/me/cards', { token })).body.data as unknown[];
const grantsOf = async (token: string) =>
  (await platform.request('GET', '/v1/me/grants', { token })).body.data as unknown[];
/** Sessions and authorization codes stored for a user, which the listings above do not show. */
const storedFor = async (userId: string) => {
  const [row] = await platform.deps.sql`
    select (select count(*)::int from sessions where user_id = ${userId}) as sessions,
           (select count(*)::int from oauth_codes where user_id = ${userId}) as codes`;
  return row;
};

describe('state-changing requests authenticated by the session cookie', () => {
  it.each(Object.entries(foreign))(
    'are refused from %s (403 forbidden, nothing changes)',
    async (_, headers) => {
      const user = await signUp(platform, 'cross');
      const cookie = `cardlink_session=${user.token}`;
      const enroll = await platform.request('POST', '/v1/me/cards', {
        body: { pan: CARDS.visa, exp_month: 1, exp_year: nextYear },
        headers: { ...headers, cookie },
      });
      expect(enroll.status).toBe(403);
      expect(enroll.body.code).toBe('forbidden');
      expect(await cardsOf(user.token)).toEqual([]);

      const grant = await platform.request('POST', '/v1/me/grants', {
        body: { app_id: app.id, scopes: ['transactions'] },
        headers: { ...headers, cookie },
      });
      expect(grant.status).toBe(403);
      expect(grant.body.code).toBe('forbidden');
      expect(await grantsOf(user.token)).toEqual([]);

      await platform.request('POST', '/v1/me/grants', {
        token: user.token,
        body: { app_id: app.id, scopes: ['transactions'] },
      });
      const revoke = await platform.request('DELETE', `/v1/me/grants/${app.id}`, {
        headers: { ...headers, cookie },
      });
      expect(revoke.status).toBe(403);
      expect(revoke.body.code).toBe('forbidden');
      expect(await grantsOf(user.token)).toHaveLength(1);

      const signOut = await platform.request('DELETE', '/v1/sessions/current', {
        headers: { ...headers, cookie },
      });
      expect(signOut.status).toBe(403);
      expect(signOut.body.code).toBe('forbidden');
      expect(await cardsOf(user.token)).toEqual([]);
      expect(await storedFor(user.id)).toEqual({ sessions: 1, codes: 0 });
    },
  );

  it.each(['', ' '])(
    'are refused from another site when an empty Authorization header (%j) comes with the cookie',
    async (authorization) => {
      const user = await signUp(platform, 'empty-auth');
      const enroll = await platform.request('POST', '/v1/me/cards', {
        body: { pan: CARDS.visa, exp_month: 1, exp_year: nextYear },
        headers: { origin: 'https://evil.example', cookie: `cardlink_session=${user.token}`, authorization },
      });
      expect(enroll.status).toBe(403);
      expect(enroll.body.code).toBe('forbidden');
      expect(await cardsOf(user.token)).toEqual([]);
    },
  );

  it('are accepted from our own origin, and without Origin from a non-browser client', async () => {
    const user = await signUp(platform, 'own');
    const cookie = `cardlink_session=${user.token}`;
    const own = await platform.request('POST', '/v1/me/cards', {
      body: { pan: CARDS.mastercard, exp_month: 1, exp_year: nextYear },
      headers: { origin: OWN, 'sec-fetch-site': 'same-origin', cookie },
    });
    expect(own.status).toBe(201);
    const noOrigin = await platform.request('POST', '/v1/me/grants', {
      body: { app_id: app.id, scopes: ['transactions'] },
      headers: { cookie },
    });
    expect(noOrigin.status).toBe(201);
  });

  it('reads with the cookie and bearer-token requests are not affected by Origin', async () => {
    const user = await signUp(platform, 'bearer');
    const read = await platform.request('GET', '/v1/me/cards', {
      headers: { origin: 'https://evil.example', cookie: `cardlink_session=${user.token}` },
    });
    expect(read.status).toBe(200);
    const enroll = await platform.request('POST', '/v1/me/cards', {
      token: user.token,
      body: { pan: CARDS.amex, exp_month: 1, exp_year: nextYear },
      headers: { origin: 'https://evil.example' },
    });
    expect(enroll.status).toBe(201);
  });
});

describe('the forms', () => {
  it.each(Object.entries(foreign))('sign-in from %s is refused and signs nobody in', async (_, headers) => {
    const user = await signUp(platform, 'login-csrf');
    const page = await platform.request('GET', '/login');
    const csrfCookie = page.headers.get('set-cookie')!.split(';')[0]!;
    const body = form({ ...hiddenFields(page.text), email: user.email, password: user.password });
    const res = await platform.request('POST', '/login', {
      raw: body.raw,
      headers: { ...body.headers, ...headers, cookie: csrfCookie },
    });
    expect(res.status).toBe(403);
    expect(res.headers.get('set-cookie') ?? '').not.toContain('cardlink_session=');
    expect(await storedFor(user.id)).toEqual({ sessions: 1, codes: 0 });
    // Most often the page was opened at another address (127.0.0.1 for localhost): say which one to use.
    expect(res.text).toContain(`This site’s address is ${OWN} (PUBLIC_URL)`);
  });

  it.each(Object.entries(foreign))(
    'a consent decision from %s is refused and grants nothing',
    async (_, headers) => {
      const user = await signUp(platform, 'consent-csrf');
      const cookie = `cardlink_session=${user.token}`;
      const page = await platform.request(
        'GET',
        authorizeQuery(app, {
          scope: 'transactions',
          code_challenge: pkcePair().challenge,
          code_challenge_method: 'S256',
        }),
        { headers: { cookie } },
      );
      expect(page.status).toBe(200);
      const body = form({ ...hiddenFields(page.text), decision: 'approve' });
      const res = await platform.request('POST', '/oauth/authorize', {
        raw: body.raw,
        headers: { ...body.headers, ...headers, cookie },
      });
      expect(res.status).toBe(403);
      expect(res.headers.get('location')).toBeNull();
      expect(res.text).toContain(`This site’s address is ${OWN} (PUBLIC_URL)`);
      expect(await grantsOf(user.token)).toEqual([]);
      expect(await storedFor(user.id)).toEqual({ sessions: 1, codes: 0 });
    },
  );
});
