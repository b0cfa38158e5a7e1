import { eq } from 'drizzle-orm';
import { beforeAll, describe, expect, it } from 'vitest';
import { cardIdForApp } from '../../src/cards/pseudonyms.ts';
import { actions } from '../../src/db/schema/index.ts';
import { createSession } from '../../src/sessions/sessions.ts';
import { type Cardholder, type RewardsScene, rewardsScene } from '../actions/support.ts';
import { usePlatform } from '../helpers/platform.ts';
import { authorization, testPan } from '../ingest/fixtures.ts';
import { appToken, authorize, registerApp, signUp } from '../oauth/support.ts';
import { performed } from './support.ts';

const platform = usePlatform();
const MID = 'R100';
const at = {
  mid: MID,
  name: 'BLUE BOTTLE COFFEE',
  mcc: '5814',
  city: 'Oakland',
  region: 'CA',
  postal_code: '94607',
  country: 'US',
};

let ours: RewardsScene;
let theirs: RewardsScene;
let alice: Cardholder & { token: string };
let bob: Cardholder & { token: string };

/** A purchase at the merchant, every action it fired performed: the ids of the notices' rows. */
async function buy(scene: RewardsScene, holder: Cardholder, amount = 475) {
  const [result] = await scene.send(authorization({ pan: holder.pan, amount, merchant: at }));
  const fired = await platform.deps.db
    .select({ id: actions.id })
    .from(actions)
    .where(eq(actions.purchaseId, result!.event_id));
  const results = await Promise.all(
    fired.map(async ({ id }) => (await performed(platform, id)).notices[0]!.result),
  );
  return {
    receiptId: results.find((r) => r.receipt_id)?.receipt_id as string,
    couponId: results.find((r) => r.coupon_id)?.coupon_id as string,
  };
}

const withSession = async (holder: Cardholder) => ({
  ...holder,
  token: (await createSession(platform.deps.db, holder.userId)).token,
});

beforeAll(async () => {
  ours = await rewardsScene(platform, { name: 'Ours' });
  theirs = await rewardsScene(platform, { name: 'Theirs' });
  for (const scene of [ours, theirs]) {
    await scene.createTrigger({ name: 'Receipts', match: { mids: [MID] }, action: { type: 'receipt' } });
    await scene.createTrigger({
      name: 'Coupons',
      match: { mids: [MID] },
      action: { type: 'coupon', code_prefix: 'TEN', value: { amount: 1000, currency: 'USD' } },
    });
  }
  alice = await withSession(await ours.cardholder());
  bob = await withSession(await theirs.cardholder());
});

describe('a cardholder', () => {
  it('reads their own receipts and coupons, with their own card id, a page at a time', async () => {
    const first = await buy(ours, alice, 475);
    const second = await buy(ours, alice, 890);
    await buy(theirs, bob);

    const page = await platform.request('GET', '/v1/me/receipts?limit=1', { token: alice.token });
    expect(page.status).toBe(200);
    expect(page.body).toEqual({
      data: [
        {
          id: second.receiptId,
          object: 'receipt',
          app_id: ours.app.id,
          user_id: alice.userId,
          event_id: expect.stringMatching(/^evt_/),
          card: { id: alice.cardId, last4: alice.pan.slice(-4), scheme: 'visa' },
          merchant: {
            name: at.name,
            mid: MID,
            merchant_id: null,
            mcc: '5814',
            city: 'Oakland',
            region: 'CA',
            postal_code: '94607',
            country: 'US',
          },
          amount: 890,
          currency: 'USD',
          occurred_at: '2026-11-23T16:15:02.000Z',
          local_time: '2026-11-23T08:15:02',
          time_zone: '-08:00',
          created_at: expect.any(String),
        },
      ],
      has_more: true,
    });
    const next = await platform.request('GET', `/v1/me/receipts?starting_after=${second.receiptId}`, {
      token: alice.token,
    });
    expect(next.body.data.map((r: { id: string }) => r.id)).toEqual([first.receiptId]);
    expect(next.body.has_more).toBe(false);

    const one = await platform.request('GET', `/v1/me/receipts/${first.receiptId}`, { token: alice.token });
    expect(one.body).toMatchObject({ id: first.receiptId, amount: 475 });

    const coupons = await platform.request('GET', '/v1/me/coupons', { token: alice.token });
    expect(coupons.body.data).toEqual([
      {
        id: second.couponId,
        object: 'coupon',
        app_id: ours.app.id,
        user_id: alice.userId,
        code: expect.stringMatching(/^TEN-[0-9A-HJKMNP-TV-Z]{16}$/),
        value: { amount: 1000, currency: 'USD' },
        expires_at: null,
        created_at: expect.any(String),
      },
      expect.objectContaining({ id: first.couponId }),
    ]);
  });

  it('never sees another user’s receipt, and needs a session', async () => {
    const { receiptId } = await buy(theirs, bob);
    const res = await platform.request('GET', `/v1/me/receipts/${receiptId}`, { token: alice.token });
    expect(res.status).toBe(404);
    expect(res.body.code).toBe('not_found');
    const listed = await platform.request('GET', '/v1/me/receipts?limit=500', { token: alice.token });
    expect(listed.body.data.map((r: { id: string }) => r.id)).not.toContain(receiptId);
    expect((await platform.request('GET', '/v1/me/receipts')).status).toBe(401);
  });
});

