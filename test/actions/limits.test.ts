import { beforeAll, describe, expect, it } from 'vitest';
import { cards } from '../../src/db/schema/index.ts';
import { newId } from '../../src/lib/ids.ts';
import { usePlatform } from '../helpers/platform.ts';
import { authorization, follower, testPan } from '../ingest/fixtures.ts';
import { type Cardholder, type RewardsScene, rewardsScene } from './support.ts';

const platform = usePlatform();
let scene: RewardsScene;

/** Each test's own merchant, so triggers of earlier tests never match its purchases. */
let midSeed = 100;
const merchant = () => {
  const mid = `L${midSeed++}`;
  return { mid, name: 'BLUE BOTTLE COFFEE', mcc: '5814', city: 'Oakland', country: 'US' };
};
type Merchant = ReturnType<typeof merchant>;

/** 10% cashback at one MID (475 → 47), with what a test adds. */
const cashback = (at: Merchant, extra: { match?: object; limits?: object; action?: object } = {}) => ({
  name: 'Coffee cashback',
  match: { mids: [at.mid], ...extra.match },
  ...(extra.limits ? { limits: extra.limits } : {}),
  action: { type: 'cashback', percent_bps: 1000, ...extra.action },
});

/** A purchase by `holder` at `at`; `local` is the wall clock where the card was used, at UTC−08:00. */
const purchase = (holder: Cardholder, at: Merchant, options: Record<string, unknown> = {}) =>
  authorization({ pan: holder.pan, merchant: at, ...options });
const localPst = (wallClock: string) => `${wallClock}-08:00`;

/** Sends events one request each, in order, and answers the `actions` of each. */
async function fired(...events: Record<string, unknown>[]): Promise<number[]> {
  const counts: number[] = [];
  for (const event of events) counts.push((await scene.send(event))[0]!.actions);
  return counts;
}

const actionsOf = (triggerId: string) =>
  platform.deps.sql<
    {
      purchase_id: string;
      reward_amount: number | null;
      points: number | null;
      budget_spend: number;
      budget_given_back: number;
      given_back: boolean;
    }[]
  >`
    select purchase_id, reward_amount::int, points::int, budget_spend::int, budget_given_back::int,
      given_back_at is not null as given_back
    from actions where trigger_id = ${triggerId} order by id`;

const missesOf = (triggerId: string) =>
  platform.deps.sql<
    { event_id: string; reason: string; progress_have: number | null; progress_need: number | null }[]
  >`
    select event_id, reason, progress_have, progress_need from trigger_misses
    where trigger_id = ${triggerId} order by event_id`;

const countersOf = async (triggerId: string) => {
  const [row] = await platform.deps.sql<{ redemptions: number; budget_spent: number }[]>`
    select redemptions::int, budget_spent::int from trigger_counters where trigger_id = ${triggerId}`;
  return row;
};

const cardStateOf = async (triggerId: string, cardId: string) => {
  const [row] = await platform.deps.sql<{ fires: number; stamps: [string, number][] }[]>`
    select fires, stamps from trigger_card_states where trigger_id = ${triggerId} and card_id = ${cardId}`;
  return row;
};

/** A second card of the same user (a cardholder with two cards in their wallet). */
async function secondCard(holder: Cardholder, seed: number): Promise<Cardholder> {
  const pan = testPan(seed);
  const cardId = newId('crd');
  await platform.deps.db.insert(cards).values({
    id: cardId,
    userId: holder.userId,
    fingerprint: platform.deps.cardKeys.fingerprint(pan),
    bin: pan.slice(0, 6),
    last4: pan.slice(-4),
    scheme: 'visa',
    expMonth: 12,
    expYear: 2030,
  });
  return { userId: holder.userId, cardId, pan };
}

beforeAll(async () => {
  scene = await rewardsScene(platform);
});

