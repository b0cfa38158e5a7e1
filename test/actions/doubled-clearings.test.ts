// The orphan sweep's repair of what ingestion did before transactions took card locks (src/ingest/card-locks.ts):
// an authorization and its clearing stored side by side, both firing, and reversals linked late. Ingestion here
// runs as it did then: its card locks are taken as held without locking anything.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { linkOrphanEvents } from '../../src/ingest/maintenance.ts';
import { usePlatform } from '../helpers/platform.ts';
import { authorization, follower } from '../ingest/fixtures.ts';
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

vi.mock('../../src/ingest/card-locks.ts', async (importOriginal) => ({
  ...(await importOriginal<typeof import('../../src/ingest/card-locks.ts')>()),
  lockCards: async () => ({ has: () => true }),
}));

const platform = usePlatform();
let scene: RewardsScene;
let other: OtherProcess;
let midSeed = 950;
const merchant = () => ({ mid: `Y${midSeed++}`, name: 'SHOP', mcc: '5814', city: 'Oakland', country: 'US' });

beforeAll(async () => {
  scene = await rewardsScene(platform);
  other = await otherProcess(platform);
});
afterAll(async () => {
  await other?.close();
});

const sweep = () => linkOrphanEvents(platform.deps.sql, platform.deps.actionsHook);

/** An authorization and its clearing stored by concurrent transactions, both firing the trigger. */
async function bothFire(limits: Record<string, unknown>, code: string) {
  const at = merchant();
  const trigger = await scene.createTrigger(cashbackAt(at.mid, limits));
  const holder = await scene.cardholder();
  const auth = authorization({ pan: holder.pan, merchant: at, auth_code: code });
  const { inside, release } = await holdNextIngest(other);
  const sent = other.send(scene.processor, auth);
  await inside;
  const [clearing] = await scene.send(
    follower('clearing', { pan: holder.pan, merchant: at, auth_code: code }),
  );
  return { at, trigger, holder, auth, clearing: clearing!, release, sent };
}

describe('events stored side by side without card locks, repaired by the orphan sweep', () => {
  it('a reversal committed beside its authorization gives back once the sweep links it', async () => {
    const at = merchant();
    const trigger = await scene.createTrigger(cashbackAt(at.mid, { total_redemptions: 5 }));
    const holder = await scene.cardholder();
    const auth = authorization({ pan: holder.pan, merchant: at });
    const { inside, release } = await holdNextIngest(other);
    const sent = other.send(scene.processor, auth);
    await inside;
    await scene.send(
      follower('reversal', { pan: holder.pan, merchant: at, original_id: auth.id, amount: 475 }),
    );
    release();
    expect((await sent)[0]!.actions).toBe(1);
    expect(await sweep()).toBeGreaterThanOrEqual(1);
    expect(await triggerActions(platform, trigger.id)).toEqual([
      { purchase_id: expect.any(String), given_back: true },
    ]);
    expect(await redemptionsOf(platform, trigger.id)).toEqual({ redemptions: 0 });
  });

  it('a clearing and its authorization that both fired: the sweep gives back the doubled firing', async () => {
    const { trigger, clearing, release, sent } = await bothFire({}, 'DBL001');
    release();
    const [a] = await sent;
    expect([a!.actions, clearing.actions]).toEqual([1, 1]);
    await sweep();
    expect((await triggerActions(platform, trigger.id)).filter((x) => !x.given_back)).toHaveLength(1);
  });

  it('a reversal and the doubled clearing linked by one sweep give each firing back once', async () => {
    const { at, trigger, holder, auth, release, sent } = await bothFire({ total_redemptions: 5 }, 'DBL002');
    await scene.send(
      follower('reversal', { pan: holder.pan, merchant: at, original_id: auth.id, amount: 475 }),
    );
    release();
    await sent;
    await sweep();
    expect((await triggerActions(platform, trigger.id)).every((x) => x.given_back)).toBe(true);
    expect(await redemptionsOf(platform, trigger.id)).toEqual({ redemptions: 0 });
  });

  it('a doubled clearing linked after its authorization was reversed is given back too', async () => {
    const { at, trigger, holder, auth, release, sent } = await bothFire({ total_redemptions: 5 }, 'DBL003');
    release();
    await sent;
    await scene.send(
      follower('reversal', { pan: holder.pan, merchant: at, original_id: auth.id, amount: 475 }),
    );
    await sweep();
    expect((await triggerActions(platform, trigger.id)).every((x) => x.given_back)).toBe(true);
    expect(await redemptionsOf(platform, trigger.id)).toEqual({ redemptions: 0 });
  });
});
