// Random purchase lifecycles (clearings, refunds, reversals, days passing, payouts, in any order), each settled or
// not after every step: the ledger stays sound throughout, and each reward holds what a plain model of the rules says.
import fc from 'fast-check';
import { beforeAll, expect, it } from 'vitest';
import { AppError } from '../../src/errors.ts';
import { createPayout } from '../../src/ledger/payouts.ts';
import { type Cardholder, type RewardsScene, rewardsScene } from '../actions/support.ts';
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
  rewardsOf,
  userBuckets,
} from './support.ts';

const platform = usePlatform();
let scene: RewardsScene;
let ledger: LedgerDriver;
const at = { mid: 'LP1', name: 'BLUE BOTTLE COFFEE', mcc: '5814', country: 'US' };
const RETURN_DAYS = 7;

beforeAll(async () => {
  scene = await rewardsScene(platform, { scopes: ['transactions', 'cashback', 'loyalty'] });
  ledger = ledgerDriver(platform);
  await scene.createTrigger({
    name: 'Cashback',
    match: { mids: [at.mid] },
    action: { type: 'cashback', percent_bps: 1000 },
  });
  await scene.createTrigger({
    name: 'Points',
    match: { mids: [at.mid] },
    action: { type: 'points', fixed: 5, per_unit: 1, available_after_days: RETURN_DAYS },
  });
});

type Step =
  | { kind: 'purchase'; amount: number }
  | { kind: 'clearing' | 'refund' | 'reversal'; purchase: number; share: number }
  | { kind: 'travel'; days: number }
  | { kind: 'payout'; share: number };

const amount = fc.integer({ min: 1, max: 20_000 });
/** Of the purchase's amount: often all of it, else a part (rounded, at least 1). */
const part = fc.oneof(fc.constant(1), fc.double({ min: 0.05, max: 1, noNaN: true }));
const follow = (kind: 'clearing' | 'refund' | 'reversal', weight: number) => ({
  weight,
  arbitrary: fc.record({ kind: fc.constant(kind), purchase: fc.nat(), share: part }),
});
const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('purchase' as const), amount }) },
  follow('clearing', 4),
  follow('refund', 2),
  follow('reversal', 1),
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constant('travel' as const), days: fc.integer({ min: 1, max: 35 }) }),
  },
  // A share of what is available; above 1 asks for more than there is.
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('payout' as const),
      share: fc.double({ min: 0.5, max: 1.3, noNaN: true }),
    }),
  },
);
const lifecycle = fc.tuple(
  amount,
  // Settled after most steps, so a payout finds what cleared available; some changes are settled together.
  fc.array(fc.record({ step, settle: fc.oneof(fc.constant(true), fc.constant(true), fc.constant(false)) }), {
    minLength: 1,
    maxLength: 12,
  }),
);

/** A purchase as the model sees it: its totals, and for each reward it fired, whether it expired (and with what). */
interface ModelPurchase {
  externalId: string;
  amount: number;
  cleared: number;
  refunded: number;
  reversed: number;
  rewards: { actionId: string; earned: number; returnDays: number; expired: number | null }[];
}

/** The rules, plainly: what a reward holds live, and what of that is available, at `offsetDays` after the start. */
function modelled(
  p: ModelPurchase,
  reward: ModelPurchase['rewards'][number],
  offsetDays: number,
  expiryDays: number,
) {
  const A = p.amount;
  const R = reward.earned;
  const takenInFull =
    p.reversed >= A || (p.cleared > 0 && p.refunded >= p.cleared) || p.refunded + p.reversed >= A;
  const base = p.cleared > 0 ? Math.min(p.cleared, A) : A - p.reversed;
  const live = takenInFull ? 0 : Math.floor((R * Math.max(0, base - p.refunded)) / A);
  const expires = !takenInFull && p.cleared === 0 && offsetDays >= expiryDays;
  const available = p.cleared > 0 && offsetDays >= reward.returnDays ? live : 0;
  return { live, available, expires };
}

