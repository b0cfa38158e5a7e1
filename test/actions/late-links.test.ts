import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { linkOrphanEvents } from '../../src/ingest/maintenance.ts';
import { usePlatform } from '../helpers/platform.ts';
import { authorization, follower } from '../ingest/fixtures.ts';
import { type OtherProcess, otherProcess, type RewardsScene, rewardsScene } from './support.ts';

const platform = usePlatform();
let scene: RewardsScene;
let other: OtherProcess;
let midSeed = 900;
const merchant = () => ({
  mid: `Z${midSeed++}`,
  name: 'BLUE BOTTLE COFFEE',
  mcc: '5814',
  city: 'Oakland',
  country: 'US',
});

beforeAll(async () => {
  scene = await rewardsScene(platform);
  other = await otherProcess(platform);
});
afterAll(async () => {
  await other?.close();
});

const counters = async (id: string) =>
  (
    await platform.deps.sql<
      { redemptions: number }[]
    >`select redemptions::int from trigger_counters where trigger_id = ${id}`
  )[0];
const actionsOf = (id: string) =>
  platform.deps.sql<{ purchase_id: string; given_back: boolean }[]>`
    select purchase_id, given_back_at is not null as given_back from actions where trigger_id = ${id} order by id`;

/** Holds the other process's next ingest transaction open inside reserve (after its events are inserted). */
async function holdNextReserve() {
  await other.deps.triggerRegistry.catchUp();
  const cache = other.deps.grantCache;
  const original = cache.syncTo;
  let release!: () => void;
  const gate = new Promise<void>((r) => {
    release = r;
  });
  let entered!: () => void;
  const inside = new Promise<void>((r) => {
    entered = r;
  });
  cache.syncTo = async (conn, seq) => {
    cache.syncTo = original;
    entered();
    await gate;
    return original(conn, seq);
  };
  return { inside, release };
}

describe("links made after the purchase's own transaction", () => {
  it('a reversal committed beside its authorization gives back once the orphan sweep links it', async () => {
    const at = merchant();
    const trigger = await scene.createTrigger({
      name: 't',
      match: { mids: [at.mid] },
      limits: { total_redemptions: 5 },
      action: { type: 'cashback', percent_bps: 1000 },
    });
    const holder = await scene.cardholder();
    const auth = authorization({ pan: holder.pan, merchant: at });
    const { inside, release } = await holdNextReserve();
    const sent = other.send(scene.processor, auth);
    await inside;
    await scene.send(
      follower('reversal', { pan: holder.pan, merchant: at, original_id: auth.id, amount: 475 }),
    );
    release();
    expect((await sent)[0]!.actions).toBe(1);
    expect(await linkOrphanEvents(platform.deps.sql, platform.deps.actionsHook)).toBeGreaterThanOrEqual(1);
    // The purchase was reversed in full: its redemption should be given back.
    expect(await actionsOf(trigger.id)).toEqual([{ purchase_id: expect.any(String), given_back: true }]);
    expect(await counters(trigger.id)).toEqual({ redemptions: 0 });
  });

  it('a clearing committed beside its authorization that both fired: the sweep gives back the doubled firing', async () => {
    const at = merchant();
    const trigger = await scene.createTrigger({
      name: 't',
      match: { mids: [at.mid] },
      action: { type: 'cashback', percent_bps: 1000 },
    });
    const holder = await scene.cardholder();
    const auth = authorization({ pan: holder.pan, merchant: at, auth_code: 'RACE01' });
    const { inside, release } = await holdNextReserve();
    const sent = other.send(scene.processor, auth);
    await inside;
    const [clearing] = await scene.send(
      follower('clearing', { pan: holder.pan, merchant: at, auth_code: 'RACE01' }),
    );
    release();
    const [a] = await sent;
    expect([a!.actions, clearing!.actions]).toEqual([1, 1]);
    await linkOrphanEvents(platform.deps.sql, platform.deps.actionsHook);
    expect((await actionsOf(trigger.id)).filter((x) => !x.given_back)).toHaveLength(1);
  });

  /** An authorization and its clearing stored by concurrent transactions, both firing the trigger. */
  async function bothFire(limits: Record<string, unknown>, code: string) {
    const at = merchant();
    const trigger = await scene.createTrigger({
      name: 't',
      match: { mids: [at.mid] },
      limits,
      action: { type: 'cashback', percent_bps: 1000 },
    });
    const holder = await scene.cardholder();
    const auth = authorization({ pan: holder.pan, merchant: at, auth_code: code });
    const { inside, release } = await holdNextReserve();
    const sent = other.send(scene.processor, auth);
    await inside;
    const [clearing] = await scene.send(
      follower('clearing', { pan: holder.pan, merchant: at, auth_code: code }),
    );
    return { at, trigger, holder, auth, clearing: clearing!, release, sent };
  }

  it('a reversal and the doubled clearing linked by one sweep give each firing back once', async () => {
    const { at, trigger, holder, auth, release, sent } = await bothFire({ total_redemptions: 5 }, 'RACE02');
    await scene.send(
      follower('reversal', { pan: holder.pan, merchant: at, original_id: auth.id, amount: 475 }),
    );
    release();
    await sent;
    await linkOrphanEvents(platform.deps.sql, platform.deps.actionsHook);
    expect((await actionsOf(trigger.id)).every((x) => x.given_back)).toBe(true);
    expect(await counters(trigger.id)).toEqual({ redemptions: 0 });
  });

  it('a doubled clearing linked after its authorization was reversed is given back too', async () => {
    const { at, trigger, holder, auth, release, sent } = await bothFire({ total_redemptions: 5 }, 'RACE03');
    release();
    await sent;
    await scene.send(
      follower('reversal', { pan: holder.pan, merchant: at, original_id: auth.id, amount: 475 }),
    );
    await linkOrphanEvents(platform.deps.sql, platform.deps.actionsHook);
    expect((await actionsOf(trigger.id)).every((x) => x.given_back)).toBe(true);
    expect(await counters(trigger.id)).toEqual({ redemptions: 0 });
  });
});

