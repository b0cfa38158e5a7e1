import { beforeAll, describe, expect, it } from 'vitest';
import { chargeFee } from '../../src/ledger/fees.ts';
import { type RewardsScene, rewardsScene } from '../actions/support.ts';
import { usePlatform } from '../helpers/platform.ts';
import { authorization, follower, testPan } from '../ingest/fixtures.ts';
import { appToken, authorize, registerApp, signUp, type TestApp, type TestUser } from '../oauth/support.ts';
import { actionsOfPurchase, expectLedgerSound, ledgerDriver } from './support.ts';

const platform = usePlatform();
const nextYear = new Date().getUTCFullYear() + 1;
const thisMonth = () => new Date().toISOString().slice(0, 7);

let scene: RewardsScene;
/** Another app, which the user never granted. */
let stranger: { app: TestApp; token: string };
let user: TestUser & { pan: string };
const at = { mid: 'LR1', name: 'BLUE BOTTLE COFFEE', mcc: '5814', country: 'US' };

/** A user signed up through the API, with a card, granting `app` cashback and loyalty. */
async function member(app: TestApp, seed: number): Promise<TestUser & { pan: string }> {
  const signedUp = await signUp(platform, 'ledger');
  const pan = testPan(seed);
  const card = await platform.request('POST', '/v1/me/cards', {
    token: signedUp.token,
    body: { pan, exp_month: 5, exp_year: nextYear },
  });
  expect(card.status).toBe(201);
  const grant = await platform.request('POST', '/v1/me/grants', {
    token: signedUp.token,
    body: { app_id: app.id, scopes: ['transactions', 'cashback', 'loyalty'] },
  });
  expect(grant.status).toBe(201);
  return { ...signedUp, pan };
}

