import { eq, sql } from 'drizzle-orm';
import { beforeAll, describe, expect, it } from 'vitest';
import { cardIdForApp } from '../../src/cards/pseudonyms.ts';
import { coupons, receipts, socialPosts } from '../../src/db/schema/index.ts';
import { cancelReason, loadActionContext } from '../../src/effects/context.ts';
import { transactionData } from '../../src/effects/payload.ts';
import { performEffect } from '../../src/effects/perform.ts';
import { grantApp } from '../../src/grants/grants.ts';
import { type RewardsScene, rewardsScene } from '../actions/support.ts';
import { usePlatform } from '../helpers/platform.ts';
import { authorization } from '../ingest/fixtures.ts';
import { actionOf, contextOf, perform, performed } from './support.ts';

const platform = usePlatform();
const ALL_SCOPES = ['transactions', 'receipts', 'loyalty', 'cashback', 'coupons', 'social'];
let scene: RewardsScene;

let midSeed = 100;
/** Each test's own merchant, so earlier tests' triggers never match its purchases. */
const merchant = (extra: Record<string, unknown> = {}) => ({
  mid: `E${midSeed++}`,
  name: 'BLUE BOTTLE COFFEE',
  mcc: '5814',
  city: 'Oakland',
  region: 'CA',
  postal_code: '94607',
  country: 'US',
  ...extra,
});

/** A trigger with this action at a new merchant, a cardholder and a purchase there: the action it fired. */
async function fired(action: Record<string, unknown>, options: { merchant?: Record<string, unknown> } = {}) {
  const at = merchant(options.merchant);
  const trigger = await scene.createTrigger({ name: 'Effect', match: { mids: [at.mid] }, action });
  const holder = await scene.cardholder(ALL_SCOPES);
  const [result] = await scene.send(authorization({ pan: holder.pan, amount: 475, merchant: at }));
  expect(result).toMatchObject({ status: 'accepted', actions: 1 });
  return {
    trigger,
    holder,
    at,
    eventId: result!.event_id,
    actionId: await actionOf(platform, result!.event_id),
  };
}

const countWhere = async (table: typeof receipts | typeof coupons | typeof socialPosts, actionId: string) =>
  (await platform.deps.db.select().from(table).where(eq(table.actionId, actionId))).length;

beforeAll(async () => {
  scene = await rewardsScene(platform, { scopes: ALL_SCOPES });
});

describe('the action context', () => {
  it('holds the purchase as stored, its card, app, live grant and the action it fired under', async () => {
    const { trigger, holder, at, eventId, actionId } = await fired({ type: 'webhook' });
    const ctx = await contextOf(platform, actionId);
    expect(ctx.action).toMatchObject({ id: actionId, triggerId: trigger.id, status: 'queued' });
    expect(ctx.event).toEqual({
      id: eventId,
      type: 'authorization',
      amount: 475,
      currency: 'USD',
      occurredAt: new Date('2026-11-23T16:15:02Z'),
      receivedAt: ctx.action.purchaseReceivedAt,
      localTime: '2026-11-23T08:15:02',
      utcOffsetMinutes: -480,
      merchant: {
        name: at.name,
        mid: at.mid,
        merchant_id: null,
        mcc: '5814',
        city: 'Oakland',
        region: 'CA',
        postal_code: '94607',
        country: 'US',
      },
      cardId: holder.cardId,
      userId: holder.userId,
    });
    expect(ctx.card).toEqual({ id: holder.cardId, last4: holder.pan.slice(-4), scheme: 'visa' });
    expect(ctx.app).toEqual({ id: scene.app.id, name: scene.app.name, status: 'active', fee: null });
    expect(ctx.grant?.scopes.sort()).toEqual([...ALL_SCOPES].sort());
    expect(ctx.spec).toEqual({ type: 'webhook' });
    expect(cancelReason(ctx)).toBeUndefined();
  });

  it('is null for an unknown action', async () => {
    const ctx = await platform.deps.db.transaction((tx) =>
      loadActionContext(tx, 'act_01jhzzzzzzzzzzzzzzzzzzzzzz', { lock: false }),
    );
    expect(ctx).toBeNull();
  });

  it('the webhook data carries the app’s card pseudonym, never the PAN or the platform card id', async () => {
    const { trigger, holder, at, eventId, actionId } = await fired({ type: 'webhook' });
    const ctx = await contextOf(platform, actionId);
    const data = transactionData(ctx, platform.config);
    const pseudonym = cardIdForApp(platform.config, scene.app.id, holder.cardId);
    expect(pseudonym).not.toBe(holder.cardId);
    expect(data).toEqual({
      trigger_id: trigger.id,
      action_id: actionId,
      user_id: holder.userId,
      event: {
        id: eventId,
        type: 'authorization',
        amount: 475,
        currency: 'USD',
        occurred_at: '2026-11-23T16:15:02.000Z',
        merchant: expect.objectContaining({ mid: at.mid, name: at.name, city: 'Oakland' }),
      },
      card: { id: pseudonym, last4: holder.pan.slice(-4), scheme: 'visa' },
    });
    const text = JSON.stringify(data);
    expect(text).not.toContain(holder.pan);
    expect(text).not.toContain(holder.pan.slice(0, 6));
    expect(text).not.toContain(holder.cardId);
  });
});

