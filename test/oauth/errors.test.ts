import { decodeJwt, SignJWT } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { purgeExpiredCredentials } from '../../src/oauth/housekeeping.ts';
import { signingKey } from '../../src/oauth/keys.ts';
import { consentCsrfToken, redeemConsentCsrf } from '../../src/sessions/csrf.ts';
import { usePlatform } from '../helpers/platform.ts';
import {
  authorize,
  authorizeQuery,
  consent,
  form,
  hiddenFields,
  pkcePair,
  REDIRECT_URI,
  registerApp,
  signUp,
  type TestApp,
  type TestUser,
  tokenRequest,
} from './support.ts';

const platform = usePlatform();
let app: TestApp;
let user: TestUser;

beforeAll(async () => {
  app = await registerApp(platform, { name: 'Careful App', scopes: ['transactions', 'cashback'] });
  user = await signUp(platform, 'errors');
});

/** Everything an OAuth request can create: a refused one must leave every count as it was. */
const issued = async () => {
  const [row] = await platform.deps.sql`
    select (select count(*)::int from oauth_codes) as codes,
           (select count(*)::int from oauth_token_families) as families,
           (select count(*)::int from oauth_refresh_tokens) as refresh_tokens,
           (select count(*)::int from grants) as grants,
           (select count(*)::int from consent_events) as consents,
           (select count(*)::int from signing_keys) as signing_keys`;
  return row;
};

const introspect = (token: string) => tokenRequest(platform, app, '/oauth/introspect', { token });

/** Every OAuth error answer has the RFC 6749 §5.2 shape, never problem+json, never a 500. */
function expectOAuthError(
  res: { status: number; body: any; headers: Headers },
  status: number,
  error: string,
) {
  expect(res.status).toBe(status);
  expect(res.headers.get('content-type')).toContain('application/json');
  expect(res.headers.get('content-type')).not.toContain('problem');
  expect(res.headers.get('cache-control')).toBe('no-store');
  expect(res.body).toEqual({ error, error_description: expect.any(String) });
}

