import * as oauth from 'oauth4webapi';
import { beforeAll, describe, expect, it } from 'vitest';
import { usePlatform } from '../helpers/platform.ts';
import {
  CARDS,
  hiddenFields,
  REDIRECT_URI,
  registerApp,
  signUp,
  type TestApp,
  type TestUser,
} from './support.ts';

const platform = usePlatform();

/**
 * A minimal browser: a cookie jar, no automatic redirects, and the server's public origin (PUBLIC_URL,
 * `http://cardlink.test`) mapped to the port the test server listens on, as DNS would in production.
 */
class Browser {
  readonly cookies = new Map<string, string>();
  constructor(
    private readonly base: string,
    private readonly publicUrl: string,
  ) {}

  resolve(url: string): string {
    if (url.startsWith(this.publicUrl)) return this.base + url.slice(this.publicUrl.length);
    if (url.startsWith('/')) return this.base + url;
    return url;
  }

  async fetch(url: string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    if (this.cookies.size > 0)
      headers.set('cookie', [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; '));
    const res = await fetch(this.resolve(url), { ...init, headers, redirect: 'manual' });
    for (const line of res.headers.getSetCookie()) {
      const [pair] = line.split(';');
      const eq = pair!.indexOf('=');
      const name = pair!.slice(0, eq);
      const value = pair!.slice(eq + 1);
      if (/max-age=0/i.test(line) || value === '') this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    return res;
  }

  /** Follows redirects on our own site; stops at the first one that leaves it (back to the app). */
  async follow(
    start: Response,
  ): Promise<{ page?: Response; html?: string; external?: string; trail: string[] }> {
    let res = start;
    const trail: string[] = [];
    for (let hops = 0; hops < 10; hops++) {
      if (res.status < 300 || res.status >= 400) return { page: res, html: await res.text(), trail };
      const location = res.headers.get('location')!;
      trail.push(location);
      const absolute = new URL(location, this.publicUrl).toString();
      if (!absolute.startsWith(this.publicUrl)) return { external: absolute, trail };
      res = await this.fetch(absolute);
    }
    throw new Error('redirect loop');
  }

  submit(action: string, fields: Record<string, string>) {
    return this.fetch(action, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(fields),
    });
  }
}

let base: string;
let issuer: URL;
let options: { [oauth.customFetch]: typeof fetch; [oauth.allowInsecureRequests]: true };
let as: oauth.AuthorizationServer;
let app: TestApp;
let user: TestUser;

beforeAll(async () => {
  base = await platform.listen();
  issuer = new URL(platform.config.publicUrl);
  const browser = new Browser(base, platform.config.publicUrl);
  options = {
    [oauth.customFetch]: ((url: string, init: RequestInit) =>
      fetch(browser.resolve(String(url)), init)) as typeof fetch,
    [oauth.allowInsecureRequests]: true,
  };
  app = await registerApp(platform, {
    name: 'Latte Loyalty',
    scopes: ['transactions', 'loyalty', 'cashback'],
  });
  user = await signUp(platform, 'flow');
  const card = await platform.request('POST', '/v1/me/cards', {
    token: user.token,
    body: { pan: CARDS.mastercard, exp_month: 8, exp_year: new Date().getUTCFullYear() + 2 },
  });
  expect(card.status).toBe(201);
});

describe('authorization code + PKCE with oauth4webapi against the listening server', () => {
  it('discovery, sign-in, consent, token, API call, refresh, introspect, revoke', async () => {
    // Discovery (RFC 8414).
    as = await oauth.processDiscoveryResponse(
      issuer,
      await oauth.discoveryRequest(issuer, { ...options, algorithm: 'oauth2' }),
    );
    expect(as.issuer).toBe(platform.config.publicUrl);
    expect(as.code_challenge_methods_supported).toEqual(['S256']);
    const client: oauth.Client = { client_id: app.client_id };
    const clientAuth = oauth.ClientSecretBasic(app.client_secret);

    // Authorization request, driven like a browser.
    const verifier = oauth.generateRandomCodeVerifier();
    const challenge = await oauth.calculatePKCECodeChallenge(verifier);
    const state = oauth.generateRandomState();
    const authorizationUrl = new URL(as.authorization_endpoint!);
    authorizationUrl.search = new URLSearchParams({
      client_id: app.client_id,
      redirect_uri: REDIRECT_URI,
      response_type: 'code',
      scope: 'transactions loyalty',
      state,
      code_challenge: challenge,
      code_challenge_method: 'S256',
    }).toString();

    const browser = new Browser(base, platform.config.publicUrl);
    const toLogin = await browser.follow(await browser.fetch(authorizationUrl.toString()));
    expect(toLogin.trail[0]).toMatch(/^\/login\?next=%2Foauth%2Fauthorize%3F/);
    expect(toLogin.html).toContain('Sign in to cardlink');

    const loginFields = hiddenFields(toLogin.html!);
    const consentPage = await browser.follow(
      await browser.submit('/login', { ...loginFields, email: user.email, password: user.password }),
    );
    expect(browser.cookies.get('cardlink_session')).toMatch(/^ses_/);
    expect(consentPage.page!.status).toBe(200);
    expect(consentPage.html).toContain('Latte Loyalty');
    expect(consentPage.html).toContain('Be notified when you pay with your enrolled cards');
    expect(consentPage.html).toContain('Earn and track loyalty points on your purchases');
    expect(consentPage.html).not.toContain('Earn cashback');

    const fields = hiddenFields(consentPage.html!);
    expect(fields.csrf).toBeTruthy();
    const back = await browser.follow(
      await browser.submit('/oauth/authorize', { ...fields, decision: 'approve' }),
    );
    expect(back.external).toMatch(new RegExp(`^${REDIRECT_URI}\\?code=`));

    // Callback validation (state and RFC 9207 iss), then the code exchange.
    const params = oauth.validateAuthResponse(as, client, new URL(back.external!), state);
    const tokens = await oauth.processAuthorizationCodeResponse(
      as,
      client,
      await oauth.authorizationCodeGrantRequest(
        as,
        client,
        clientAuth,
        params,
        REDIRECT_URI,
        verifier,
        options,
      ),
    );
    expect(tokens.token_type).toBe('bearer');
    expect(tokens.scope).toBe('transactions loyalty');
    expect(tokens.expires_in).toBe(600);
    expect(tokens.refresh_token).toBeTruthy();

    // The access token is an RFC 9068 JWT that a resource server validates against our JWKS.
    const claims = await oauth.validateJwtAccessToken(
      as,
      new Request(`${platform.config.publicUrl}/v1/cards`, {
        headers: { authorization: `Bearer ${tokens.access_token}` },
      }),
      platform.config.publicUrl,
      options,
    );
    expect(claims).toMatchObject({
      iss: platform.config.publicUrl,
      sub: user.id,
      client_id: app.client_id,
      scope: 'transactions loyalty',
    });
    expect(claims.jti).toBeTruthy();

    const cards = await oauth.protectedResourceRequest(
      tokens.access_token,
      'GET',
      new URL(`${base}/v1/cards`),
      undefined,
      undefined,
      options,
    );
    expect(cards.status).toBe(200);
    const cardBody = (await cards.json()) as { data: { id: string; last4: string }[] };
    expect(cardBody.data).toEqual([expect.objectContaining({ last4: '4444', scheme: 'mastercard' })]);

    // The grant exists and was recorded as consent through OAuth.
    const grants = await platform.request('GET', '/v1/me/grants', { token: user.token });
    expect(grants.body.data[0]).toMatchObject({ app_id: app.id, scopes: ['transactions', 'loyalty'] });
    const history = await platform.request('GET', '/v1/me/grants/history', { token: user.token });
    expect(history.body.data[0]).toMatchObject({ action: 'granted', source: 'oauth' });

    // Refresh rotates the refresh token.
    const refreshed = await oauth.processRefreshTokenResponse(
      as,
      client,
      await oauth.refreshTokenGrantRequest(as, client, clientAuth, tokens.refresh_token!, options),
    );
    expect(refreshed.refresh_token).toBeTruthy();
    expect(refreshed.refresh_token).not.toBe(tokens.refresh_token);
    expect(refreshed.access_token).not.toBe(tokens.access_token);

    // Introspection (RFC 7662).
    const introspect = async (token: string) =>
      oauth.processIntrospectionResponse(
        as,
        client,
        await oauth.introspectionRequest(as, client, clientAuth, token, options),
      );
    expect(await introspect(refreshed.access_token)).toMatchObject({
      active: true,
      client_id: app.client_id,
      sub: user.id,
      scope: 'transactions loyalty',
      token_type: 'Bearer',
    });
    expect((await introspect(refreshed.refresh_token!)).active).toBe(true);
    expect((await introspect(tokens.refresh_token!)).active).toBe(false);

    // Revocation (RFC 7009) of the refresh token disconnects the app: its tokens for the user stop at once.
    await oauth.processRevocationResponse(
      await oauth.revocationRequest(as, client, clientAuth, refreshed.refresh_token!, options),
    );
    expect((await introspect(refreshed.access_token)).active).toBe(false);
    expect((await introspect(refreshed.refresh_token!)).active).toBe(false);
    const after = oauth.protectedResourceRequest(
      refreshed.access_token,
      'GET',
      new URL(`${base}/v1/cards`),
      undefined,
      undefined,
      options,
    );
    await expect(after).rejects.toBeInstanceOf(oauth.WWWAuthenticateChallengeError);
    const refusal = await after.catch((error: oauth.WWWAuthenticateChallengeError) => error.cause[0]);
    expect(refusal).toMatchObject({ scheme: 'bearer', parameters: { error: 'invalid_token' } });
    await expect(
      oauth.processRefreshTokenResponse(
        as,
        client,
        await oauth.refreshTokenGrantRequest(as, client, clientAuth, refreshed.refresh_token!, options),
      ),
    ).rejects.toMatchObject({ error: 'invalid_grant' });
    expect((await platform.request('GET', '/v1/me/grants', { token: user.token })).body.data).toEqual([]);
    const revokedHistory = await platform.request('GET', '/v1/me/grants/history', { token: user.token });
    expect(revokedHistory.body.data[0]).toMatchObject({
      action: 'revoked',
      source: 'oauth_revoke',
      app_id: app.id,
    });
    const [delivery] = await platform.deps.sql`
      select type, status, payload from deliveries where app_id = ${app.id} and user_id = ${user.id} order by id desc limit 1`;
    expect(delivery).toMatchObject({ type: 'grant.revoked', status: 'pending' });
  });

  it('client_credentials with client_secret_post gives the app its own token', async () => {
    as ??= await oauth.processDiscoveryResponse(
      issuer,
      await oauth.discoveryRequest(issuer, { ...options, algorithm: 'oauth2' }),
    );
    const client: oauth.Client = { client_id: app.client_id };
    const clientAuth = oauth.ClientSecretPost(app.client_secret);
    const tokens = await oauth.processClientCredentialsResponse(
      as,
      client,
      await oauth.clientCredentialsGrantRequest(as, client, clientAuth, { scope: 'transactions' }, options),
    );
    expect(tokens.refresh_token).toBeUndefined();
    const claims = await oauth.validateJwtAccessToken(
      as,
      new Request(`${platform.config.publicUrl}/v1/x`, {
        headers: { authorization: `Bearer ${tokens.access_token}` },
      }),
      platform.config.publicUrl,
      options,
    );
    expect(claims).toMatchObject({ sub: app.client_id, client_id: app.client_id, scope: 'transactions' });
    const introspection = await oauth.processIntrospectionResponse(
      as,
      client,
      await oauth.introspectionRequest(as, client, clientAuth, tokens.access_token, options),
    );
    expect(introspection).toMatchObject({ active: true, sub: app.client_id });
    // A user-only endpoint refuses an app token with 403.
    const res = await platform.request('GET', '/v1/cards', { token: tokens.access_token });
    expect(res.status).toBe(403);
    expect(res.body.code).toBe('forbidden');
    // Revoking the access token alone.
    await oauth.processRevocationResponse(
      await oauth.revocationRequest(as, client, clientAuth, tokens.access_token, options),
    );
    const revoked = await oauth.processIntrospectionResponse(
      as,
      client,
      await oauth.introspectionRequest(as, client, clientAuth, tokens.access_token, options),
    );
    expect(revoked.active).toBe(false);
  });

  it('deny sends the user back with error=access_denied and the state', async () => {
    as ??= await oauth.processDiscoveryResponse(
      issuer,
      await oauth.discoveryRequest(issuer, { ...options, algorithm: 'oauth2' }),
    );
    const browser = new Browser(base, platform.config.publicUrl);
    const signedIn = await platform.request('POST', '/v1/sessions', {
      body: { email: user.email, password: user.password },
    });
    browser.cookies.set('cardlink_session', signedIn.body.token);
    const url = `/oauth/authorize?${new URLSearchParams({
      client_id: app.client_id,
      redirect_uri: REDIRECT_URI,
      response_type: 'code',
      scope: 'cashback',
      state: 'deny-me',
      code_challenge: await oauth.calculatePKCECodeChallenge(oauth.generateRandomCodeVerifier()),
      code_challenge_method: 'S256',
    })}`;
    const page = await browser.follow(await browser.fetch(url));
    const back = await browser.follow(
      await browser.submit('/oauth/authorize', { ...hiddenFields(page.html!), decision: 'deny' }),
    );
    const location = new URL(back.external!);
    expect(location.searchParams.get('error')).toBe('access_denied');
    expect(location.searchParams.get('state')).toBe('deny-me');
    expect(() => oauth.validateAuthResponse(as, { client_id: app.client_id }, location, 'deny-me')).toThrow();
  });
});