/** Sends an authorization and its clearing, then performs and settles what it fired. */
async function earn(pan: string, amount: number) {
  const id = `auth-lr-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
  const [fired] = await scene.send(authorization({ id, pan, merchant: at, amount }));
  await scene.send(follower('clearing', { pan, merchant: at, original_id: id, amount }));
  const ledger = ledgerDriver(platform);
  const actionIds = await actionsOfPurchase(platform, fired!.event_id);
  for (const actionId of actionIds) await ledger.open(actionId, new Date());
  return actionIds;
}

const payout = (token: string, body: Record<string, unknown>, key?: string) =>
  platform.request('POST', '/v1/payouts', {
    token,
    body,
    ...(key ? { headers: { 'idempotency-key': key } } : {}),
  });

beforeAll(async () => {
  scene = await rewardsScene(platform, { scopes: ['transactions', 'cashback', 'loyalty'] });
  const app = await registerApp(platform, { name: 'Stranger', scopes: ['cashback'] });
  stranger = { app, token: await appToken(platform, app) };
  await scene.createTrigger({
    name: 'Cashback',
    match: { mids: [at.mid] },
    action: { type: 'cashback', percent_bps: 1000 },
  });
  await scene.createTrigger({
    name: 'Stamps',
    match: { mids: [at.mid] },
    action: { type: 'points', fixed: 10 },
  });
  user = await member(scene.app, 9_101);
  await earn(user.pan, 475);
});

describe('balances', () => {
  const expected = () => [
    {
      object: 'balance',
      app_id: scene.app.id,
      app_name: 'Coffee Rewards',
      kind: 'cashback',
      unit: 'USD',
      currency: 'USD',
      pending: 0,
      available: 47,
      paid_out: 0,
    },
    {
      object: 'balance',
      app_id: scene.app.id,
      app_name: 'Coffee Rewards',
      kind: 'points',
      unit: 'points',
      pending: 0,
      available: 10,
      paid_out: 0,
    },
  ];

  it('shows the user their points and cashback per app', async () => {
    const res = await platform.request('GET', '/v1/me/balances', { token: user.token });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ data: expected(), has_more: false });
    const someoneElse = await signUp(platform, 'nobody');
    expect((await platform.request('GET', '/v1/me/balances', { token: someoneElse.token })).body).toEqual({
      data: [],
      has_more: false,
    });
    expect((await platform.request('GET', '/v1/me/balances')).status).toBe(401);
  });

  it('shows an app the balances of a user who granted it, and only its own', async () => {
    const res = await platform.request('GET', `/v1/users/${user.id}/balances`, { token: scene.token });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ data: expected(), has_more: false });
  });

  it('is 404 for another app, and for a user who never granted the app', async () => {
    const other = await platform.request('GET', `/v1/users/${user.id}/balances`, { token: stranger.token });
    expect(other.status).toBe(404);
    expect(other.body.code).toBe('not_found');
    const holder = await scene.cardholder([]);
    const ungranted = await platform.request('GET', `/v1/users/${holder.userId}/balances`, {
      token: scene.token,
    });
    expect(ungranted.status).toBe(404);
    const unknown = await platform.request('GET', '/v1/users/usr_nobody/balances', { token: scene.token });
    expect(unknown.status).toBe(404);
  });

  it("lets a user's own token read that user only", async () => {
    const delegated = await authorize(platform, user, scene.app, 'cashback');
    const own = await platform.request('GET', `/v1/users/${user.id}/balances`, {
      token: delegated.access_token,
    });
    expect(own.status).toBe(200);
    const holder = await scene.cardholder(['cashback']);
    const other = await platform.request('GET', `/v1/users/${holder.userId}/balances`, {
      token: delegated.access_token,
    });
    expect(other.status).toBe(404);
    const paid = await payout(delegated.access_token, { user_id: user.id, amount: 1, currency: 'USD' });
    expect(paid.status).toBe(403);
  });
});

describe('payouts', () => {
  it('moves available cashback to paid_out and records payout.created', async () => {
    const holder = await member(scene.app, 9_102);
    await earn(holder.pan, 1000);
    const res = await payout(scene.token, { user_id: holder.id, amount: 60, currency: 'USD' });
    expect(res.status).toBe(201);
    expect(res.body).toEqual({
      id: expect.stringMatching(/^pyt_/),
      object: 'payout',
      user_id: holder.id,
      amount: 60,
      currency: 'USD',
      created_at: expect.any(String),
    });
    const balances = await platform.request('GET', '/v1/me/balances', { token: holder.token });
    expect(balances.body.data[0]).toMatchObject({ kind: 'cashback', available: 40, paid_out: 60 });

    const [delivery] = await platform.deps.sql<
      { id: string; app_id: string; user_id: string; payload: any }[]
    >`
      select id, app_id, user_id, payload from deliveries where type = 'payout.created' and user_id = ${holder.id}`;
    expect(delivery).toMatchObject({ app_id: scene.app.id, user_id: holder.id });
    expect(delivery!.payload).toMatchObject({ id: delivery!.id, type: 'payout.created', data: res.body });
    // Handed to the deliveries queue once committed.
    await expect
      .poll(async () => (await platform.deps.queues.deliveries.getJob(delivery!.id))?.id)
      .toBe(delivery!.id);
    await expectLedgerSound(platform);
  });

  it('refuses more than is available with 422 insufficient_balance', async () => {
    const holder = await member(scene.app, 9_103);
    await earn(holder.pan, 475);
    const res = await payout(scene.token, { user_id: holder.id, amount: 48, currency: 'USD' });
    expect(res.status).toBe(422);
    expect(res.body).toMatchObject({ code: 'insufficient_balance', available: 47 });
    const otherCurrency = await payout(scene.token, { user_id: holder.id, amount: 1, currency: 'EUR' });
    expect(otherCurrency.body).toMatchObject({ code: 'insufficient_balance', available: 0 });
    expect((await payout(scene.token, { user_id: holder.id, amount: 47, currency: 'USD' })).status).toBe(201);
    expect((await payout(scene.token, { user_id: holder.id, amount: 1, currency: 'USD' })).status).toBe(422);
    await expectLedgerSound(platform);
  });

  it('is 404 for a user who never granted the app, and allowed after the grant is revoked', async () => {
    const holder = await member(scene.app, 9_104);
    await earn(holder.pan, 475);
    const res = await payout(stranger.token, { user_id: holder.id, amount: 1, currency: 'USD' });
    expect(res.status).toBe(404);
    const revoked = await platform.request('DELETE', `/v1/me/grants/${scene.app.id}`, {
      token: holder.token,
    });
    expect(revoked.status).toBe(204);
    expect(
      (await platform.request('GET', `/v1/users/${holder.id}/balances`, { token: scene.token })).status,
    ).toBe(404);
    expect((await payout(scene.token, { user_id: holder.id, amount: 47, currency: 'USD' })).status).toBe(201);
  });

  it('honours Idempotency-Key: one payout per key, a different body refused', async () => {
    const holder = await member(scene.app, 9_105);
    await earn(holder.pan, 1000);
    const body = { user_id: holder.id, amount: 30, currency: 'USD' };
    const first = await payout(scene.token, body, 'payout-key-1');
    const again = await payout(scene.token, body, 'payout-key-1');
    expect(first.status).toBe(201);
    expect(again.status).toBe(201);
    expect(again.body).toEqual(first.body);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    const reused = await payout(scene.token, { ...body, amount: 31 }, 'payout-key-1');
    expect(reused.status).toBe(409);
    expect(reused.body.code).toBe('idempotency_key_reused');
    const balances = await platform.request('GET', '/v1/me/balances', { token: holder.token });
    expect(balances.body.data[0]).toMatchObject({ kind: 'cashback', available: 70, paid_out: 30 });
  });

  it('validates the body', async () => {
    const res = await payout(scene.token, { user_id: user.id, amount: 0, currency: 'usd' });
    expect(res.status).toBe(422);
    expect(res.body.errors.map((e: { path: string }) => e.path).sort()).toEqual(['amount', 'currency']);
  });
});

describe('usage', () => {
  let usage: RewardsScene;
  const fee = { fixed: 10, bps: 150, currency: 'USD' };

  beforeAll(async () => {
    usage = await rewardsScene(platform, {
      name: 'Usage app',
      scopes: ['transactions', 'cashback', 'loyalty'],
    });
    const shop = { mid: 'LR2', name: 'BLUE BOTTLE COFFEE', mcc: '5814', country: 'US' };
    await usage.createTrigger({
      name: 'Cashback',
      match: { mids: [shop.mid] },
      action: { type: 'cashback', percent_bps: 100 },
    });
    await usage.createTrigger({
      name: 'Stamps',
      match: { mids: [shop.mid] },
      action: { type: 'points', fixed: 1 },
    });
    const holder = await usage.cardholder(['cashback', 'loyalty']);
    const fired = await usage.send(
      authorization({ pan: holder.pan, merchant: shop, amount: 475 }),
      authorization({ pan: holder.pan, merchant: shop, amount: 1000 }),
    );
    const actions = await platform.deps.sql<{ id: string; type: string; purchase_amount: number }[]>`
      select id, type, purchase_amount::int from actions
      where purchase_id in ${platform.deps.sql(fired.map((r) => r.event_id))} order by purchase_amount, type`;
    expect(actions.map((a) => a.type)).toEqual(['cashback', 'points', 'cashback', 'points']);
    // The last one found its grant gone at dispatch: cancelled, it did nothing and costs nothing.
    const [cancelled, ...performed] = actions.reverse();
    await platform.deps.sql`update actions set status = 'cancelled' where id = ${cancelled!.id}`;
    for (const action of performed)
      await platform.deps.db.transaction((tx) =>
        chargeFee(
          tx,
          {
            actionId: action.id,
            appId: usage.app.id,
            purchaseAmount: action.purchase_amount,
            purchaseCurrency: 'USD',
            fee,
          },
          new Date(),
        ),
      );
  });

  // 10 + 1.5% of 1000, of 475, of 475: 25 + 17 + 17.
  const expected = () => ({
    object: 'usage',
    app_id: usage.app.id,
    month: thisMonth(),
    actions: {
      total: 3,
      by_type: expect.objectContaining({ cashback: 2, points: 1, receipt: 0, coupon: 0, webhook: 0 }),
    },
    fees: [{ amount: 59, currency: 'USD' }],
  });

  it("shows an app its month's fired actions and fees", async () => {
    const res = await platform.request('GET', `/v1/apps/me/usage?month=${thisMonth()}`, {
      token: usage.token,
    });
    expect(res.status).toBe(200);
    expect(res.body).toEqual(expected());
    const empty = await platform.request('GET', '/v1/apps/me/usage?month=2020-01', { token: usage.token });
    expect(empty.body).toMatchObject({ month: '2020-01', actions: { total: 0 }, fees: [] });
  });

  it('shows the operator any app’s', async () => {
    const res = await platform.admin('GET', `/v1/apps/${usage.app.id}/usage?month=${thisMonth()}`);
    expect(res.status).toBe(200);
    expect(res.body).toEqual(expected());
    expect((await platform.admin('GET', `/v1/apps/app_nobody/usage?month=${thisMonth()}`)).status).toBe(404);
    const asApp = await platform.request('GET', `/v1/apps/${usage.app.id}/usage?month=${thisMonth()}`, {
      token: usage.token,
    });
    expect(asApp.status).toBe(401);
  });

  it('refuses a month that is not YYYY-MM', async () => {
    for (const month of ['2026-13', '2026-1', 'now', '']) {
      const res = await platform.request('GET', `/v1/apps/me/usage?month=${month}`, { token: usage.token });
      expect(res.status, month).toBe(422);
      expect(res.body).toMatchObject({ code: 'validation_failed', errors: [{ path: 'query.month' }] });
    }
    expect((await platform.request('GET', '/v1/apps/me/usage', { token: usage.token })).status).toBe(422);
  });
});

describe('the OpenAPI document', () => {
  it('describes every ledger route', async () => {
    const doc = (await platform.request('GET', '/openapi.json')).body;
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining([
        '/v1/me/balances',
        '/v1/users/{user_id}/balances',
        '/v1/payouts',
        '/v1/apps/me/usage',
        '/v1/apps/{id}/usage',
      ]),
    );
    expect(doc.paths['/v1/payouts'].post.responses['201']).toBeDefined();
  });
});
