import { beforeAll, describe, expect, it } from 'vitest';
import { usePlatform } from '../helpers/platform.ts';
import { authorization, follower } from '../ingest/fixtures.ts';
import { type RewardsScene, rewardsScene } from './support.ts';

const platform = usePlatform();
let scene: RewardsScene;

/** Each test's own merchant, so triggers of earlier tests never match its purchases. */
let midSeed = 100;
const merchant = () => {
  const mid = `M${midSeed++}`;
  return { mid, name: 'BLUE BOTTLE COFFEE', mcc: '5814', city: 'Oakland', country: 'US' };
};

const cashback = (mid: string, extra: Record<string, unknown> = {}) => ({
  name: 'Coffee cashback',
  match: { mids: [mid] },
  action: { type: 'cashback', percent_bps: 1000, max: 1000 },
  ...extra,
});

const actionsOf = (purchaseId: string) =>
  platform.deps.sql<
    {
      trigger_id: string;
      trigger_version: number;
      type: string;
      reward_amount: string | null;
      given_back_at: Date | null;
    }[]
  >`select trigger_id, trigger_version, type, reward_amount, given_back_at from actions where purchase_id = ${purchaseId}`;

beforeAll(async () => {
  scene = await rewardsScene(platform);
});

describe('which purchases fire', () => {
  it('an authorization fires a matching trigger once, with the reward and the version it fired under', async () => {
    const at = merchant();
    const trigger = await scene.createTrigger(cashback(at.mid));
    const holder = await scene.cardholder();
    const [result] = await scene.send(authorization({ pan: holder.pan, amount: 475, merchant: at }));
    expect(result).toMatchObject({ status: 'accepted', actions: 1 });
    const rows = await actionsOf(result!.event_id);
    expect(rows).toEqual([
      {
        trigger_id: trigger.id,
        trigger_version: 1,
        type: 'cashback',
        reward_amount: '47',
        given_back_at: null,
      },
    ]);
  });

  it('a resent authorization is a duplicate and fires nothing more', async () => {
    const at = merchant();
    await scene.createTrigger(cashback(at.mid));
    const holder = await scene.cardholder();
    const event = authorization({ pan: holder.pan, merchant: at });
    const [first] = await scene.send(event);
    const [again] = await scene.send(event);
    expect(again).toMatchObject({ status: 'duplicate', actions: 0, event_id: first!.event_id });
    expect(await actionsOf(first!.event_id)).toHaveLength(1);
  });

  it('the clearing of an authorization fires nothing; a clearing alone fires; a late authorization does not', async () => {
    const at = merchant();
    await scene.createTrigger(cashback(at.mid));
    const holder = await scene.cardholder();
    const auth = authorization({ pan: holder.pan, merchant: at });
    const [fired] = await scene.send(auth);
    const [clearing] = await scene.send(
      follower('clearing', { pan: holder.pan, merchant: at, original_id: auth.id }),
    );
    expect(fired!.actions).toBe(1);
    expect(clearing!.actions).toBe(0);

    const lone = follower('clearing', { pan: holder.pan, merchant: at, auth_code: 'ZZ9999', amount: 900 });
    const [cleared] = await scene.send(lone);
    expect(cleared!.actions).toBe(1);
    const [late] = await scene.send(
      authorization({ pan: holder.pan, merchant: at, auth_code: 'ZZ9999', amount: 900 }),
    );
    expect(late!.actions).toBe(0);
  });

  it('refunds and reversals never fire', async () => {
    const at = merchant();
    await scene.createTrigger(cashback(at.mid));
    const holder = await scene.cardholder();
    const results = await scene.send(
      follower('refund', { pan: holder.pan, merchant: at }),
      follower('reversal', { pan: holder.pan, merchant: at }),
    );
    expect(results.map((r) => r.actions)).toEqual([0, 0]);
  });
});

describe('who a trigger fires for', () => {
  it('not without a grant, not without the scope, and not once the grant is revoked', async () => {
    const at = merchant();
    await scene.createTrigger(cashback(at.mid));
    const stranger = await scene.cardholder([]);
    const noCashback = await scene.cardholder(['transactions']);
    const revoking = await scene.cardholder();
    expect((await scene.send(authorization({ pan: revoking.pan, merchant: at })))[0]!.actions).toBe(1);
    await scene.revoke(revoking.userId);
    const results = await scene.send(
      authorization({ pan: stranger.pan, merchant: at }),
      authorization({ pan: noCashback.pan, merchant: at }),
      authorization({ pan: revoking.pan, merchant: at }),
    );
    expect(results.map((r) => r.actions)).toEqual([0, 0, 0]);
  });

  it('a paused trigger does not fire, and fires again once active; a patch fires under its new version', async () => {
    const at = merchant();
    const trigger = await scene.createTrigger(cashback(at.mid));
    const holder = await scene.cardholder();
    await scene.patchTrigger(trigger.id, { status: 'paused' });
    expect((await scene.send(authorization({ pan: holder.pan, merchant: at })))[0]!.actions).toBe(0);
    await scene.patchTrigger(trigger.id, { status: 'active' });
    const [fired] = await scene.send(authorization({ pan: holder.pan, merchant: at }));
    expect(fired!.actions).toBe(1);
    expect((await actionsOf(fired!.event_id))[0]!.trigger_version).toBe(3);
  });
});