describe('first_purchase', () => {
  it('fires on the first purchase at the merchant only', async () => {
    const at = merchant();
    const trigger = await scene.createTrigger(cashback(at, { match: { first_purchase: true } }));
    const holder = await scene.cardholder();
    const [first, second] = await scene.send(purchase(holder, at), purchase(holder, at));
    expect([first!.actions, second!.actions]).toEqual([1, 0]);
    expect(await fired(purchase(holder, at))).toEqual([0]);
    expect((await actionsOf(trigger.id)).map((a) => a.purchase_id)).toEqual([first!.event_id]);
    expect((await missesOf(trigger.id)).map((m) => m.reason)).toEqual([
      'not_first_purchase',
      'not_first_purchase',
    ]);
  });

  it('counts a purchase made at the merchant before the trigger existed, and none made elsewhere', async () => {
    const at = merchant();
    const elsewhere = merchant();
    const regular = await scene.cardholder();
    const newcomer = await scene.cardholder();
    expect(await fired(purchase(regular, at), purchase(newcomer, elsewhere))).toEqual([0, 0]);
    await scene.createTrigger(cashback(at, { match: { first_purchase: true } }));
    expect(await fired(purchase(regular, at), purchase(newcomer, at))).toEqual([0, 1]);
  });

  it('counts earlier purchases of a clearing-only feed, in the batch and before it', async () => {
    const at = merchant();
    await scene.createTrigger(cashback(at, { match: { first_purchase: true } }));
    const [holder, other] = [await scene.cardholder(), await scene.cardholder()];
    const clearing = (who: Cardholder, code: string) =>
      follower('clearing', { pan: who.pan, merchant: at, auth_code: code });
    expect(await fired(clearing(holder, 'CL0001'), clearing(holder, 'CL0002'))).toEqual([1, 0]);
    const results = await scene.send(clearing(other, 'CL0003'), clearing(other, 'CL0004'));
    expect(results.map((r) => r.actions)).toEqual([1, 0]);
  });

  it('does not count a purchase reversed in full', async () => {
    const at = merchant();
    await scene.createTrigger(cashback(at, { match: { first_purchase: true } }));
    const holder = await scene.cardholder();
    const voided = purchase(holder, at);
    expect(
      await fired(
        voided,
        follower('reversal', { pan: holder.pan, merchant: at, original_id: voided.id, amount: 475 }),
        purchase(holder, at),
        purchase(holder, at),
      ),
    ).toEqual([1, 0, 1, 0]);
  });
});

describe('nth_purchase', () => {
  it('stamps purchases short of the nth with their progress, fires on the nth, and again on the 2n-th with repeat', async () => {
    const at = merchant();
    const trigger = await scene.createTrigger(cashback(at, { match: { nth_purchase: { n: 3 } } }));
    const holder = await scene.cardholder();
    const results = await scene.send(...Array.from({ length: 6 }, () => purchase(holder, at)));
    expect(results.map((r) => r.actions)).toEqual([0, 0, 1, 0, 0, 1]);
    const misses = await missesOf(trigger.id);
    expect(misses).toEqual(
      [0, 1, 3, 4].map((i) => ({
        event_id: results[i]!.event_id,
        reason: 'not_nth_purchase',
        progress_have: (i % 3) + 1,
        progress_need: 3,
      })),
    );
  });

  it('fires once per card without repeat', async () => {
    const at = merchant();
    await scene.createTrigger(cashback(at, { match: { nth_purchase: { n: 2, repeat: false } } }));
    const holder = await scene.cardholder();
    expect(await fired(...Array.from({ length: 5 }, () => purchase(holder, at)))).toEqual([0, 1, 0, 0, 0]);
  });

  it('does not count a stamp older than window_days', async () => {
    const at = merchant();
    const trigger = await scene.createTrigger(
      cashback(at, { match: { nth_purchase: { n: 2, window_days: 7 } } }),
    );
    const holder = await scene.cardholder();
    const results = await fired(
      purchase(holder, at, { occurred_at: localPst('2026-11-01T09:00:00') }),
      purchase(holder, at, { occurred_at: localPst('2026-11-20T09:00:00') }),
      purchase(holder, at, { occurred_at: localPst('2026-11-23T09:00:00') }),
    );
    expect(results).toEqual([0, 0, 1]);
    expect((await missesOf(trigger.id)).map((m) => [m.progress_have, m.progress_need])).toEqual([
      [1, 2],
      [1, 2],
    ]);
  });
});

