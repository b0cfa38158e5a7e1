import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { usePlatform } from '../helpers/platform.ts';
import { authorization, follower } from '../ingest/fixtures.ts';
import {
  type Cardholder,
  type OtherProcess,
  otherProcess,
  type RewardsScene,
  rewardsScene,
} from './support.ts';

// Small batches, as many transactions in flight as the batcher allows: the limits are decided by transactions
// that overlap, not by one transaction holding every request's events.
const platform = usePlatform({
  env: { INGEST_MAX_EVENTS: '10', INGEST_MAX_IN_FLIGHT: '8', INGEST_PARALLEL_FROM: '1' },
});
let scene: RewardsScene;
let other: OtherProcess;
const holders: Cardholder[] = [];

const CARDHOLDERS = 300;
const PER_REQUEST = 10;

let midSeed = 100;
const merchant = () => {
  const mid = `R${midSeed++}`;
  return { mid, name: 'BLUE BOTTLE COFFEE', mcc: '5814', city: 'Oakland', country: 'US' };
};

/**
 * One purchase per cardholder at `mid`, posted as concurrent requests of PER_REQUEST events (30 in flight at
 * once); with `twoProcesses`, every other request goes to the other API process. Answers the actions counted.
 */
async function rush(
  at: ReturnType<typeof merchant>,
  twoProcesses = false,
  sent: Record<string, unknown>[] = holders.map((holder) => authorization({ pan: holder.pan, merchant: at })),
): Promise<number> {
  const requests: Promise<{ actions: number }[]>[] = [];
  for (let from = 0, n = 0; from < sent.length; from += PER_REQUEST, n++) {
    const events = sent.slice(from, from + PER_REQUEST);
    requests.push(
      twoProcesses && n % 2 === 1 ? other.send(scene.processor, ...events) : scene.send(...events),
    );
  }
  const results = (await Promise.all(requests)).flat();
  expect(results).toHaveLength(sent.length);
  return results.reduce((sum, r) => sum + r.actions, 0);
}

const totalsOf = async (triggerId: string) => {
  const [row] = await platform.deps.sql<
    { actions: number; rewards: number; counted: number; spent: number; misses: number }[]
  >`
    select (select count(*)::int from actions where trigger_id = ${triggerId}) as actions,
      (select coalesce(sum(reward_amount), 0)::int from actions where trigger_id = ${triggerId}) as rewards,
      (select redemptions::int from trigger_counters where trigger_id = ${triggerId}) as counted,
      (select budget_spent::int from trigger_counters where trigger_id = ${triggerId}) as spent,
      (select count(*)::int from trigger_misses where trigger_id = ${triggerId}) as misses`;
  return row!;
};

beforeAll(async () => {
  scene = await rewardsScene(platform);
  other = await otherProcess(platform);
  holders.push(...(await scene.cardholders(CARDHOLDERS)));
});

afterAll(async () => {
  await other?.close();
});

const redemptionsTrigger = (at: ReturnType<typeof merchant>) => ({
  name: 'First hundred',
  match: { mids: [at.mid] },
  limits: { total_redemptions: 100 },
  action: { type: 'cashback', fixed: 100 },
});

// 47 per purchase: 21 whole rewards make 987, the 22nd is cut to 13.
const budgetTrigger = (at: ReturnType<typeof merchant>) => ({
  name: 'Ten dollars of cashback',
  match: { mids: [at.mid] },
  limits: { budget: { amount: 1000, currency: 'USD' } },
  action: { type: 'cashback', percent_bps: 1000 },
});

describe.each([
  ['one API process', false],
  ['two API processes on one database', true],
])('concurrent purchases through %s', (_, twoProcesses) => {
  it('fire a trigger with total_redemptions: 100 exactly 100 times', async () => {
    const at = merchant();
    const trigger = await scene.createTrigger(redemptionsTrigger(at));
    expect(await rush(at, twoProcesses)).toBe(100);
    expect(await totalsOf(trigger.id)).toMatchObject({ actions: 100, counted: 100, misses: 200 });
  });

  it('spend a cashback budget to the cent, never over', async () => {
    const at = merchant();
    const trigger = await scene.createTrigger(budgetTrigger(at));
    expect(await rush(at, twoProcesses)).toBe(22);
    expect(await totalsOf(trigger.id)).toMatchObject({
      actions: 22,
      rewards: 1000,
      spent: 1000,
      counted: 22,
      misses: 278,
    });
  });
});

describe('concurrent purchases and reversals on one trigger, through two API processes', () => {
  it('count every firing and every give-back once, whatever the interleaving', async () => {
    const at = merchant();
    const trigger = await scene.createTrigger({
      name: 'Busy',
      match: { mids: [at.mid] },
      limits: { total_redemptions: 1000, per_card: 1, budget: { amount: 100_000, currency: 'USD' } },
      action: { type: 'cashback', percent_bps: 1000 },
    });
    const firsts = holders.slice(0, 150).map((holder) => authorization({ pan: holder.pan, merchant: at }));
    expect(await rush(at, true, firsts)).toBe(150);
    // Each of the first 150 cardholders reverses their purchase while the other 150 buy, mixed in every request.
    const mixed = holders.flatMap((holder, i) =>
      i < 150
        ? [follower('reversal', { pan: holder.pan, merchant: at, original_id: firsts[i]!.id, amount: 475 })]
        : [authorization({ pan: holder.pan, merchant: at })],
    );
    const interleaved = mixed.map((_, i) => mixed[i % 2 === 0 ? i / 2 : 150 + (i - 1) / 2]!);
    expect(await rush(at, true, interleaved)).toBe(150);
    expect(await totalsOf(trigger.id)).toMatchObject({ actions: 300, counted: 150, spent: 150 * 47 });
  });
});

describe('one card buying in many concurrent requests, through two API processes', () => {
  const oneCard = (at: ReturnType<typeof merchant>) =>
    Array.from({ length: 60 }, () => authorization({ pan: holders[0]!.pan, merchant: at }));

  it('fires per_card: 5 exactly 5 times', async () => {
    const at = merchant();
    const trigger = await scene.createTrigger({ ...redemptionsTrigger(at), limits: { per_card: 5 } });
    expect(await rush(at, true, oneCard(at))).toBe(5);
    expect(await totalsOf(trigger.id)).toMatchObject({ actions: 5, misses: 55 });
  });

  it('fires an nth_purchase (n = 3) trigger on exactly every third purchase', async () => {
    const at = merchant();
    const trigger = await scene.createTrigger({
      ...redemptionsTrigger(at),
      match: { mids: [at.mid], nth_purchase: { n: 3 } },
      limits: {},
    });
    expect(await rush(at, true, oneCard(at))).toBe(20);
    expect(await totalsOf(trigger.id)).toMatchObject({ actions: 20, misses: 40 });
  });
});
