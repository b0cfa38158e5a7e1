import { describe, expect, it } from 'vitest';
import { activeGrant } from '../../src/grants/grants.ts';
import { usePlatform } from '../helpers/platform.ts';
import { authorize, CARDS, registerApp, signUp, tokenRequest } from '../oauth/support.ts';

const platform = usePlatform();
const nextYear = new Date().getUTCFullYear() + 1;

const deliveriesOf = (userId: string) =>
  platform.deps.sql`select * from deliveries where user_id = ${userId} order by id`;

/** What a user's grant requests can write: grants, consent history and deliveries. */
const storedFor = async (userId: string) => {
  const [row] = await platform.deps.sql`
    select (select count(*)::int from grants where user_id = ${userId}) as grants,
           (select count(*)::int from consent_events where user_id = ${userId}) as consents,
           (select count(*)::int from deliveries where user_id = ${userId}) as deliveries`;
  return row;
};

describe('grants', () => {
  it('grants, lists, changes scopes and records history and grant.created deliveries', async () => {
    const user = await signUp(platform);
    await platform.request('POST', '/v1/me/cards', {
      token: user.token,
      body: { pan: CARDS.visa, exp_month: 5, exp_year: nextYear },
    });
    const app = await registerApp(platform, {
      name: 'Bean Club',
      scopes: ['transactions', 'loyalty', 'coupons'],
    });

    const created = await platform.request('POST', '/v1/me/grants', {
      token: user.token,
      body: { app_id: app.id, scopes: ['loyalty', 'transactions'] },
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      object: 'grant',
      app_id: app.id,
      app_name: 'Bean Club',
      scopes: ['transactions', 'loyalty'],
    });
    expect(created.body.id).toMatch(/^grt_/);

    const changed = await platform.request('POST', '/v1/me/grants', {
      token: user.token,
      body: { app_id: app.id, scopes: ['coupons'] },
    });
    expect(changed.status).toBe(201);
    expect(changed.body.id).toBe(created.body.id);
    expect(changed.body.scopes).toEqual(['coupons']);

    const list = await platform.request('GET', '/v1/me/grants', { token: user.token });
    expect(list.body.data).toHaveLength(1);
    expect(list.body.data[0]).toMatchObject({ app_id: app.id, scopes: ['coupons'] });
    expect(Date.parse(list.body.data[0].granted_at)).not.toBeNaN();

    const history = await platform.request('GET', '/v1/me/grants/history', { token: user.token });
    expect(history.body.data.map((e: { action: string }) => e.action)).toEqual(['scopes_changed', 'granted']);
    expect(history.body.data[0]).toMatchObject({
      scopes: ['coupons'],
      previous_scopes: ['transactions', 'loyalty'],
      source: 'api',
    });

    const rows = await deliveriesOf(user.id);
    expect(rows.map((r) => [r.type, r.status, r.app_id])).toEqual([
      ['grant.created', 'pending', app.id],
      ['grant.created', 'pending', app.id],
    ]);
    const body = rows[1]!.payload;
    expect(body).toMatchObject({
      id: rows[1]!.id,
      type: 'grant.created',
      data: { user_id: user.id, scopes: ['coupons'], previous_scopes: ['transactions', 'loyalty'] },
    });
    expect(body.id).toMatch(/^dlv_/);
    expect(Date.parse(body.created_at)).not.toBeNaN();
    expect(body.data.cards).toEqual([{ id: expect.stringMatching(/^crd_/), last4: '4242', scheme: 'visa' }]);
    const [card] = await platform.deps.sql`select id from cards where user_id = ${user.id}`;
    expect(body.data.cards[0].id).not.toBe(card!.id);
  });

  it('lists grants as pages (limit, starting_after, has_more), newest first', async () => {
    const user = await signUp(platform);
    const ids: string[] = [];
    for (const name of ['First', 'Second', 'Third']) {
      const app = await registerApp(platform, { name });
      ids.push(app.id);
      const res = await platform.request('POST', '/v1/me/grants', {
        token: user.token,
        body: { app_id: app.id, scopes: ['transactions'] },
      });
      expect(res.status).toBe(201);
    }
    const first = await platform.request('GET', '/v1/me/grants?limit=2', { token: user.token });
    expect(first.status).toBe(200);
    expect(first.body.has_more).toBe(true);
    expect(first.body.data.map((grant: { app_id: string }) => grant.app_id)).toEqual([ids[2], ids[1]]);
    const rest = await platform.request(
      'GET',
      `/v1/me/grants?limit=2&starting_after=${first.body.data[1].id}`,
      { token: user.token },
    );
    expect(rest.body).toMatchObject({ has_more: false });
    expect(rest.body.data.map((grant: { app_id: string }) => grant.app_id)).toEqual([ids[0]]);
  });

  it('honours Idempotency-Key on POST /v1/me/grants', async () => {
    const user = await signUp(platform);
    const app = await registerApp(platform);
    const headers = { 'idempotency-key': 'grant-once' };
    const body = { app_id: app.id, scopes: ['receipts'] };
    const first = await platform.request('POST', '/v1/me/grants', { token: user.token, body, headers });
    const second = await platform.request('POST', '/v1/me/grants', { token: user.token, body, headers });
    expect(first.status).toBe(201);
    expect(second.body).toEqual(first.body);
    expect(second.headers.get('idempotent-replayed')).toBe('true');
    expect(await deliveriesOf(user.id)).toHaveLength(1);
  });

  it('simultaneous first grants end in one live grant', async () => {
    const user = await signUp(platform);
    const app = await registerApp(platform);
    const results = await Promise.all(
      [['transactions'], ['cashback'], ['receipts']].map((scopes) =>
        platform.request('POST', '/v1/me/grants', { token: user.token, body: { app_id: app.id, scopes } }),
      ),
    );
    expect(results.map((r) => r.status)).toEqual([201, 201, 201]);
    expect(new Set(results.map((r) => r.body.id)).size).toBe(1);
    const live = await platform.deps
      .sql`select count(*)::int as n from grants where user_id = ${user.id} and revoked_at is null`;
    expect(live[0]!.n).toBe(1);
  });

  it('granting the same scopes again changes nothing', async () => {
    const user = await signUp(platform);
    const app = await registerApp(platform);
    for (let i = 0; i < 2; i++) {
      await platform.request('POST', '/v1/me/grants', {
        token: user.token,
        body: { app_id: app.id, scopes: ['transactions'] },
      });
    }
    expect(await deliveriesOf(user.id)).toHaveLength(1);
    expect(
      (await platform.request('GET', '/v1/me/grants/history', { token: user.token })).body.data,
    ).toHaveLength(1);
  });

  it.each([
    ['a scope the app did not register', { scopes: ['social'] }, 422, 'scopes'],
    ['an unknown scope', { scopes: ['everything'] }, 422, 'scopes.0'],
    ['no scopes', { scopes: [] }, 422, 'scopes'],
  ])('refuses %s', async (_name, patch, status, path) => {
    const user = await signUp(platform);
    const app = await registerApp(platform);
    const res = await platform.request('POST', '/v1/me/grants', {
      token: user.token,
      body: { app_id: app.id, ...patch },
    });
    expect(res.status).toBe(status);
    expect(res.body.code).toBe('validation_failed');
    expect(res.body.errors.map((e: { path: string }) => e.path)).toContain(path);
    expect(await deliveriesOf(user.id)).toHaveLength(0);
    expect(await storedFor(user.id)).toEqual({ grants: 0, consents: 0, deliveries: 0 });
  });

  it('refuses an unknown or disabled app with 404', async () => {
    const user = await signUp(platform);
    const unknown = await platform.request('POST', '/v1/me/grants', {
      token: user.token,
      body: { app_id: 'app_nope', scopes: ['transactions'] },
    });
    expect(unknown.status).toBe(404);
    expect(unknown.body.code).toBe('not_found');
    const app = await registerApp(platform);
    await platform.admin('PATCH', `/v1/apps/${app.id}`, { body: { status: 'disabled' } });
    const disabled = await platform.request('POST', '/v1/me/grants', {
      token: user.token,
      body: { app_id: app.id, scopes: ['transactions'] },
    });
    expect(disabled.status).toBe(404);
    expect(disabled.body.code).toBe('not_found');
    expect(await storedFor(user.id)).toEqual({ grants: 0, consents: 0, deliveries: 0 });
  });

  it('revoking: 204, the app token fails at once, introspection goes inactive, grant.revoked is recorded; 404 after', async () => {
    const user = await signUp(platform);
    const app = await registerApp(platform);
    const tokens = await authorize(platform, user, app);
    expect((await platform.request('GET', '/v1/cards', { token: tokens.access_token })).status).toBe(200);
    expect(await activeGrant(platform.deps.db, app.id, user.id)).toBeDefined();

    const revoked = await platform.request('DELETE', `/v1/me/grants/${app.id}`, { token: user.token });
    expect(revoked.status).toBe(204);

    const refused = await platform.request('GET', '/v1/cards', { token: tokens.access_token });
    expect(refused.status).toBe(401);
    expect(refused.headers.get('www-authenticate')).toContain('invalid_token');
    expect(await activeGrant(platform.deps.db, app.id, user.id)).toBeUndefined();
    const introspected = await tokenRequest(platform, app, '/oauth/introspect', {
      token: tokens.access_token,
    });
    expect(introspected.body).toEqual({ active: false });
    const refresh = await tokenRequest(platform, app, '/oauth/token', {
      grant_type: 'refresh_token',
      refresh_token: tokens.refresh_token,
    });
    expect(refresh.status).toBe(400);
    expect(refresh.body.error).toBe('invalid_grant');

    const rows = await deliveriesOf(user.id);
    const last = rows.at(-1)!;
    expect(last.type).toBe('grant.revoked');
    expect(last.status).toBe('pending');
    expect(last.payload).toMatchObject({
      type: 'grant.revoked',
      data: { user_id: user.id, scopes: ['transactions', 'cashback'] },
    });
    expect(Date.parse(last.payload.data.revoked_at)).not.toBeNaN();

    const before = await storedFor(user.id);
    const revokedAgain = await platform.request('DELETE', `/v1/me/grants/${app.id}`, { token: user.token });
    expect(revokedAgain.status).toBe(404);
    expect(revokedAgain.body.code).toBe('not_found');
    expect(await storedFor(user.id)).toEqual(before);
    expect((await platform.request('GET', '/v1/me/grants', { token: user.token })).body.data).toEqual([]);

    // Consenting again starts a new grant; the old tokens stay dead.
    const again = await authorize(platform, user, app);
    expect((await platform.request('GET', '/v1/cards', { token: again.access_token })).status).toBe(200);
    expect((await platform.request('GET', '/v1/cards', { token: tokens.access_token })).status).toBe(401);
  });

  it('narrowing a grant narrows what existing tokens may do', async () => {
    const user = await signUp(platform);
    const app = await registerApp(platform);
    const tokens = await authorize(platform, user, app, 'transactions cashback');
    await platform.request('POST', '/v1/me/grants', {
      token: user.token,
      body: { app_id: app.id, scopes: ['transactions'] },
    });
    const introspected = await tokenRequest(platform, app, '/oauth/introspect', {
      token: tokens.access_token,
    });
    expect(introspected.body).toMatchObject({ active: true, scope: 'transactions' });
    const refresh = await tokenRequest(platform, app, '/oauth/introspect', { token: tokens.refresh_token });
    expect(refresh.body).toMatchObject({ active: true, scope: 'transactions' });
  });

  it('ids and cursors with a NUL byte are a 404 or a 422, never a 500', async () => {
    const user = await signUp(platform);
    const grant = await platform.request('POST', '/v1/me/grants', {
      token: user.token,
      raw: '{"app_id":"app_\\u0000","scopes":["transactions"]}',
      headers: { 'content-type': 'application/json' },
    });
    expect([404, 422]).toContain(grant.status);
    expect(grant.body.code).toBe(grant.status === 404 ? 'not_found' : 'validation_failed');
    const revoke = await platform.request('DELETE', '/v1/me/grants/app_%00', { token: user.token });
    expect([404, 422]).toContain(revoke.status);
    expect(revoke.body.code).toBe(revoke.status === 404 ? 'not_found' : 'validation_failed');
    expect(await storedFor(user.id)).toEqual({ grants: 0, consents: 0, deliveries: 0 });
    const history = await platform.request('GET', '/v1/me/grants/history?starting_after=cns_%00', {
      token: user.token,
    });
    expect(history.status).toBe(422);
    const consents = await platform.admin('GET', '/v1/users/usr_%00/consents');
    expect([404, 422]).toContain(consents.status);
  });

  it('the operator reads any user’s consent history; users only their own', async () => {
    const user = await signUp(platform);
    const app = await registerApp(platform, { name: 'Audit Me' });
    await platform.request('POST', '/v1/me/grants', {
      token: user.token,
      body: { app_id: app.id, scopes: ['receipts'] },
    });
    await platform.request('DELETE', `/v1/me/grants/${app.id}`, { token: user.token });
    const res = await platform.admin('GET', `/v1/users/${user.id}/consents`);
    expect(res.status).toBe(200);
    expect(res.body.data.map((e: { action: string }) => e.action)).toEqual(['revoked', 'granted']);
    expect(res.body.data[0]).toMatchObject({
      app_name: 'Audit Me',
      scopes: [],
      previous_scopes: ['receipts'],
    });

    const page = await platform.admin('GET', `/v1/users/${user.id}/consents?limit=1`);
    expect(page.body.has_more).toBe(true);
    const next = await platform.admin(
      'GET',
      `/v1/users/${user.id}/consents?limit=1&starting_after=${page.body.data[0].id}`,
    );
    expect(next.body.data[0].action).toBe('granted');

    expect(
      (await platform.request('GET', `/v1/users/${user.id}/consents`, { token: user.token })).status,
    ).toBe(401);
    expect((await platform.admin('GET', '/v1/users/usr_nope/consents')).status).toBe(404);
    const other = await signUp(platform);
    expect(
      (await platform.request('GET', '/v1/me/grants/history', { token: other.token })).body.data,
    ).toEqual([]);
  });
});