describe('the authorization endpoint', () => {
  const cookie = () => ({ cookie: `cardlink_session=${user.token}` });
  const challenge = pkcePair().challenge;
  const valid = {
    scope: 'transactions',
    state: 's1',
    code_challenge: challenge,
    code_challenge_method: 'S256',
  };

  it('without a session sends the browser to /login with next', async () => {
    const path = authorizeQuery(app, valid);
    const res = await platform.request('GET', path);
    expect(res.status).toBe(302);
    expect(res.headers.get('location')).toBe(`/login?next=${encodeURIComponent(path)}`);
  });

  it.each([
    ['an unknown client', { client_id: 'cli_unknown' }, 'Unknown app'],
    ['a missing client_id', { client_id: undefined }, 'Missing client'],
    [
      'a redirect_uri not registered',
      { redirect_uri: 'http://127.0.0.1:8123/callback/evil' },
      'Redirect URI not registered',
    ],
    [
      'a redirect_uri differing only by a slash',
      { redirect_uri: `${REDIRECT_URI}/` },
      'Redirect URI not registered',
    ],
    [
      'a redirect_uri on another host',
      { redirect_uri: 'https://evil.example/callback' },
      'Redirect URI not registered',
    ],
  ])('%s → an error page, never a redirect', async (_name, patch, title) => {
    const res = await platform.request('GET', authorizeQuery(app, { ...valid, ...patch }), {
      headers: cookie(),
    });
    expect(res.status).toBe(400);
    expect(res.headers.get('location')).toBeNull();
    expect(res.headers.get('content-type')).toContain('text/html');
    expect(res.text).toContain(title);
  });

  it.each([
    ['missing PKCE', { code_challenge: undefined, code_challenge_method: undefined }, 'invalid_request'],
    ['plain PKCE', { code_challenge: 'a'.repeat(43), code_challenge_method: 'plain' }, 'invalid_request'],
    ['a challenge without a method', { code_challenge_method: undefined }, 'invalid_request'],
    ['a malformed challenge', { code_challenge: 'short' }, 'invalid_request'],
    ['an unregistered scope', { scope: 'transactions social' }, 'invalid_scope'],
    ['an unknown scope', { scope: 'admin' }, 'invalid_scope'],
    ['no scope', { scope: undefined }, 'invalid_scope'],
    ['response_type=token', { response_type: 'token' }, 'unsupported_response_type'],
  ])('%s → back to the app with the error and the state', async (_name, patch, error) => {
    const res = await platform.request('GET', authorizeQuery(app, { ...valid, ...patch }), {
      headers: cookie(),
    });
    expect(res.status).toBe(302);
    const location = new URL(res.headers.get('location')!);
    expect(`${location.origin}${location.pathname}`).toBe(REDIRECT_URI);
    expect(location.searchParams.get('error')).toBe(error);
    expect(location.searchParams.get('error_description')).toBeTruthy();
    expect(location.searchParams.get('state')).toBe('s1');
    expect(location.searchParams.get('iss')).toBe(platform.config.publicUrl);
  });

  it('refuses a consent decision with a wrong CSRF token (and no grant is made)', async () => {
    const other = await signUp(platform, 'csrf');
    const page = await platform.request('GET', authorizeQuery(app, valid), {
      headers: { cookie: `cardlink_session=${other.token}` },
    });
    expect(page.status).toBe(200);
    const fields = {
      response_type: 'code',
      client_id: app.client_id,
      redirect_uri: REDIRECT_URI,
      ...valid,
      decision: 'approve',
    };
    const before = await issued();
    const forged = form({ ...fields, csrf: 'forged' });
    const res = await platform.request('POST', '/oauth/authorize', {
      raw: forged.raw,
      headers: { ...forged.headers, cookie: `cardlink_session=${other.token}` },
    });
    expect(res.status).toBe(403);
    expect(res.headers.get('location')).toBeNull();
    expect((await platform.request('GET', '/v1/me/grants', { token: other.token })).body.data).toEqual([]);
    // A CSRF token from another user's page does not work either.
    const theirs = await platform.request('GET', authorizeQuery(app, valid), { headers: cookie() });
    const stolen = /name="csrf" value="([^"]+)"/.exec(theirs.text)![1]!;
    const replay = form({ ...fields, csrf: stolen });
    const res2 = await platform.request('POST', '/oauth/authorize', {
      raw: replay.raw,
      headers: { ...replay.headers, cookie: `cardlink_session=${other.token}` },
    });
    expect(res2.status).toBe(403);
    expect(res2.headers.get('location')).toBeNull();
    expect(await issued()).toEqual(before);
  });
});

