import { sql } from 'drizzle-orm';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { chargeFee, feeAmount } from '../../src/ledger/fees.ts';
import { createPayout } from '../../src/ledger/payouts.ts';
import { openReward } from '../../src/ledger/rewards.ts';
import type { Cardholder, RewardsScene } from '../actions/support.ts';
import { rewardsScene } from '../actions/support.ts';
import { usePlatform } from '../helpers/platform.ts';
import { authorization, follower } from '../ingest/fixtures.ts';
import {
  actionsOfPurchase,
  Clock,
  entryCount,
  expectLedgerSound,
  type LedgerDriver,
  ledgerDriver,
  rewardInputOf,
  rewardOf,
  userBuckets,
} from './support.ts';

const platform = usePlatform();
let scene: RewardsScene;
let ledger: LedgerDriver;

let midSeed = 100;
/** Each test's own merchant and 10% cashback trigger there (475 → 47), with what it adds to the action. */
async function cashbackShop(action: Record<string, unknown> = {}) {
  const at = { mid: `LG${midSeed++}`, name: 'BLUE BOTTLE COFFEE', mcc: '5814', country: 'US' };
  await scene.createTrigger({
    name: 'Coffee cashback',
    match: { mids: [at.mid] },
    action: { type: 'cashback', percent_bps: 1000, ...action },
  });
  return at;
}

/** A purchase (an authorization unless `type` says) and the one action it fired. */
async function purchase(holder: Cardholder, at: object, options: Record<string, unknown> = {}) {
  const [result] = await scene.send(authorization({ pan: holder.pan, merchant: at, ...options }));
  expect(result!.actions).toBe(1);
  const [actionId] = await actionsOfPurchase(platform, result!.event_id);
  return { eventId: result!.event_id, externalId: undefined as string | undefined, actionId: actionId! };
}

/** Sends a clearing, refund or reversal of a purchase (by its processor id), answering nothing it fired. */
async function follow(
  type: 'clearing' | 'refund' | 'reversal',
  holder: Cardholder,
  at: object,
  originalId: string,
  amount: number,
) {
  const [result] = await scene.send(
    follower(type, { pan: holder.pan, merchant: at, original_id: originalId, amount }),
  );
  expect(result!.status).toBe('accepted');
}