async function run(firstAmount: number, steps: { step: Step; settle: boolean }[]) {
  const holder: Cardholder = await scene.cardholder(['cashback', 'loyalty']);
  const clock = new Clock();
  let offsetDays = 0;
  const purchases: ModelPurchase[] = [];
  const expiryDays = ledger.options.authorizationExpiryDays;

  /** Compares each reward with the model, right after it was opened or settled (expiry is decided then). */
  const check = async (...checked: ModelPurchase[]) => {
    const rows = await rewardsOf(
      platform,
      checked.flatMap((p) => p.rewards.map((r) => r.actionId)),
    );
    for (const p of checked)
      for (const reward of p.rewards) {
        const row = rows.get(reward.actionId)!;
        if (reward.expired === null) {
          const model = modelled(p, reward, offsetDays, expiryDays);
          if (model.expires) reward.expired = model.live;
          else {
            expect(row.pending + row.available, `${reward.actionId} live`).toBe(model.live);
            expect(row.available, `${reward.actionId} available`).toBe(model.available);
          }
        }
        if (reward.expired !== null)
          expect(row, `${reward.actionId} expired`).toMatchObject({
            pending: 0,
            available: 0,
            expired: reward.expired,
          });
      }
  };
  const settleAndCheck = async () => {
    await ledger.settle(
      purchases.flatMap((p) => p.rewards.map((r) => r.actionId)),
      clock.now(),
    );
    await check(...purchases);
  };

  for (const { step: s, settle } of [
    { step: { kind: 'purchase', amount: firstAmount } as Step, settle: true },
    ...steps,
  ]) {
    switch (s.kind) {
      case 'purchase': {
        const externalId = `auth-lp-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 10)}`;
        const [fired] = await scene.send(
          authorization({ id: externalId, pan: holder.pan, merchant: at, amount: s.amount }),
        );
        const p: ModelPurchase = {
          externalId,
          amount: s.amount,
          cleared: 0,
          refunded: 0,
          reversed: 0,
          rewards: [],
        };
        for (const actionId of await actionsOfPurchase(platform, fired!.event_id)) {
          const input = await rewardInputOf(platform, actionId);
          await ledger.open(actionId, clock.now());
          p.rewards.push({
            actionId,
            earned: input.amount,
            returnDays: input.availableAfterDays,
            expired: null,
          });
        }
        purchases.push(p);
        await check(p);
        break;
      }
      case 'clearing':
      case 'refund':
      case 'reversal': {
        const p = purchases[s.purchase % purchases.length]!;
        const amount = Math.max(1, Math.round(p.amount * s.share));
        await scene.send(
          follower(s.kind, { pan: holder.pan, merchant: at, original_id: p.externalId, amount }),
        );
        if (s.kind === 'clearing') p.cleared += amount;
        else if (s.kind === 'refund') p.refunded += amount;
        else p.reversed += amount;
        break;
      }
      case 'travel':
        clock.travel(s.days);
        offsetDays += s.days;
        break;
      case 'payout': {
        const { available } = await userBuckets(
          platform,
          { appId: scene.app.id, userId: holder.userId },
          'cashback',
          'USD',
        );
        const asked = Math.max(1, Math.round(available * s.share));
        const paid = createPayout(platform.deps.db, {
          appId: scene.app.id,
          userId: holder.userId,
          amount: asked,
          currency: 'USD',
        });
        if (asked <= available) await paid;
        else
          await expect(paid).rejects.toSatisfy(
            (e) => e instanceof AppError && e.code === 'insufficient_balance',
          );
        break;
      }
    }
    if (settle) await settleAndCheck();
    await expectLedgerSound(platform);
  }
  await settleAndCheck();
  // Settled again at the same instant: nothing more.
  const entries = await entryCount(platform);
  const again = await ledger.settle(
    purchases.flatMap((p) => p.rewards.map((r) => r.actionId)),
    clock.now(),
  );
  expect(again.flat()).toEqual([]);
  expect(await entryCount(platform)).toBe(entries);
  await expectLedgerSound(platform);
}

it('keeps every balance the sum of its entries, never negative, and each reward as the rules say', async () => {
  await fc.assert(
    fc.asyncProperty(lifecycle, ([first, steps]) => run(first, steps)),
    { numRuns: 30, endOnFailure: true },
  );
}, 60_000);