describe('an app', () => {
  it('reads only its own receipts and coupons, with its own card ids; another app’s are 404', async () => {
    const mine = await buy(ours, alice);
    const other = await buy(theirs, bob);
    const pseudonym = cardIdForApp(platform.config, ours.app.id, alice.cardId);

    const list = await platform.request('GET', '/v1/receipts?limit=500', { token: ours.token });
    expect(list.status).toBe(200);
    expect(list.body.data.length).toBeGreaterThan(0);
    for (const receipt of list.body.data) {
      expect(receipt.app_id).toBe(ours.app.id);
      expect(receipt.card).toEqual({ id: pseudonym, last4: alice.pan.slice(-4), scheme: 'visa' });
    }
    expect(list.body.data.map((r: { id: string }) => r.id)).toContain(mine.receiptId);
    expect(list.body.data.map((r: { id: string }) => r.id)).not.toContain(other.receiptId);

    const one = await platform.request('GET', `/v1/receipts/${mine.receiptId}`, { token: ours.token });
    expect(one.body).toMatchObject({ id: mine.receiptId, card: { id: pseudonym } });
    expect(JSON.stringify(one.body)).not.toContain(alice.cardId);
    const foreign = await platform.request('GET', `/v1/receipts/${other.receiptId}`, { token: ours.token });
    expect(foreign.status).toBe(404);

    const coupon = await platform.request('GET', `/v1/coupons/${mine.couponId}`, { token: ours.token });
    expect(coupon.body).toMatchObject({ id: mine.couponId, app_id: ours.app.id, user_id: alice.userId });
    expect(
      (await platform.request('GET', `/v1/coupons/${other.couponId}`, { token: ours.token })).status,
    ).toBe(404);
    const coupons = await platform.request('GET', '/v1/coupons?limit=500', { token: ours.token });
    expect(coupons.body.data.map((c: { id: string }) => c.id)).toContain(mine.couponId);
    expect(coupons.body.data.map((c: { id: string }) => c.id)).not.toContain(other.couponId);
  });

  it('stops reading a user’s receipts and coupons once the user revokes it; the user still reads them', async () => {
    const carol = await withSession(await ours.cardholder());
    const bought = await buy(ours, carol);
    expect(
      (await platform.request('GET', `/v1/receipts/${bought.receiptId}`, { token: ours.token })).status,
    ).toBe(200);
    await ours.revoke(carol.userId);
    expect(
      (await platform.request('GET', `/v1/receipts/${bought.receiptId}`, { token: ours.token })).status,
    ).toBe(404);
    expect(
      (await platform.request('GET', `/v1/coupons/${bought.couponId}`, { token: ours.token })).status,
    ).toBe(404);
    const list = await platform.request('GET', '/v1/receipts?limit=500', { token: ours.token });
    expect(list.body.data.map((r: { id: string }) => r.id)).not.toContain(bought.receiptId);
    const own = await platform.request('GET', `/v1/me/receipts/${bought.receiptId}`, { token: carol.token });
    expect(own.status).toBe(200);
  });

  it('with a token on a user’s behalf, reads that user’s receipts alone', async () => {
    await buy(ours, alice);
    const user = await signUp(platform, 'carol');
    const pan = testPan(77_001);
    const card = await platform.request('POST', '/v1/me/cards', {
      token: user.token,
      body: { pan, exp_month: 12, exp_year: 2030 },
    });
    expect(card.status).toBe(201);
    const { access_token } = await authorize(platform, user, ours.app, 'receipts coupons');
    const carol = { userId: user.id, cardId: card.body.id, pan };
    const { receiptId } = await buy(ours, carol);

    const list = await platform.request('GET', '/v1/receipts', { token: access_token });
    expect(list.body.data).toEqual([
      expect.objectContaining({
        id: receiptId,
        user_id: user.id,
        card: expect.objectContaining({ id: cardIdForApp(platform.config, ours.app.id, card.body.id) }),
      }),
    ]);
  });

  it('needs the receipts scope, and an app token rather than a session', async () => {
    const app = await registerApp(platform, { name: 'Notices only', scopes: ['transactions'] });
    const res = await platform.request('GET', '/v1/receipts', { token: await appToken(platform, app) });
    expect(res.status).toBe(403);
    expect((await platform.request('GET', '/v1/receipts', { token: alice.token })).status).toBe(401);
  });

  it('the routes are in the OpenAPI document', async () => {
    const paths = Object.keys((await platform.request('GET', '/openapi.json')).body.paths);
    for (const path of [
      '/v1/me/receipts',
      '/v1/me/receipts/{id}',
      '/v1/me/coupons',
      '/v1/receipts',
      '/v1/receipts/{id}',
      '/v1/coupons',
      '/v1/coupons/{id}',
    ])
      expect(paths).toContain(path);
  });
});