describe('a clearing-only purchase', () => {
  it('a clearing-only purchase refunded in two parts gives back its nth_purchase stamp', async () => {
    const at = merchant();
    const trigger = await scene.createTrigger({
      name: 't',
      match: { mids: [at.mid], nth_purchase: { n: 3 } },
      action: { type: 'cashback', percent_bps: 1000 },
    });
    const holder = await scene.cardholder();
    const clearing = follower('clearing', { pan: holder.pan, merchant: at, auth_code: 'CLO001' });
    await scene.send(clearing);
    await scene.send(
      follower('refund', { pan: holder.pan, merchant: at, original_id: clearing.id, amount: 200 }),
    );
    await scene.send(
      follower('refund', { pan: holder.pan, merchant: at, original_id: clearing.id, amount: 275 }),
    );
    const [row] = await platform.deps.sql<{ stamps: unknown[] }[]>`
      select stamps from trigger_card_states where trigger_id = ${trigger.id} and card_id = ${holder.cardId}`;
    // Refunded in full: the stamp it earned should be gone.
    expect(row!.stamps).toHaveLength(0);
  });
});

it('a refund linked on the plain-authorization path gives back what the clearing fired', async () => {
  const at = { mid: merchant().mid, name: 'SHOP', mcc: '5814', city: 'Oakland', country: 'US' };
  const trigger = await scene.createTrigger({
    name: 'clearings',
    match: { event_types: ['clearing'] },
    limits: { total_redemptions: 10 },
    action: { type: 'cashback', percent_bps: 1000 },
  });
  const holder = await scene.cardholder();
  const [c] = await scene.send(follower('clearing', { pan: holder.pan, merchant: at, auth_code: 'FPQ001' }));
  expect(c!.actions).toBe(1);
  await scene.send(follower('refund', { pan: holder.pan, merchant: at, auth_code: 'FPQ001', amount: 475 }));
  await scene.send(authorization({ pan: holder.pan, merchant: at, auth_code: 'FPQ001' }));
  const [row] = await platform.deps.sql<{ redemptions: number }[]>`
    select redemptions::int from trigger_counters where trigger_id = ${trigger.id}`;
  expect(row).toEqual({ redemptions: 0 });
});
