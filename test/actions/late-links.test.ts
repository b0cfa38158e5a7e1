import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { linkOrphanEvents } from '../../src/ingest/maintenance.ts';
import { usePlatform } from '../helpers/platform.ts';
import { authorization, follower, processorRequest } from '../ingest/fixtures.ts';
import {
  cashbackAt,
  holdNextIngest,
  type OtherProcess,
  otherProcess,
  type RewardsScene,
  redemptionsOf,
  rewardsScene,
  triggerActions,
} from './support.ts';

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

const counters = (id: string) => redemptionsOf(platform, id);
const actionsOf = (id: string) => triggerActions(platform, id);
const holdNextReserve = () => holdNextIngest(other);

/** When each ingest transaction of this test's database now waiting for a card's row lock began (card-locks.ts). */
const cardLockWaits = async () =>
  (
    await platform.deps.sql<{ began: string }[]>`
      select xact_start::text as began from pg_stat_activity
      where datname = current_database() and wait_event_type = 'Lock'
        and wait_event in ('transactionid', 'tuple') and query like '%for no key update of c%'`
  ).map((row) => row.began);
const waitingForCardLock = async () => (await cardLockWaits()).length;

describe('events of one purchase sent side by side', () => {
  it('a clearing sent while its authorization is being stored waits for it, links, and fires nothing more', async () => {
    const at = merchant();
    const trigger = await scene.createTrigger(cashbackAt(at.mid));
    const holder = await scene.cardholder();
    const { inside, release } = await holdNextReserve();
    const sent = other.send(
      scene.processor,
      authorization({ pan: holder.pan, merchant: at, auth_code: 'RACE01' }),
    );
    await inside;
    const clearing = scene.send(follower('clearing', { pan: holder.pan, merchant: at, auth_code: 'RACE01' }));
    await expect.poll(waitingForCardLock).toBe(1);
    release();
    const [[a], [c]] = await Promise.all([sent, clearing]);
    expect([a!.actions, c!.actions]).toEqual([1, 0]);
    expect(await actionsOf(trigger.id)).toEqual([{ purchase_id: a!.event_id, given_back: false }]);
    expect(await linkOrphanEvents(platform.deps.sql, platform.deps.actionsHook)).toBe(0);
  });

  it('an authorization sent while its clearing is being stored waits for it and fires nothing more', async () => {
    const at = merchant();
    const trigger = await scene.createTrigger(cashbackAt(at.mid));
    const holder = await scene.cardholder();
    const { inside, release } = await holdNextReserve();
    const sent = other.send(
      scene.processor,
      follower('clearing', { pan: holder.pan, merchant: at, auth_code: 'RACE02' }),
    );
    await inside;
    const auth = scene.send(authorization({ pan: holder.pan, merchant: at, auth_code: 'RACE02' }));
    await expect.poll(waitingForCardLock).toBe(1);
    release();
    const [[c], [a]] = await Promise.all([sent, auth]);
    // The clearing came first and fired for the purchase; its authorization, linked to it, adds nothing.
    expect([c!.actions, a!.actions]).toEqual([1, 0]);
    expect((await actionsOf(trigger.id)).filter((x) => !x.given_back)).toHaveLength(1);
    expect(await linkOrphanEvents(platform.deps.sql, platform.deps.actionsHook)).toBe(0);
  });

  it('a reversal and a clearing sent while their authorization is being stored each settle once', async () => {
    const at = merchant();
    const trigger = await scene.createTrigger(cashbackAt(at.mid, { total_redemptions: 5 }));
    const holder = await scene.cardholder();
    const auth = authorization({ pan: holder.pan, merchant: at, auth_code: 'RACE03' });
    const { inside, release } = await holdNextReserve();
    const sent = other.send(scene.processor, auth);
    await inside;
    const followers = scene.send(
      follower('clearing', { pan: holder.pan, merchant: at, auth_code: 'RACE03' }),
      follower('reversal', { pan: holder.pan, merchant: at, original_id: auth.id, amount: 475 }),
    );
    await expect.poll(waitingForCardLock).toBe(1);
    release();
    const [[a], [c, r]] = await Promise.all([sent, followers]);
    expect([a!.actions, c!.actions, r!.actions]).toEqual([1, 0, 0]);
    // Reversed in full at ingestion: the redemption is given back without waiting for the orphan sweep.
    expect(await actionsOf(trigger.id)).toEqual([{ purchase_id: a!.event_id, given_back: true }]);
    expect(await counters(trigger.id)).toEqual({ redemptions: 0 });
  });

  it('a clearing whose card token is linked while its batch waits for another card still waits for its authorization', async () => {
    const at = merchant();
    const trigger = await scene.createTrigger(cashbackAt(at.mid));
    const [x, y] = [await scene.cardholder(), await scene.cardholder()];
    const token = `tok_race_${Date.now().toString(36)}`;
    // Card X is held by the other process (a clearing: it takes the transaction), so the batch with the
    // token's clearing waits for X's lock.
    const holdX = await holdNextReserve();
    const onX = other.send(scene.processor, follower('clearing', { pan: x.pan, merchant: merchant() }));
    await holdX.inside;
    let batchDone = false;
    const batch = scene
      .send(
        authorization({ pan: x.pan, merchant: merchant() }),
        follower('clearing', { token, merchant: at, auth_code: 'TOK001' }),
      )
      .finally(() => {
        batchDone = true;
      });
    await expect.poll(waitingForCardLock).toBe(1);
    const [firstWait] = await cardLockWaits();
    // Meanwhile the token is linked to card Y, and Y's authorization is being stored (held, uncommitted).
    const linked = await processorRequest(platform, scene.processor, '/v1/card_tokens', {
      token,
      pan: y.pan,
    });
    expect(linked.status).toBe(201);
    const holdY = await holdNextReserve();
    const onY = other.send(scene.processor, authorization({ pan: y.pan, merchant: at, auth_code: 'TOK001' }));
    await holdY.inside;
    holdX.release();
    await onX;
    // The batch must not store the clearing on Y without Y's lock: it waits for Y's authorization to commit.
    // Done, or waiting again in a new transaction (its retry): not the wait for X seen before.
    await expect
      .poll(async () => batchDone || (await cardLockWaits()).some((began) => began !== firstWait))
      .toBe(true);
    holdY.release();
    const [[, clearing], [auth]] = await Promise.all([batch, onY]);
    expect([auth!.actions, clearing!.actions]).toEqual([1, 0]);
    expect((await actionsOf(trigger.id)).filter((a) => !a.given_back)).toHaveLength(1);
  });

  it('authorizations and clearings sent at once to two processes, in either order, fire each purchase once', async () => {
    const at = merchant();
    const trigger = await scene.createTrigger(cashbackAt(at.mid));
    const holders = await scene.cardholders(40);
    await other.deps.triggerRegistry.catchUp();
    const results = await Promise.all(
      holders.map(async (holder, i) => {
        const code = `PAIR${String(i).padStart(2, '0')}`;
        const auth = () =>
          scene.send(authorization({ pan: holder.pan, merchant: at, auth_code: code, amount: 1000 + i }));
        const clearing = () =>
          other.send(
            scene.processor,
            follower('clearing', { pan: holder.pan, merchant: at, auth_code: code, amount: 1000 + i }),
          );
        const [first, second] = i % 2 === 0 ? [auth(), clearing()] : [clearing(), auth()];
        const [[x], [y]] = await Promise.all([first, second]);
        return x!.actions + y!.actions;
      }),
    );
    expect(results).toEqual(holders.map(() => 1));
    const fired = await actionsOf(trigger.id);
    expect(fired.filter((x) => !x.given_back)).toHaveLength(40);
    expect(fired).toHaveLength(40);
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