describe('limits', () => {
  it('per_card: a card fires up to its limit; another card still fires', async () => {
    const at = merchant();
    const trigger = await scene.createTrigger(cashback(at, { limits: { per_card: 2 } }));
    const [one, two] = [await scene.cardholder(), await scene.cardholder()];
    expect(await fired(purchase(one, at), purchase(one, at), purchase(one, at), purchase(two, at))).toEqual([
      1, 1, 0, 1,
    ]);
    expect((await missesOf(trigger.id)).map((m) => m.reason)).toEqual(['limit_per_card_reached']);
  });

  it("per_user_per_day counts in the merchant's local day, over all the user's cards", async () => {
    const at = merchant();
    const trigger = await scene.createTrigger(cashback(at, { limits: { per_user_per_day: 1 } }));
    const holder = await scene.cardholder();
    const otherCard = await secondCard(holder, 7_100);
    // 23:30 and 00:30 in Oakland are one UTC day (07:30Z and 08:30Z on the 24th) but two local days.
    expect(
      await fired(
        purchase(holder, at, { occurred_at: localPst('2026-11-23T23:30:00') }),
        purchase(holder, at, { occurred_at: localPst('2026-11-24T00:30:00') }),
        purchase(otherCard, at, { occurred_at: localPst('2026-11-24T10:00:00') }),
      ),
    ).toEqual([1, 1, 0]);
    expect((await missesOf(trigger.id)).map((m) => m.reason)).toEqual(['limit_per_user_per_day_reached']);
  });

  it('total_redemptions: fires that many times over all cards, then redemptions_exhausted', async () => {
    const at = merchant();
    const trigger = await scene.createTrigger(cashback(at, { limits: { total_redemptions: 2 } }));
    const holders = [await scene.cardholder(), await scene.cardholder(), await scene.cardholder()];
    expect(await fired(...holders.map((h) => purchase(h, at)))).toEqual([1, 1, 0]);
    expect(await countersOf(trigger.id)).toEqual({ redemptions: 2, budget_spent: 0 });
    expect((await missesOf(trigger.id)).map((m) => m.reason)).toEqual(['redemptions_exhausted']);
  });

  it('budget: the last cashback is cut to what is left, then budget_exhausted', async () => {
    const at = merchant();
    const trigger = await scene.createTrigger(
      cashback(at, { limits: { budget: { amount: 100, currency: 'USD' } } }),
    );
    const holder = await scene.cardholder();
    expect(await fired(...Array.from({ length: 4 }, () => purchase(holder, at)))).toEqual([1, 1, 1, 0]);
    expect((await actionsOf(trigger.id)).map((a) => [a.reward_amount, a.budget_spend])).toEqual([
      [47, 47],
      [47, 47],
      [6, 6],
    ]);
    expect(await countersOf(trigger.id)).toEqual({ redemptions: 3, budget_spent: 100 });
    expect((await missesOf(trigger.id)).map((m) => m.reason)).toEqual(['budget_exhausted']);
  });
});

describe('rewards', () => {
  it('cashback: fixed + the percentage rounded down, capped by max', async () => {
    const at = merchant();
    const trigger = await scene.createTrigger(
      cashback(at, { action: { percent_bps: 333, fixed: 10, max: 150 } }),
    );
    const holder = await scene.cardholder();
    // 1001 × 3.33% = 33.33 → 33 (+10); 1999 × 3.33% = 66.57 → 66 (+10); 9000 × 3.33% = 299.7 → capped at 150.
    await fired(
      purchase(holder, at, { amount: 1001 }),
      purchase(holder, at, { amount: 1999 }),
      purchase(holder, at, { amount: 9000 }),
    );
    expect((await actionsOf(trigger.id)).map((a) => a.reward_amount)).toEqual([43, 76, 150]);
  });

  it('points: fixed + per_unit × whole major units of the amount', async () => {
    const at = merchant();
    const trigger = await scene.createTrigger({
      name: 'Coffee points',
      match: { mids: [at.mid] },
      action: { type: 'points', fixed: 5, per_unit: 2 },
    });
    const holder = await scene.cardholder();
    await fired(
      purchase(holder, at, { amount: 475, currency: 'USD' }),
      purchase(holder, at, { amount: 99, currency: 'USD' }),
      purchase(holder, at, { amount: 475, currency: 'JPY' }),
    );
    expect((await actionsOf(trigger.id)).map((a) => [a.points, a.reward_amount])).toEqual([
      [13, null],
      [5, null],
      [955, null],
    ]);
  });
});