describe('the consent form token is bound to its one authorization request', () => {
  /** The consent page for `scope` and `challenge`, and a way to post its form with fields changed. */
  async function consentPage(
    holder: TestUser,
    forApp: TestApp,
    scope: string,
    challenge = pkcePair().challenge,
  ) {
    const cookie = `cardlink_session=${holder.token}`;
    const page = await platform.request(
      'GET',
      authorizeQuery(forApp, {
        scope,
        state: 's1',
        code_challenge: challenge,
        code_challenge_method: 'S256',
      }),
      { headers: { cookie } },
    );
    expect(page.status).toBe(200);
    const fields: Record<string, string> = { ...hiddenFields(page.text), decision: 'approve' };
    const post = (changes: Record<string, string> = {}) => {
      const body = form({ ...fields, ...changes });
      return platform.request('POST', '/oauth/authorize', {
        raw: body.raw,
        headers: { ...body.headers, cookie },
      });
    };
    return { fields, post };
  }
  const grantsOf = async (holder: TestUser) =>
    (await platform.request('GET', '/v1/me/grants', { token: holder.token })).body.data as {
      scopes: string[];
    }[];

  it('refuses it for widened scopes, another PKCE challenge, state or app, and grants nothing', async () => {
    const holder = await signUp(platform, 'bound');
    const other = await registerApp(platform, { name: 'Other App', scopes: ['transactions'] });
    const { fields, post } = await consentPage(holder, app, 'transactions');
    const before = await issued();
    const attempts = {
      widened: await post({ scope: 'transactions cashback' }),
      challenge: await post({ code_challenge: pkcePair().challenge }),
      state: await post({ state: 's2' }),
      otherApp: await post({ client_id: other.client_id }),
    };
    for (const [name, res] of Object.entries(attempts)) {
      expect([name, res.status, res.headers.get('location')]).toEqual([name, 403, null]);
    }
    expect(await grantsOf(holder)).toEqual([]);
    expect(await issued()).toEqual(before);
    // The token still works, once, for the request it was shown for.
    expect((await post()).status).toBe(303);
    expect(fields.scope).toBe('transactions');
    expect((await grantsOf(holder)).map((grant) => grant.scopes)).toEqual([['transactions']]);
  });

  it('is single use: a second decision with the same form is refused', async () => {
    const holder = await signUp(platform, 'once');
    const { post } = await consentPage(holder, app, 'transactions');
    const first = await post({ decision: 'deny' });
    expect(first.status).toBe(303);
    expect(new URL(first.headers.get('location')!).searchParams.get('error')).toBe('access_denied');
    const before = await issued();
    const again = await post();
    expect(again.status).toBe(403);
    expect(again.headers.get('location')).toBeNull();
    expect(await grantsOf(holder)).toEqual([]);
    expect(await issued()).toEqual(before);
  });

  it.each([
    ['without a decision', { decision: '' }],
    ['with an unknown decision', { decision: 'maybe' }],
  ])('a form sent %s is 400 and stays usable for the choice that follows', async (_, changes) => {
    const holder = await signUp(platform, 'undecided');
    const { post } = await consentPage(holder, app, 'transactions');
    const before = await issued();
    const undecided = await post(changes);
    expect(undecided.status).toBe(400);
    expect(undecided.text).toContain('Choose Allow or Deny');
    expect(await grantsOf(holder)).toEqual([]);
    expect(await issued()).toEqual(before);
    const approved = await post();
    expect(approved.status).toBe(303);
    expect(new URL(approved.headers.get('location')!).searchParams.get('code')).toBeTruthy();
    expect((await grantsOf(holder)).map((grant) => grant.scopes)).toEqual([['transactions']]);
  });

  it('records its single use over the queue connection (the fail-fast probe is for readiness only)', async () => {
    const binding = {
      sessionToken: 'ses_x',
      clientId: app.client_id,
      redirectUri: REDIRECT_URI,
      scopes: ['transactions'],
      codeChallenge: pkcePair().challenge,
      state: undefined,
    };
    const token = consentCsrfToken(platform.config.secretsKey, binding);
    const deps = { config: platform.config, redis: platform.deps.redis };
    expect(await redeemConsentCsrf(deps, binding, token)).toBe(true);
    expect(await redeemConsentCsrf(deps, binding, token)).toBe(false);
  });

  it('a token of an earlier, narrower consent cannot approve a widened one', async () => {
    const holder = await signUp(platform, 'widen');
    const narrow = await consentPage(holder, app, 'transactions');
    const wide = await consentPage(holder, app, 'transactions cashback');
    const before = await issued();
    const res = await wide.post({ csrf: narrow.fields.csrf! });
    expect(res.status).toBe(403);
    expect(await grantsOf(holder)).toEqual([]);
    expect(await issued()).toEqual(before);
  });
});