/** An authorization with a known processor id, to follow it by `original_id`. */
async function authorize(holder: Cardholder, at: object, amount = 475) {
  const id = `auth-lg-${midSeed}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
  const fired = await purchase(holder, at, { id, amount });
  return { ...fired, externalId: id };
}

const cashback = (amount: number) => ({ amount, currency: 'USD' });
const who = (holder: Cardholder) => ({ appId: scene.app.id, userId: holder.userId });
const bucketsOf = (holder: Cardholder) => userBuckets(platform, who(holder), 'cashback', 'USD');

beforeAll(async () => {
  scene = await rewardsScene(platform);
  ledger = ledgerDriver(platform);
});

afterEach(async () => {
  await expectLedgerSound(platform);
});

describe('a cashback reward through its purchase’s life', () => {
  it('authorization → clearing → partial refund → full refund', async () => {
    const clock = new Clock();
    const at = await cashbackShop();
    const holder = await scene.cardholder();
    const auth = await authorize(holder, at);

    expect(await ledger.open(auth.actionId, clock.now())).toEqual([
      { type: 'cashback.pending', result: cashback(47) },
    ]);
    expect(await bucketsOf(holder)).toMatchObject({ pending: 47, available: 0 });

    await follow('clearing', holder, at, auth.externalId, 475);
    expect(await ledger.settle([auth.actionId], clock.now())).toEqual([
      [{ type: 'cashback.available', result: cashback(47) }],
    ]);
    expect(await bucketsOf(holder)).toMatchObject({ pending: 0, available: 47 });

    // 100 of 475 refunded: 47 × 375 / 475 = 37.1 → 37 stays.
    await follow('refund', holder, at, auth.externalId, 100);
    expect(await ledger.settle([auth.actionId], clock.now())).toEqual([
      [{ type: 'cashback.reversed', result: { ...cashback(10), reason: 'refund' } }],
    ]);
    expect(await bucketsOf(holder)).toMatchObject({ available: 37, reversed: 10 });

    await follow('refund', holder, at, auth.externalId, 375);
    expect(await ledger.settle([auth.actionId], clock.now())).toEqual([
      [{ type: 'cashback.reversed', result: { ...cashback(37), reason: 'refund' } }],
    ]);
    expect(await bucketsOf(holder)).toEqual({
      pending: 0,
      available: 0,
      paid_out: 0,
      reversed: 47,
      expired: 0,
    });
    expect(await rewardOf(platform, auth.actionId)).toMatchObject({ state: 'reversed', next_check_at: null });
  });

  it('authorization → reversal takes it all back', async () => {
    const clock = new Clock();
    const at = await cashbackShop();
    const holder = await scene.cardholder();
    const auth = await authorize(holder, at);
    await ledger.open(auth.actionId, clock.now());

    await follow('reversal', holder, at, auth.externalId, 475);
    expect(await ledger.settle([auth.actionId], clock.now())).toEqual([
      [{ type: 'cashback.reversed', result: { ...cashback(47), reason: 'reversal' } }],
    ]);
    expect(await bucketsOf(holder)).toMatchObject({ pending: 0, available: 0, reversed: 47 });
    expect(await rewardOf(platform, auth.actionId)).toMatchObject({ state: 'reversed', next_check_at: null });
  });

  it('a partial clearing reduces it pro rata', async () => {
    const clock = new Clock();
    const at = await cashbackShop();
    const holder = await scene.cardholder();
    const auth = await authorize(holder, at);
    await ledger.open(auth.actionId, clock.now());

    // 300 of 475 cleared: 47 × 300 / 475 = 29.7 → 29.
    await follow('clearing', holder, at, auth.externalId, 300);
    expect(await ledger.settle([auth.actionId], clock.now())).toEqual([
      [
        { type: 'cashback.reversed', result: { ...cashback(18), reason: 'partial_clearing' } },
        { type: 'cashback.available', result: cashback(29) },
      ],
    ]);
    expect(await bucketsOf(holder)).toMatchObject({ pending: 0, available: 29, reversed: 18 });
  });

  it('a partial reversal before clearing reduces it, and what clears becomes available', async () => {
    const clock = new Clock();
    const at = await cashbackShop();
    const holder = await scene.cardholder();
    const auth = await authorize(holder, at, 1000);
    expect(await ledger.open(auth.actionId, clock.now())).toEqual([
      { type: 'cashback.pending', result: cashback(100) },
    ]);
    await follow('reversal', holder, at, auth.externalId, 400);
    expect(await ledger.settle([auth.actionId], clock.now())).toEqual([
      [{ type: 'cashback.reversed', result: { ...cashback(40), reason: 'reversal' } }],
    ]);
    await follow('clearing', holder, at, auth.externalId, 600);
    expect(await ledger.settle([auth.actionId], clock.now())).toEqual([
      [{ type: 'cashback.available', result: cashback(60) }],
    ]);
    expect(await bucketsOf(holder)).toMatchObject({ pending: 0, available: 60, reversed: 40 });
  });

  it('an authorization never cleared expires after the window, for good', async () => {
    const clock = new Clock();
    const at = await cashbackShop();
    const holder = await scene.cardholder();
    const auth = await authorize(holder, at);
    await ledger.open(auth.actionId, clock.now());
    const expiresAt = (await rewardOf(platform, auth.actionId)).next_check_at!;
    expect(expiresAt.getTime() - Date.now()).toBeGreaterThan(29.9 * 24 * 3600 * 1000);

    clock.travel(29);
    expect(await ledger.settle([auth.actionId], clock.now())).toEqual([[]]);
    expect(await bucketsOf(holder)).toMatchObject({ pending: 47 });

    const expiredAt = Clock.after(expiresAt, 0);
    expect(await ledger.settle([auth.actionId], expiredAt)).toEqual([
      [{ type: 'cashback.reversed', result: { ...cashback(47), reason: 'expired' } }],
    ]);
    expect(await bucketsOf(holder)).toMatchObject({ pending: 0, available: 0, expired: 47 });
    expect(await rewardOf(platform, auth.actionId)).toMatchObject({ state: 'expired', next_check_at: null });

    // A clearing after the window changes nothing.
    await follow('clearing', holder, at, auth.externalId, 475);
    expect(await ledger.settle([auth.actionId], expiredAt)).toEqual([[]]);
    expect(await bucketsOf(holder)).toMatchObject({ available: 0, expired: 47 });
  });

  it('waits out a return period (available_after_days) after clearing', async () => {
    const clock = new Clock();
    const at = await cashbackShop({ available_after_days: 14 });
    const holder = await scene.cardholder();
    const auth = await authorize(holder, at);
    await ledger.open(auth.actionId, clock.now());
    await follow('clearing', holder, at, auth.externalId, 475);

    expect(await ledger.settle([auth.actionId], clock.now())).toEqual([[]]);
    const reward = await rewardOf(platform, auth.actionId);
    expect(reward).toMatchObject({ state: 'pending', pending: 47 });
    const availableAt = reward.next_check_at!;
    expect(availableAt.getTime() - Date.now()).toBeGreaterThan(13.9 * 24 * 3600 * 1000);

    clock.travel(13);
    expect(await ledger.settle([auth.actionId], clock.now())).toEqual([[]]);
    expect(await bucketsOf(holder)).toMatchObject({ pending: 47, available: 0 });

    expect(await ledger.settle([auth.actionId], Clock.after(availableAt, 0))).toEqual([
      [{ type: 'cashback.available', result: cashback(47) }],
    ]);
    expect(await bucketsOf(holder)).toMatchObject({ pending: 0, available: 47 });
    expect(await rewardOf(platform, auth.actionId)).toMatchObject({
      state: 'available',
      next_check_at: null,
    });
  });

  it('a refund after a payout claws back from paid_out, and no balance goes negative', async () => {
    const clock = new Clock();
    const at = await cashbackShop();
    const holder = await scene.cardholder();
    const auth = await authorize(holder, at);
    await ledger.open(auth.actionId, clock.now());
    await follow('clearing', holder, at, auth.externalId, 475);
    await ledger.settle([auth.actionId], clock.now());
    await createPayout(platform.deps.db, { ...who(holder), amount: 30, currency: 'USD' });
    expect(await bucketsOf(holder)).toMatchObject({ available: 17, paid_out: 30 });

    await follow('refund', holder, at, auth.externalId, 475);
    expect(await ledger.settle([auth.actionId], clock.now())).toEqual([
      [{ type: 'cashback.reversed', result: { ...cashback(47), reason: 'refund' } }],
    ]);
    expect(await bucketsOf(holder)).toEqual({
      pending: 0,
      available: 0,
      paid_out: 0,
      reversed: 47,
      expired: 0,
    });
    const entries = await platform.deps.sql<{ type: string; amount: number }[]>`
      select type, amount::int from ledger_entries where action_id = ${auth.actionId} order by id`;
    expect(entries).toEqual([
      { type: 'reward_pending', amount: 47 },
      { type: 'reward_available', amount: 47 },
      { type: 'reward_reversed', amount: 17 },
      { type: 'clawback', amount: 30 },
    ]);
  });

  it('settling twice adds nothing', async () => {
    const clock = new Clock();
    const at = await cashbackShop();
    const holder = await scene.cardholder();
    const auth = await authorize(holder, at);
    await ledger.open(auth.actionId, clock.now());
    await follow('clearing', holder, at, auth.externalId, 300);
    await follow('refund', holder, at, auth.externalId, 50);
    expect((await ledger.settle([auth.actionId], clock.now()))[0]).not.toEqual([]);
    const entries = await entryCount(platform);
    const reward = await rewardOf(platform, auth.actionId);

    expect(await ledger.settle([auth.actionId, auth.actionId], clock.now())).toEqual([[], []]);
    expect(await ledger.open(auth.actionId, clock.now())).toEqual([]);
    expect(await entryCount(platform)).toBe(entries);
    expect(await rewardOf(platform, auth.actionId)).toEqual(reward);
  });

  it('a clearing-only purchase is available at once, and a refund naming it takes back its share', async () => {
    const clock = new Clock();
    const at = await cashbackShop();
    const holder = await scene.cardholder();
    const id = `clr-lg-${Date.now().toString(36)}`;
    const clearing = await purchase(holder, at, { id, type: 'clearing' });
    expect(await ledger.open(clearing.actionId, clock.now())).toEqual([
      { type: 'cashback.pending', result: cashback(47) },
      { type: 'cashback.available', result: cashback(47) },
    ]);
    await follow('refund', holder, at, id, 475 - 300);
    // 47 × 300 / 475 = 29.7 → 29 stays.
    expect(await ledger.settle([clearing.actionId], clock.now())).toEqual([
      [{ type: 'cashback.reversed', result: { ...cashback(18), reason: 'refund' } }],
    ]);
    expect(await bucketsOf(holder)).toMatchObject({ available: 29, reversed: 18 });
  });

  it('a purchase reversed before dispatch opens pending and reversed at once', async () => {
    const clock = new Clock();
    const at = await cashbackShop();
    const holder = await scene.cardholder();
    const auth = await authorize(holder, at);
    await follow('reversal', holder, at, auth.externalId, 475);
    expect(await ledger.open(auth.actionId, clock.now())).toEqual([
      { type: 'cashback.pending', result: cashback(47) },
      { type: 'cashback.reversed', result: { ...cashback(47), reason: 'reversal' } },
    ]);
  });

  it('a settlement waits for a reward being opened, and settles what changed meanwhile', async () => {
    const clock = new Clock();
    const at = await cashbackShop();
    const holder = await scene.cardholder();
    const auth = await authorize(holder, at);
    const input = await rewardInputOf(platform, auth.actionId);
    let commit!: () => void;
    const committing = new Promise<void>((resolve) => {
      commit = resolve;
    });
    let opened!: (notices: unknown) => void;
    const openedNotices = new Promise((resolve) => {
      opened = resolve;
    });
    // As the worker performs an action: its row locked, the reward opened for the purchase as it stood then.
    const performing = platform.deps.db.transaction(async (tx) => {
      await tx.execute(sql`select id from actions where id = ${auth.actionId} for update`);
      opened(await openReward(tx, input, clock.now(), ledger.options));
      await committing;
    });
    try {
      expect(await openedNotices).toEqual([{ type: 'cashback.pending', result: cashback(47) }]);
      await follow('clearing', holder, at, auth.externalId, 475);
      const settling = ledger.settle([auth.actionId], clock.now());
      // The settlement waits on the action's lock.
      await expect
        .poll(async () => {
          const [row] = await platform.deps.sql<{ n: number }[]>`
            select count(*)::int as n from pg_stat_activity
            where datname = current_database() and wait_event_type = 'Lock'`;
          return row!.n;
        })
        .toBe(1);
      commit();
      await performing;
      expect(await settling).toEqual([[{ type: 'cashback.available', result: cashback(47) }]]);
    } finally {
      commit();
      await performing;
    }
  });

  it('skips actions without a reward', async () => {
    expect(await ledger.settle(['act_none'], new Date())).toEqual([[]]);
  });
});

describe('points', () => {
  it('are issued and become available like cashback, as points', async () => {
    const clock = new Clock();
    const at = { mid: `LG${midSeed++}`, name: 'BLUE BOTTLE COFFEE', mcc: '5814', country: 'US' };
    await scene.createTrigger({
      name: 'Stamps',
      match: { mids: [at.mid] },
      action: { type: 'points', fixed: 10 },
    });
    const holder = await scene.cardholder();
    const auth = await authorize(holder, at);
    expect(await ledger.open(auth.actionId, clock.now())).toEqual([
      { type: 'points.pending', result: { points: 10 } },
    ]);
    await follow('clearing', holder, at, auth.externalId, 475);
    await follow('refund', holder, at, auth.externalId, 475);
    expect(await ledger.settle([auth.actionId], clock.now())).toEqual([
      [{ type: 'points.reversed', result: { points: 10, reason: 'refund' } }],
    ]);
    expect(await userBuckets(platform, who(holder), 'points', 'points')).toMatchObject({ reversed: 10 });
  });
});

describe('the platform fee', () => {
  const fee = { fixed: 10, bps: 150, currency: 'USD' };
  const feeAccounts = (appId: string) =>
    platform.deps.sql<{ bucket: string; balance: number }[]>`
      select bucket, balance::int from ledger_accounts where app_id = ${appId} and kind = 'fee' order by bucket`;

  it('is fixed + bps of the purchase in its currency, rounded down; fixed alone in another', () => {
    expect(feeAmount(fee, 475, 'USD')).toBe(10 + 7);
    expect(feeAmount(fee, 475, 'EUR')).toBe(10);
    expect(feeAmount({ ...fee, fixed: 0, bps: 1 }, 2 ** 60, 'USD')).toBe(Number(2n ** 60n / 10_000n));
  });

  it('is charged once per action', async () => {
    const at = await cashbackShop();
    const holder = await scene.cardholder();
    const { actionId } = await authorize(holder, at);
    const input = { actionId, appId: scene.app.id, purchaseAmount: 475, purchaseCurrency: 'USD', fee };
    for (let i = 0; i < 2; i++) await platform.deps.db.transaction((tx) => chargeFee(tx, input, new Date()));
    expect(await feeAccounts(scene.app.id)).toEqual([
      { bucket: 'fee_earned', balance: 17 },
      { bucket: 'fee_owed', balance: -17 },
    ]);
    const [charged] = await platform.deps.sql<{ n: number }[]>`
      select count(*)::int as n from ledger_entries where action_id = ${actionId} and type = 'fee'`;
    expect(charged!.n).toBe(1);
  });

  it('charges nothing without a fee, or when it comes to 0', async () => {
    const at = await cashbackShop();
    const holder = await scene.cardholder();
    const { actionId } = await authorize(holder, at);
    const before = await entryCount(platform);
    const input = { actionId, appId: scene.app.id, purchaseAmount: 475, purchaseCurrency: 'EUR' };
    await platform.deps.db.transaction(async (tx) => {
      await chargeFee(tx, { ...input, fee: null }, new Date());
      await chargeFee(tx, { ...input, fee: { fixed: 0, bps: 150, currency: 'USD' } }, new Date());
    });
    expect(await entryCount(platform)).toBe(before);
  });
});