describe('effects, once per action', () => {
  it('a receipt: the purchase, its local time and zone, the card and the place; a second run adds nothing', async () => {
    const { holder, at, eventId, actionId } = await fired({ type: 'receipt' });
    const now = new Date('2026-11-23T16:15:03Z');
    const { notices } = await performed(platform, actionId, now);
    expect(notices).toEqual([{ type: 'receipt.created', result: { receipt_id: expect.any(String) } }]);
    const receiptId = notices[0]!.result.receipt_id as string;
    expect(receiptId).toMatch(/^rcp_[0-9a-z]{26}$/);
    const [row] = await platform.deps.db.select().from(receipts).where(eq(receipts.id, receiptId));
    expect(row).toEqual({
      id: receiptId,
      actionId,
      appId: scene.app.id,
      userId: holder.userId,
      cardId: holder.cardId,
      eventId,
      merchant: {
        name: at.name,
        mid: at.mid,
        merchant_id: null,
        mcc: '5814',
        city: 'Oakland',
        region: 'CA',
        postal_code: '94607',
        country: 'US',
      },
      amount: 475,
      currency: 'USD',
      occurredAt: new Date('2026-11-23T16:15:02Z'),
      localTime: '2026-11-23T08:15:02',
      timeZone: '-08:00',
      cardLast4: holder.pan.slice(-4),
      cardScheme: 'visa',
      createdAt: now,
    });

    const again = await performed(platform, actionId);
    expect(again.notices).toEqual(notices);
    expect(await countWhere(receipts, actionId)).toBe(1);
  });

  it('a coupon: prefix, 16 random characters, value and expiry; a second run issues no second coupon', async () => {
    const { holder, actionId } = await fired({
      type: 'coupon',
      code_prefix: 'COFFEE',
      value: { amount: 500, currency: 'USD' },
      expires_in_days: 30,
    });
    const now = new Date('2026-11-23T16:15:03Z');
    const { notices } = await performed(platform, actionId, now);
    expect(notices).toEqual([
      {
        type: 'coupon.issued',
        result: {
          coupon_id: expect.stringMatching(/^cpn_[0-9a-z]{26}$/),
          code: expect.stringMatching(/^COFFEE-[0-9A-HJKMNP-TV-Z]{16}$/),
          value: { amount: 500, currency: 'USD' },
          expires_at: '2026-12-23T16:15:03.000Z',
        },
      },
    ]);
    const [row] = await platform.deps.db.select().from(coupons).where(eq(coupons.actionId, actionId));
    expect(row).toMatchObject({
      id: notices[0]!.result.coupon_id,
      appId: scene.app.id,
      userId: holder.userId,
      code: notices[0]!.result.code,
    });

    expect((await performed(platform, actionId)).notices).toEqual(notices);
    expect(await countWhere(coupons, actionId)).toBe(1);
  });

  it('a coupon without value or expiry says neither', async () => {
    const { actionId } = await fired({ type: 'coupon', code_prefix: 'X1' });
    const { notices } = await performed(platform, actionId);
    expect(notices).toEqual([
      {
        type: 'coupon.issued',
        result: { coupon_id: expect.any(String), code: expect.stringMatching(/^X1-[0-9A-HJKMNP-TV-Z]{16}$/) },
      },
    ]);
  });

  it('coupon codes differ across many purchases, each well-formed', async () => {
    const at = merchant();
    await scene.createTrigger({
      name: 'Many coupons',
      match: { mids: [at.mid] },
      action: { type: 'coupon', code_prefix: 'MANY' },
    });
    const holders = await scene.cardholders(60);
    const results = await scene.send(...holders.map((h) => authorization({ pan: h.pan, merchant: at })));
    const actionIds = await Promise.all(results.map((r) => actionOf(platform, r.event_id)));
    const codes = await Promise.all(
      actionIds.map(async (id) => (await performed(platform, id)).notices[0]!.result.code as string),
    );
    expect(new Set(codes).size).toBe(60);
    for (const code of codes) expect(code).toMatch(/^MANY-[0-9A-HJKMNP-TV-Z]{16}$/);
  });

  it('a social post: the template filled, the merchant’s markup escaped, the amount as money', async () => {
    const { actionId } = await fired(
      {
        type: 'social_post',
        template:
          'Coffee at {{merchant.name}} in {{ merchant.city }}, {{merchant.country}}: {{amount}} {{currency}}',
      },
      { merchant: { name: `<script>alert("hi")</script> & 'Co'` } },
    );
    const { notices } = await performed(platform, actionId);
    const text =
      'Coffee at &lt;script&gt;alert(&quot;hi&quot;)&lt;/script&gt; &amp; &#39;Co&#39; in Oakland, US: $4.75 USD';
    expect(notices).toEqual([
      {
        type: 'social_post.requested',
        result: { social_post_id: expect.stringMatching(/^spt_[0-9a-z]{26}$/), text },
      },
    ]);
    const [row] = await platform.deps.db.select().from(socialPosts).where(eq(socialPosts.actionId, actionId));
    expect(row).toMatchObject({ id: notices[0]!.result.social_post_id, text, appId: scene.app.id });

    expect((await performed(platform, actionId)).notices).toEqual(notices);
    expect(await countWhere(socialPosts, actionId)).toBe(1);
  });

  it('a webhook: the transaction notice, and no row', async () => {
    const { actionId } = await fired({ type: 'webhook' });
    expect((await performed(platform, actionId)).notices).toEqual([
      { type: 'transaction.notified', result: {} },
    ]);
    const stored = await Promise.all([
      countWhere(receipts, actionId),
      countWhere(coupons, actionId),
      countWhere(socialPosts, actionId),
    ]);
    expect(stored).toEqual([0, 0, 0]);
  });
});