describe('the token endpoint', () => {
  it('wrong client secret and unknown client → 401 invalid_client with a Basic challenge', async () => {
    const before = await issued();
    const wrong = await tokenRequest(platform, { ...app, client_secret: 'cls_wrong' }, '/oauth/token', {
      grant_type: 'client_credentials',
    });
    expectOAuthError(wrong, 401, 'invalid_client');
    expect(wrong.headers.get('www-authenticate')).toContain('Basic');
    const unknown = await tokenRequest(platform, { ...app, client_id: 'cli_nobody' }, '/oauth/token', {
      grant_type: 'client_credentials',
    });
    expectOAuthError(unknown, 401, 'invalid_client');
    const none = await tokenRequest(platform, undefined, '/oauth/token', {
      grant_type: 'client_credentials',
    });
    expectOAuthError(none, 401, 'invalid_client');
    const post = await tokenRequest(platform, undefined, '/oauth/token', {
      grant_type: 'client_credentials',
      client_id: app.client_id,
      client_secret: 'cls_wrong',
    });
    expectOAuthError(post, 401, 'invalid_client');
    expect(await issued()).toEqual(before);
  });

  it('a client_id with a NUL byte is an unknown client (401 invalid_client or an error page), not a 500', async () => {
    const before = await issued();
    for (const path of ['/oauth/token', '/oauth/revoke', '/oauth/introspect']) {
      const basic = await tokenRequest(platform, { ...app, client_id: 'cli_\u0000x' }, path, {
        grant_type: 'client_credentials',
        token: 'x',
      });
      expectOAuthError(basic, 401, 'invalid_client');
      const post = await tokenRequest(platform, undefined, path, {
        grant_type: 'client_credentials',
        token: 'x',
        client_id: 'cli_\u0000x',
        client_secret: app.client_secret,
      });
      expectOAuthError(post, 401, 'invalid_client');
    }
    const page = await platform.request('GET', authorizeQuery({ ...app, client_id: 'cli_\u0000x' }, {}));
    expect(page.status).toBe(400);
    expect(page.headers.get('content-type')).toContain('text/html');
    const posted = await platform.request(
      'POST',
      '/oauth/authorize',
      form({ client_id: 'cli_\u0000x', decision: 'approve', csrf: 'x' }),
    );
    expect(posted.status).toBe(400);
    expect(await issued()).toEqual(before);
  });

  it('a disabled app cannot get tokens, and its existing tokens stop working', async () => {
    const doomed = await registerApp(platform, { name: 'Doomed' });
    const tokens = await authorize(platform, user, doomed);
    await platform.admin('PATCH', `/v1/apps/${doomed.id}`, { body: { status: 'disabled' } });
    const before = await issued();
    expectOAuthError(
      await tokenRequest(platform, doomed, '/oauth/token', { grant_type: 'client_credentials' }),
      401,
      'invalid_client',
    );
    expect(await issued()).toEqual(before);
    expect((await platform.request('GET', '/v1/cards', { token: tokens.access_token })).status).toBe(401);
  });

  it.each([
    ['no grant_type', {}, 400, 'invalid_request'],
    ['an unknown grant_type', { grant_type: 'password' }, 400, 'unsupported_grant_type'],
    [
      'client_credentials with an unregistered scope',
      { grant_type: 'client_credentials', scope: 'social' },
      400,
      'invalid_scope',
    ],
    [
      'authorization_code without a code',
      { grant_type: 'authorization_code', code_verifier: 'x'.repeat(43) },
      400,
      'invalid_request',
    ],
    [
      'an unknown code',
      {
        grant_type: 'authorization_code',
        code: 'ac_nope',
        redirect_uri: REDIRECT_URI,
        code_verifier: 'x'.repeat(43),
      },
      400,
      'invalid_grant',
    ],
    ['refresh_token without a token', { grant_type: 'refresh_token' }, 400, 'invalid_request'],
    [
      'an unknown refresh token',
      { grant_type: 'refresh_token', refresh_token: 'rt_nope' },
      400,
      'invalid_grant',
    ],
  ])('%s → %s %s', async (_name, fields, status, error) => {
    const before = await issued();
    expectOAuthError(
      await tokenRequest(platform, app, '/oauth/token', fields as Record<string, string>),
      status,
      error,
    );
    expect(await issued()).toEqual(before);
  });

  it('refuses JSON bodies, repeated parameters and two client authentication methods', async () => {
    const before = await issued();
    const json = await platform.request('POST', '/oauth/token', {
      body: { grant_type: 'client_credentials' },
    });
    expectOAuthError(json, 400, 'invalid_request');
    const repeated = await platform.request('POST', '/oauth/token', {
      raw: 'grant_type=client_credentials&grant_type=refresh_token',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${Buffer.from(`${app.client_id}:${app.client_secret}`).toString('base64')}`,
      },
    });
    expectOAuthError(repeated, 400, 'invalid_request');
    const both = await tokenRequest(platform, app, '/oauth/token', {
      grant_type: 'client_credentials',
      client_secret: app.client_secret,
    });
    expectOAuthError(both, 400, 'invalid_request');
    expect(await issued()).toEqual(before);
  });

  it('redirect_uri at the token endpoint is required exactly when the authorization request named it (RFC 6749 §4.1.3)', async () => {
    const cookie = `cardlink_session=${user.token}`;
    const codeFor = async (redirectUri: string | undefined) => {
      const { verifier, challenge } = pkcePair();
      const page = await platform.request(
        'GET',
        authorizeQuery(app, {
          redirect_uri: redirectUri,
          scope: 'transactions',
          code_challenge: challenge,
          code_challenge_method: 'S256',
        }),
        { headers: { cookie } },
      );
      expect(page.status).toBe(200);
      const fields = { ...hiddenFields(page.text), decision: 'approve' };
      const decided = await platform.request('POST', '/oauth/authorize', {
        ...form(fields),
        headers: { ...form(fields).headers, cookie },
      });
      const back = new URL(decided.headers.get('location')!);
      expect(`${back.origin}${back.pathname}`).toBe(REDIRECT_URI);
      return { code: back.searchParams.get('code')!, verifier };
    };
    // Omitted at authorization (the app registered one URI): the exchange needs none.
    const omitted = await codeFor(undefined);
    const ok = await tokenRequest(platform, app, '/oauth/token', {
      grant_type: 'authorization_code',
      code: omitted.code,
      code_verifier: omitted.verifier,
    });
    expect(ok.status).toBe(200);
    // Named at authorization: the exchange must repeat it.
    const named = await codeFor(REDIRECT_URI);
    const before = await issued();
    expectOAuthError(
      await tokenRequest(platform, app, '/oauth/token', {
        grant_type: 'authorization_code',
        code: named.code,
        code_verifier: named.verifier,
      }),
      400,
      'invalid_grant',
    );
    expect(await issued()).toEqual(before);
  });

  it('missing PKCE verifier, a wrong verifier and a mismatched redirect_uri fail the exchange', async () => {
    const { verifier, challenge } = pkcePair();
    const code = (await consent(platform, user, app, { challenge, scope: 'transactions' })).searchParams.get(
      'code',
    )!;
    const before = await issued();
    expectOAuthError(
      await tokenRequest(platform, app, '/oauth/token', {
        grant_type: 'authorization_code',
        code,
        redirect_uri: REDIRECT_URI,
      }),
      400,
      'invalid_request',
    );
    expectOAuthError(
      await tokenRequest(platform, app, '/oauth/token', {
        grant_type: 'authorization_code',
        code,
        redirect_uri: 'http://127.0.0.1:8123/other',
        code_verifier: verifier,
      }),
      400,
      'invalid_grant',
    );
    // The code is still good after those refusals, but not for another client.
    const otherApp = await registerApp(platform, { name: 'Thief' });
    expectOAuthError(
      await tokenRequest(platform, otherApp, '/oauth/token', {
        grant_type: 'authorization_code',
        code,
        redirect_uri: REDIRECT_URI,
        code_verifier: verifier,
      }),
      400,
      'invalid_grant',
    );
    const wrongVerifier = await tokenRequest(platform, app, '/oauth/token', {
      grant_type: 'authorization_code',
      code,
      redirect_uri: REDIRECT_URI,
      code_verifier: pkcePair().verifier,
    });
    expectOAuthError(wrongVerifier, 400, 'invalid_grant');
    // A wrong verifier spends the code.
    expectOAuthError(
      await tokenRequest(platform, app, '/oauth/token', {
        grant_type: 'authorization_code',
        code,
        redirect_uri: REDIRECT_URI,
        code_verifier: verifier,
      }),
      400,
      'invalid_grant',
    );
    expect(await issued()).toEqual(before);
  });

  it('a replayed authorization code fails and revokes the tokens of its first use', async () => {
    const first = await authorize(platform, user, app, 'transactions');
    expect((await introspect(first.access_token)).body.active).toBe(true);
    const before = await issued();
    const replay = await tokenRequest(platform, app, '/oauth/token', {
      grant_type: 'authorization_code',
      code: first.code,
      redirect_uri: REDIRECT_URI,
      code_verifier: first.verifier,
    });
    expectOAuthError(replay, 400, 'invalid_grant');
    expect(replay.body.error_description).toMatch(/already used/);
    expect((await introspect(first.access_token)).body).toEqual({ active: false });
    expect((await platform.request('GET', '/v1/cards', { token: first.access_token })).status).toBe(401);
    expectOAuthError(
      await tokenRequest(platform, app, '/oauth/token', {
        grant_type: 'refresh_token',
        refresh_token: first.refresh_token,
      }),
      400,
      'invalid_grant',
    );
    expect(await issued()).toEqual(before);
  });

  it('two simultaneous exchanges of one code: one wins, the other is a replay that revokes the winner', async () => {
    const { verifier, challenge } = pkcePair();
    const code = (await consent(platform, user, app, { challenge, scope: 'transactions' })).searchParams.get(
      'code',
    )!;
    const fields = {
      grant_type: 'authorization_code',
      code,
      redirect_uri: REDIRECT_URI,
      code_verifier: verifier,
    };
    const results = await Promise.all(
      [1, 2, 3].map(() => tokenRequest(platform, app, '/oauth/token', fields)),
    );
    const winners = results.filter((r) => r.status === 200);
    expect(winners).toHaveLength(1);
    for (const loser of results.filter((r) => r.status !== 200))
      expectOAuthError(loser, 400, 'invalid_grant');
    expect((await introspect(winners[0]!.body.access_token)).body.active).toBe(false);
  });

  it('reusing a spent refresh token revokes the whole family', async () => {
    const first = await authorize(platform, user, app, 'transactions cashback');
    const second = await tokenRequest(platform, app, '/oauth/token', {
      grant_type: 'refresh_token',
      refresh_token: first.refresh_token,
    });
    expect(second.status).toBe(200);
    const before = await issued();
    const reuse = await tokenRequest(platform, app, '/oauth/token', {
      grant_type: 'refresh_token',
      refresh_token: first.refresh_token,
    });
    expectOAuthError(reuse, 400, 'invalid_grant');
    expect((await introspect(second.body.access_token)).body.active).toBe(false);
    expectOAuthError(
      await tokenRequest(platform, app, '/oauth/token', {
        grant_type: 'refresh_token',
        refresh_token: second.body.refresh_token,
      }),
      400,
      'invalid_grant',
    );
    expect(await issued()).toEqual(before);
  });

  it('a refresh may narrow scopes but not widen them', async () => {
    const tokens = await authorize(platform, user, app, 'transactions');
    const before = await issued();
    const widen = await tokenRequest(platform, app, '/oauth/token', {
      grant_type: 'refresh_token',
      refresh_token: tokens.refresh_token,
      scope: 'transactions cashback',
    });
    expectOAuthError(widen, 400, 'invalid_scope');
    expect(await issued()).toEqual(before);
  });

  it('an empty scope on a refresh is the same as none: the granted scopes, narrowed to the live grant', async () => {
    const holder = await signUp(platform, 'empty-scope');
    const tokens = await authorize(platform, holder, app, 'transactions cashback');
    const kept = await tokenRequest(platform, app, '/oauth/token', {
      grant_type: 'refresh_token',
      refresh_token: tokens.refresh_token,
      scope: '',
    });
    expect(kept.status).toBe(200);
    expect(kept.body.scope).toBe('transactions cashback');
    expect(decodeJwt(kept.body.access_token).scope).toBe('transactions cashback');
    const narrowed = await platform.request('POST', '/v1/me/grants', {
      token: holder.token,
      body: { app_id: app.id, scopes: ['cashback'] },
    });
    expect(narrowed.status).toBe(201);
    const again = await tokenRequest(platform, app, '/oauth/token', {
      grant_type: 'refresh_token',
      refresh_token: kept.body.refresh_token,
      scope: '',
    });
    expect(again.status).toBe(200);
    expect(again.body.scope).toBe('cashback');
    expect(decodeJwt(again.body.access_token).scope).toBe('cashback');
  });

  it('a grant narrowed between consent and code exchange narrows the tokens of the exchange', async () => {
    const holder = await signUp(platform, 'narrow-before-exchange');
    const { verifier, challenge } = pkcePair();
    const code = (
      await consent(platform, holder, app, { challenge, scope: 'transactions cashback' })
    ).searchParams.get('code')!;
    const narrowed = await platform.request('POST', '/v1/me/grants', {
      token: holder.token,
      body: { app_id: app.id, scopes: ['transactions'] },
    });
    expect(narrowed.status).toBe(201);
    const res = await tokenRequest(platform, app, '/oauth/token', {
      grant_type: 'authorization_code',
      code,
      redirect_uri: REDIRECT_URI,
      code_verifier: verifier,
    });
    expect(res.status).toBe(200);
    expect(res.body.scope).toBe('transactions');
    expect(decodeJwt(res.body.access_token).scope).toBe('transactions');
    expect((await introspect(res.body.access_token)).body.scope).toBe('transactions');
  });
});

describe('access tokens', () => {
  it('an expired token is refused by the API and inactive at introspection', async () => {
    const { kid, key } = await signingKey(platform.deps);
    const past = Math.floor(Date.now() / 1000) - 3600;
    const expired = await new SignJWT({ client_id: app.client_id, scope: 'transactions' })
      .setProtectedHeader({ alg: 'ES256', kid, typ: 'at+jwt' })
      .setIssuer(platform.config.publicUrl)
      .setAudience(platform.config.publicUrl)
      .setSubject(app.client_id)
      .setIssuedAt(past - 600)
      .setExpirationTime(past)
      .setJti('at_expired')
      .sign(key);
    const res = await platform.request('GET', '/v1/cards', { token: expired });
    expect(res.status).toBe(401);
    expect(res.body.detail).toMatch(/expired/);
    expect(res.headers.get('www-authenticate')).toContain('error="invalid_token"');
    expect((await introspect(expired)).body).toEqual({ active: false });
  });

  it.each([
    ['garbage', 'not-a-jwt'],
    [
      'an unsigned token',
      `${Buffer.from('{"alg":"none","typ":"at+jwt"}').toString('base64url')}.${Buffer.from('{"sub":"x"}').toString('base64url')}.`,
    ],
    ['a session token', 'ses_abc'],
  ])('%s is refused with 401, never 500', async (_name, token) => {
    const res = await platform.request('GET', '/v1/cards', { token });
    expect(res.status).toBe(401);
    expect((await introspect(token)).body).toEqual({ active: false });
  });

  it('a cardholder session token at an app route is refused with a 401 that says which token it takes', async () => {
    const res = await platform.request('GET', '/v1/cards', { token: user.token });
    expect(res.status).toBe(401);
    expect(res.body.code).toBe('unauthorized');
    expect(res.body.detail).toMatch(/session token/);
    expect(res.body.detail).toMatch(/OAuth access token/);
    expect(res.headers.get('www-authenticate')).toContain('error="invalid_token"');
  });

  it("a token of the wrong type (typ) or another issuer's audience is refused", async () => {
    const { kid, key } = await signingKey(platform.deps);
    const now = Math.floor(Date.now() / 1000);
    const base = () =>
      new SignJWT({ client_id: app.client_id, scope: 'transactions' })
        .setIssuer(platform.config.publicUrl)
        .setSubject(app.client_id)
        .setIssuedAt(now)
        .setExpirationTime(now + 60)
        .setJti(`at_${now}`);
    const wrongTyp = await base()
      .setAudience(platform.config.publicUrl)
      .setProtectedHeader({ alg: 'ES256', kid, typ: 'JWT' })
      .sign(key);
    const wrongAud = await base()
      .setAudience('https://elsewhere.example')
      .setProtectedHeader({ alg: 'ES256', kid, typ: 'at+jwt' })
      .sign(key);
    expect((await platform.request('GET', '/v1/cards', { token: wrongTyp })).status).toBe(401);
    expect((await platform.request('GET', '/v1/cards', { token: wrongAud })).status).toBe(401);
  });

  it('another client cannot introspect or revoke my tokens', async () => {
    const tokens = await authorize(platform, user, app, 'transactions');
    const other = await registerApp(platform, { name: 'Nosy' });
    expect(
      (await tokenRequest(platform, other, '/oauth/introspect', { token: tokens.access_token })).body,
    ).toEqual({ active: false });
    expect(
      (await tokenRequest(platform, other, '/oauth/revoke', { token: tokens.refresh_token })).status,
    ).toBe(200);
    expect((await introspect(tokens.access_token)).body.active).toBe(true);
    expectOAuthError(
      await tokenRequest(platform, undefined, '/oauth/introspect', { token: tokens.access_token }),
      401,
      'invalid_client',
    );
    expectOAuthError(await tokenRequest(platform, app, '/oauth/revoke', {}), 400, 'invalid_request');
  });
});

describe('discovery and keys', () => {
  it('publishes RFC 8414 metadata with the configured issuer', async () => {
    const res = await platform.request('GET', '/.well-known/oauth-authorization-server');
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      issuer: platform.config.publicUrl,
      token_endpoint: `${platform.config.publicUrl}/oauth/token`,
      jwks_uri: `${platform.config.publicUrl}/.well-known/jwks.json`,
      code_challenge_methods_supported: ['S256'],
      grant_types_supported: ['authorization_code', 'refresh_token', 'client_credentials'],
    });
  });

  it('rotation: the new key signs, the old one stays published and keeps verifying; keys are sealed at rest', async () => {
    const before = await authorize(platform, user, app, 'transactions');
    const oldKid = JSON.parse(Buffer.from(before.access_token.split('.')[0]!, 'base64url').toString()).kid;

    const unrotated = await issued();
    const anonymous = await platform.request('POST', '/v1/oauth/keys/rotate');
    expect(anonymous.status).toBe(401);
    expect(anonymous.body.code).toBe('unauthorized');
    expect(await issued()).toEqual(unrotated);
    const rotated = await platform.admin('POST', '/v1/oauth/keys/rotate');
    expect(rotated.status).toBe(200);
    expect(rotated.body.kid).not.toBe(oldKid);
    expect(rotated.body.retired.map((k: { kid: string }) => k.kid)).toContain(oldKid);
    expect(Date.parse(rotated.body.retired[0].expires_at)).toBeGreaterThan(Date.now() + 600_000);

    const jwks = await platform.request('GET', '/.well-known/jwks.json');
    const kids = jwks.body.keys.map((k: { kid: string }) => k.kid);
    expect(kids).toEqual(expect.arrayContaining([oldKid, rotated.body.kid]));
    for (const key of jwks.body.keys) expect(key.d).toBeUndefined();

    expect((await platform.request('GET', '/v1/cards', { token: before.access_token })).status).toBe(200);
    const after = await authorize(platform, user, app, 'transactions');
    const newKid = JSON.parse(Buffer.from(after.access_token.split('.')[0]!, 'base64url').toString()).kid;
    expect(newKid).toBe(rotated.body.kid);
    expect((await platform.request('GET', '/v1/cards', { token: after.access_token })).status).toBe(200);

    const rows = await platform.deps.sql`select private_jwk_sealed from signing_keys`;
    for (const row of rows) expect(row.private_jwk_sealed).toMatch(/^v1\./);

    // Once a retired key's grace period ends, it leaves the JWKS.
    await platform.deps
      .sql`update signing_keys set expires_at = now() - interval '1 second' where kid = ${oldKid}`;
    const later = await platform.request('GET', '/.well-known/jwks.json');
    expect(later.body.keys.map((k: { kid: string }) => k.kid)).not.toContain(oldKid);
  });
});

describe('housekeeping', () => {
  it('purges only credentials that can no longer be used', async () => {
    const tokens = await authorize(platform, user, app, 'transactions');
    const later = new Date(Date.now() + 40 * 24 * 60 * 60 * 1000);
    const none = await purgeExpiredCredentials(platform.deps.db, new Date());
    expect(none.refreshTokens).toBe(0);
    expect((await introspect(tokens.refresh_token)).body.active).toBe(true);
    const purged = await purgeExpiredCredentials(platform.deps.db, later);
    expect(purged.refreshTokens).toBeGreaterThan(0);
    expect(purged.sessions).toBeGreaterThan(0);
    expect(purged.codes).toBeGreaterThan(0);
    expect((await introspect(tokens.refresh_token)).body.active).toBe(false);
  });
});