describe('stateless conditions, read in local time', () => {
  it('a local_time window passing midnight', async () => {
    const at = merchant();
    await scene.createTrigger(cashback(at, { match: { local_time: { from: '22:00', to: '02:00' } } }));
    const holder = await scene.cardholder();
    const at_ = (clock: string) => purchase(holder, at, { occurred_at: clock });
    expect(
      await fired(
        at_(localPst('2026-11-23T21:59:00')),
        at_(localPst('2026-11-23T22:00:00')),
        at_(localPst('2026-11-23T23:30:00')),
        at_(localPst('2026-11-24T01:59:00')),
        at_(localPst('2026-11-24T02:00:00')),
        at_(localPst('2026-11-24T12:00:00')),
        // 23:00 in Tokyo is 14:00Z: only the local clock puts it in the window.
        at_('2026-11-24T23:00:00+09:00'),
      ),
    ).toEqual([0, 1, 1, 1, 0, 0, 1]);
  });

  it("a registered merchant's time zone gives the local time of an event stating none", async () => {
    const at = merchant();
    const registered = await platform.admin('POST', '/v1/merchants', {
      body: { name: 'Blue Bottle', mids: [at.mid], timezone: 'America/Los_Angeles' },
    });
    expect(registered.status).toBe(201);
    await scene.createTrigger({
      name: 'Late coffee',
      match: { merchant_ids: [registered.body.id], local_time: { from: '22:00', to: '02:00' } },
      action: { type: 'cashback', percent_bps: 1000 },
    });
    const holder = await scene.cardholder();
    // 07:30Z is 23:30 in Oakland (PST); 12:00Z is 04:00.
    expect(
      await fired(
        purchase(holder, at, { occurred_at: '2026-11-24T07:30:00Z' }),
        purchase(holder, at, { occurred_at: '2026-11-24T12:00:00Z' }),
      ),
    ).toEqual([1, 0]);
  });

  it('days_of_week', async () => {
    const at = merchant();
    await scene.createTrigger(cashback(at, { match: { days_of_week: [1] } }));
    const holder = await scene.cardholder();
    // Monday 23:30 in Oakland is Tuesday in UTC; Tuesday 00:30 in Oakland is not Monday.
    expect(
      await fired(
        purchase(holder, at, { occurred_at: localPst('2026-11-23T23:30:00') }),
        purchase(holder, at, { occurred_at: localPst('2026-11-24T00:30:00') }),
        purchase(holder, at, { occurred_at: '2026-11-22T23:30:00Z' }),
      ),
    ).toEqual([1, 0, 0]);
  });

  it('amount_min and amount_max, both included', async () => {
    const at = merchant();
    await scene.createTrigger(cashback(at, { match: { amount_min: 300, amount_max: 500 } }));
    const holder = await scene.cardholder();
    expect(await fired(...[299, 300, 500, 501].map((amount) => purchase(holder, at, { amount })))).toEqual([
      0, 1, 1, 0,
    ]);
  });
});