describe('cancelled instead of performed', () => {
  it('once the user revoked the grant', async () => {
    const { holder, actionId } = await fired({ type: 'receipt' });
    await scene.revoke(holder.userId);
    expect(await perform(platform, actionId)).toEqual({ cancelled: 'grant_revoked' });
    expect(await countWhere(receipts, actionId)).toBe(0);
  });

  it('once the grant no longer holds the action’s scope', async () => {
    const { holder, actionId } = await fired({ type: 'coupon', code_prefix: 'GONE' });
    await grantApp(
      { db: platform.deps.db, config: platform.config },
      { userId: holder.userId, appId: scene.app.id, scopes: ['receipts'], mode: 'replace', source: 'api' },
    );
    expect(await perform(platform, actionId)).toEqual({ cancelled: 'scope_not_granted' });
    expect(await countWhere(coupons, actionId)).toBe(0);
  });

  it('once the app is disabled', async () => {
    const other = await rewardsScene(platform, { scopes: ALL_SCOPES, name: 'Soon disabled' });
    const at = merchant();
    await other.createTrigger({ name: 'Receipts', match: { mids: [at.mid] }, action: { type: 'receipt' } });
    const holder = await other.cardholder(ALL_SCOPES);
    const [result] = await other.send(authorization({ pan: holder.pan, merchant: at }));
    const actionId = await actionOf(platform, result!.event_id);
    const disabled = await platform.admin('PATCH', `/v1/apps/${other.app.id}`, {
      body: { status: 'disabled' },
    });
    expect(disabled.status).toBe(200);
    expect(await perform(platform, actionId)).toEqual({ cancelled: 'app_disabled' });
  });

  it('a revocation waits for a transaction that read the grant, then the next one sees it revoked', async () => {
    const { holder, actionId } = await fired({ type: 'receipt' });
    let release!: () => void;
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    let loaded!: (grant: unknown) => void;
    const grantSeen = new Promise<unknown>((resolve) => {
      loaded = resolve;
    });
    const performing = platform.deps.db.transaction(async (tx) => {
      const ctx = (await loadActionContext(tx, actionId, { lock: true }))!;
      loaded(ctx.grant);
      await released;
      return performEffect(tx, ctx, new Date());
    });
    expect(await grantSeen).not.toBeNull();

    let revoked = false;
    const revoking = scene.revoke(holder.userId).then(() => {
      revoked = true;
    });
    // The revocation's UPDATE of the grant is blocked by the share lock until the performing transaction ends.
    await expect
      .poll(async () => {
        const rows = await platform.deps.db.execute<{ n: number }>(
          sql`select count(*)::int as n from pg_stat_activity
              where datname = current_database() and wait_event_type = 'Lock' and query ilike 'update "grants"%'`,
        );
        return rows[0]!.n;
      })
      .toBe(1);
    expect(revoked).toBe(false);

    release();
    expect(await performing).toEqual([
      { type: 'receipt.created', result: { receipt_id: expect.any(String) } },
    ]);
    await revoking;
    const after = await contextOf(platform, actionId);
    expect(after.grant).toBeNull();
    expect(cancelReason(after)).toBe('grant_revoked');
  });
});