describe('giving back', () => {
  const reversal = (holder: Cardholder, at: Merchant, of: { id: string }, amount = 475) =>
    follower('reversal', { pan: holder.pan, merchant: at, original_id: of.id, amount });
  const refund = (holder: Cardholder, at: Merchant, of: { id: string }, amount: number) =>
    follower('refund', { pan: holder.pan, merchant: at, original_id: of.id, amount });

  it('a reversal gives back the redemption', async () => {
    const at = merchant();
    const trigger = await scene.createTrigger(cashback(at, { limits: { total_redemptions: 1 } }));
    const [one, two] = [await scene.cardholder(), await scene.cardholder()];
    const first = purchase(one, at);
    expect(await fired(first, purchase(two, at))).toEqual([1, 0]);
    expect(await fired(reversal(one, at, first))).toEqual([0]);
    expect(await countersOf(trigger.id)).toEqual({ redemptions: 0, budget_spent: 0 });
    expect(await fired(purchase(two, at))).toEqual([1]);
    expect((await actionsOf(trigger.id)).map((a) => a.given_back)).toEqual([true, false]);
    expect(await countersOf(trigger.id)).toEqual({ redemptions: 1, budget_spent: 0 });
  });

  it('a full refund gives back the budget and the per_card count', async () => {
    const at = merchant();
    const trigger = await scene.createTrigger(
      cashback(at, { limits: { per_card: 1, budget: { amount: 1000, currency: 'USD' } } }),
    );
    const holder = await scene.cardholder();
    const first = purchase(holder, at);
    expect(await fired(first, purchase(holder, at))).toEqual([1, 0]);
    expect(await countersOf(trigger.id)).toEqual({ redemptions: 1, budget_spent: 47 });
    expect(await fired(refund(holder, at, first, 475))).toEqual([0]);
    expect(await countersOf(trigger.id)).toEqual({ redemptions: 0, budget_spent: 0 });
    expect(await cardStateOf(trigger.id, holder.cardId)).toMatchObject({ fires: 0 });
    expect(await fired(purchase(holder, at))).toEqual([1]);
    expect(
      (await actionsOf(trigger.id)).map((a) => [a.budget_spend, a.budget_given_back, a.given_back]),
    ).toEqual([
      [47, 47, true],
      [47, 0, false],
    ]);
  });

  it('a partial refund gives back budget pro rata (rounded down), the rest with the refund that completes it', async () => {
    const at = merchant();
    const trigger = await scene.createTrigger(
      cashback(at, { limits: { budget: { amount: 1000, currency: 'USD' } } }),
    );
    const holder = await scene.cardholder();
    const bought = purchase(holder, at);
    await fired(bought);
    // 47 × 200 / 475 = 19.79 → 19 given back.
    await fired(refund(holder, at, bought, 200));
    expect(await countersOf(trigger.id)).toEqual({ redemptions: 1, budget_spent: 28 });
    expect((await actionsOf(trigger.id)).map((a) => [a.budget_given_back, a.given_back])).toEqual([
      [19, false],
    ]);
    await fired(refund(holder, at, bought, 275));
    expect(await countersOf(trigger.id)).toEqual({ redemptions: 0, budget_spent: 0 });
    expect((await actionsOf(trigger.id)).map((a) => [a.budget_given_back, a.given_back])).toEqual([
      [47, true],
    ]);
  });

  it('a reversal that came before its authorization gives back what the authorization used', async () => {
    const at = merchant();
    const trigger = await scene.createTrigger(cashback(at, { limits: { total_redemptions: 1 } }));
    const [one, two, three] = [await scene.cardholder(), await scene.cardholder(), await scene.cardholder()];
    // Named by original_id, and matched by card (no original_id): both wait for their authorization.
    const named = purchase(one, at);
    const matched = purchase(two, at, { auth_code: 'EARLY1' });
    await fired(
      reversal(one, at, named),
      follower('reversal', { pan: two.pan, merchant: at, auth_code: 'EARLY1', amount: 475 }),
    );
    await fired(named);
    expect(await countersOf(trigger.id)).toEqual({ redemptions: 0, budget_spent: 0 });
    await fired(matched);
    expect(await countersOf(trigger.id)).toEqual({ redemptions: 0, budget_spent: 0 });
    expect(await fired(purchase(three, at))).toEqual([1]);
  });

  it('a refund that came before its clearing-only purchase gives back what the clearing used', async () => {
    const at = merchant();
    const trigger = await scene.createTrigger(
      cashback(at, { limits: { per_card: 1, budget: { amount: 1000, currency: 'USD' } } }),
    );
    const holder = await scene.cardholder();
    const clearing = follower('clearing', { pan: holder.pan, merchant: at, auth_code: 'ONLYCL' });
    await fired(refund(holder, at, clearing, 475));
    await fired(clearing);
    expect(await countersOf(trigger.id)).toEqual({ redemptions: 0, budget_spent: 0 });
    expect(await fired(purchase(holder, at))).toEqual([1]);
  });

  it('a refund that came before the clearing it names gives back what the authorization used', async () => {
    const at = merchant();
    const trigger = await scene.createTrigger(
      cashback(at, { limits: { budget: { amount: 1000, currency: 'USD' } } }),
    );
    const holder = await scene.cardholder();
    const bought = purchase(holder, at);
    const clearing = follower('clearing', { pan: holder.pan, merchant: at, original_id: bought.id });
    expect(await fired(bought, refund(holder, at, clearing, 475))).toEqual([1, 0]);
    expect(await countersOf(trigger.id)).toEqual({ redemptions: 1, budget_spent: 47 });
    await fired(clearing);
    expect(await countersOf(trigger.id)).toEqual({ redemptions: 0, budget_spent: 0 });
  });

  it('a refund gives back a purchase that fired on its clearing before its authorization came', async () => {
    const at = merchant();
    const trigger = await scene.createTrigger(
      cashback(at, { limits: { budget: { amount: 1000, currency: 'USD' } } }),
    );
    const holder = await scene.cardholder();
    const clearing = follower('clearing', { pan: holder.pan, merchant: at, auth_code: 'LATE01' });
    const late = purchase(holder, at, { auth_code: 'LATE01' });
    expect(await fired(clearing, late)).toEqual([1, 0]);
    expect(await countersOf(trigger.id)).toEqual({ redemptions: 1, budget_spent: 47 });
    // Named by the clearing's id, it follows the authorization the clearing is linked to.
    await fired(refund(holder, at, clearing, 200));
    expect(await countersOf(trigger.id)).toEqual({ redemptions: 1, budget_spent: 28 });
    await fired(follower('reversal', { pan: holder.pan, merchant: at, original_id: late.id, amount: 275 }));
    expect(await countersOf(trigger.id)).toEqual({ redemptions: 0, budget_spent: 0 });
  });

  it('a reversal of a stamped purchase takes its stamp away', async () => {
    const at = merchant();
    const trigger = await scene.createTrigger(cashback(at, { match: { nth_purchase: { n: 3 } } }));
    const holder = await scene.cardholder();
    const [first, second] = [purchase(holder, at), purchase(holder, at)];
    expect(await fired(first, second, reversal(holder, at, second))).toEqual([0, 0, 0]);
    expect((await cardStateOf(trigger.id, holder.cardId))!.stamps).toHaveLength(1);
    const [third] = await scene.send(purchase(holder, at));
    expect(third!.actions).toBe(0);
    expect((await missesOf(trigger.id)).find((m) => m.event_id === third!.event_id)).toMatchObject({
      reason: 'not_nth_purchase',
      progress_have: 2,
      progress_need: 3,
    });
    expect(await fired(purchase(holder, at))).toEqual([1]);
  });

  it('reversing a firing and the purchase whose stamp it used, together, leaves no stamp', async () => {
    const at = merchant();
    const trigger = await scene.createTrigger(cashback(at, { match: { nth_purchase: { n: 2 } } }));
    const holder = await scene.cardholder();
    const [first, second] = [purchase(holder, at), purchase(holder, at)];
    expect(await fired(first, second)).toEqual([0, 1]);
    await scene.send(reversal(holder, at, first), reversal(holder, at, second));
    expect(await cardStateOf(trigger.id, holder.cardId)).toEqual({ fires: 0, stamps: [] });
    expect(await fired(purchase(holder, at))).toEqual([0]);
  });

  it('a reversal gives back the per_user_per_day count of the day the purchase was made', async () => {
    const at = merchant();
    await scene.createTrigger(cashback(at, { limits: { per_user_per_day: 1 } }));
    const holder = await scene.cardholder();
    const first = purchase(holder, at, { occurred_at: localPst('2026-11-23T23:30:00') });
    expect(
      await fired(first, purchase(holder, at, { occurred_at: localPst('2026-11-23T23:40:00') })),
    ).toEqual([1, 0]);
    await fired(reversal(holder, at, first));
    expect(await fired(purchase(holder, at, { occurred_at: localPst('2026-11-23T23:50:00') }))).toEqual([1]);
  });

  it('a reversal of an nth firing hands back the stamps it used', async () => {
    const at = merchant();
    const trigger = await scene.createTrigger(cashback(at, { match: { nth_purchase: { n: 3 } } }));
    const holder = await scene.cardholder();
    const third = purchase(holder, at);
    expect(await fired(purchase(holder, at), purchase(holder, at), third)).toEqual([0, 0, 1]);
    expect(await cardStateOf(trigger.id, holder.cardId)).toEqual({ fires: 1, stamps: [] });
    await fired(reversal(holder, at, third));
    expect(await cardStateOf(trigger.id, holder.cardId)).toMatchObject({ fires: 0 });
    expect((await cardStateOf(trigger.id, holder.cardId))!.stamps).toHaveLength(2);
    // Two stamps held: the next purchase is the third again.
    expect(await fired(purchase(holder, at))).toEqual([1]);
  });
});
