// The ledger as dispatch drives it: events go through the API (which writes the actions), then the tests open and
// settle rewards in transactions of their own, with `now` given (time travel), as the worker will.
import { expect } from 'vitest';
import type { RewardKind } from '../../src/db/schema/index.ts';
import type { Notice } from '../../src/dispatch/notice.ts';
import { openReward, type RewardInput, settleRewards } from '../../src/ledger/rewards.ts';
import type { TestPlatform } from '../helpers/platform.ts';

export const DAY_MS = 24 * 60 * 60 * 1000;

/** The clock the tests pass as `now`: the real one (events are received on it) plus the days travelled. */
export class Clock {
  offsetMs = 0;
  now = () => new Date(Date.now() + this.offsetMs);
  travel(days: number) {
    this.offsetMs += days * DAY_MS;
  }
  /** A date `days` after `from`, then a second more, so a boundary at `from + days` has passed by then. */
  static after = (from: Date, days: number) => new Date(from.getTime() + days * DAY_MS + 1000);
}

/** The reward an action earned, as the worker will build it from the action and its trigger version. */
export async function rewardInputOf(platform: TestPlatform, actionId: string): Promise<RewardInput> {
  const [row] = await platform.deps.sql<
    {
      id: string;
      app_id: string;
      user_id: string;
      type: RewardKind;
      reward_amount: string | null;
      reward_currency: string | null;
      points: string | null;
      purchase_id: string;
      purchase_received_at: Date;
      available_after_days: number | null;
    }[]
  >`
    select a.id, a.app_id, a.user_id, a.type, a.reward_amount::text, a.reward_currency, a.points::text,
      a.purchase_id, a.purchase_received_at, (v.action->>'available_after_days')::int as available_after_days
    from actions a join trigger_versions v on v.trigger_id = a.trigger_id and v.version = a.trigger_version
    where a.id = ${actionId}`;
  if (!row) throw new Error(`no action ${actionId}`);
  return {
    actionId: row.id,
    appId: row.app_id,
    userId: row.user_id,
    kind: row.type,
    unit: row.type === 'cashback' ? row.reward_currency! : 'points',
    amount: Number(row.type === 'cashback' ? row.reward_amount : row.points),
    purchaseId: row.purchase_id,
    purchaseReceivedAt: new Date(row.purchase_received_at),
    availableAfterDays: row.available_after_days ?? 0,
  };
}

/** The ids of the actions a purchase fired, oldest first. */
export const actionsOfPurchase = async (platform: TestPlatform, purchaseId: string) =>
  (
    await platform.deps.sql<{ id: string }[]>`
      select id from actions where purchase_id = ${purchaseId} order by id`
  ).map((row) => row.id);

export interface LedgerDriver {
  options: { authorizationExpiryDays: number };
  open(actionId: string, now: Date): Promise<Notice[]>;
  /** Settles the actions' rewards; the notices of each. */
  settle(actionIds: readonly string[], now: Date): Promise<Notice[][]>;
}

export function ledgerDriver(platform: TestPlatform): LedgerDriver {
  const options = platform.config.ledger;
  return {
    options,
    async open(actionId, now) {
      const input = await rewardInputOf(platform, actionId);
      return platform.deps.db.transaction((tx) => openReward(tx, input, now, options));
    },
    async settle(actionIds, now) {
      const settled = await platform.deps.db.transaction((tx) => settleRewards(tx, actionIds, now, options));
      return actionIds.map((id) => settled.get(id) ?? []);
    },
  };
}

export interface RewardView {
  state: string;
  amount: number;
  pending: number;
  available: number;
  reversed: number;
  expired: number;
  next_check_at: Date | null;
}

export async function rewardOf(platform: TestPlatform, actionId: string): Promise<RewardView> {
  const [row] = await platform.deps.sql<RewardView[]>`
    select state, amount::int, pending::int, available::int, reversed::int, expired::int, next_check_at
    from rewards where action_id = ${actionId}`;
  if (!row) throw new Error(`no reward for ${actionId}`);
  return { ...row, next_check_at: row.next_check_at === null ? null : new Date(row.next_check_at) };
}

/** Many rewards at once, by action id. */
export async function rewardsOf(
  platform: TestPlatform,
  actionIds: readonly string[],
): Promise<Map<string, RewardView>> {
  const rows = await platform.deps.sql<(RewardView & { action_id: string })[]>`
    select action_id, state, amount::int, pending::int, available::int, reversed::int, expired::int, next_check_at
    from rewards where action_id in ${platform.deps.sql(actionIds)}`;
  return new Map(rows.map(({ action_id, ...row }) => [action_id, row]));
}

export type Buckets = Record<'pending' | 'available' | 'paid_out' | 'reversed' | 'expired', number>;

/** A user's accounts with an app for one kind and unit, by bucket (0 where none). */
export async function userBuckets(
  platform: TestPlatform,
  who: { appId: string; userId: string },
  kind: RewardKind,
  unit: string,
): Promise<Buckets> {
  const rows = await platform.deps.sql<{ bucket: keyof Buckets; balance: number }[]>`
    select bucket, balance::int from ledger_accounts
    where app_id = ${who.appId} and user_id = ${who.userId} and kind = ${kind} and unit = ${unit}`;
  const buckets: Buckets = { pending: 0, available: 0, paid_out: 0, reversed: 0, expired: 0 };
  for (const row of rows) buckets[row.bucket] = row.balance;
  return buckets;
}

export const entryCount = async (platform: TestPlatform) =>
  (await platform.deps.sql<{ n: number }[]>`select count(*)::int as n from ledger_entries`)[0]!.n;

/**
 * What double entry promises, over the whole ledger: every balance is the sum of its entries, the balances of each
 * unit sum to zero, no user balance is negative, and a user's buckets hold exactly what their rewards hold.
 */
export async function expectLedgerSound(platform: TestPlatform): Promise<void> {
  const { sql } = platform.deps;
  const [drifted, unbalanced, negative, mismatched, issued] = await Promise.all([
    sql`
      with moved as (
        select credit_account_id as id, amount from ledger_entries
        union all select debit_account_id, -amount from ledger_entries
      )
      select a.id, a.balance::text, coalesce(sum(m.amount), 0)::text as entries
      from ledger_accounts a left join moved m on m.id = a.id
      group by a.id having a.balance <> coalesce(sum(m.amount), 0)`,
    sql`
      select kind, unit, sum(balance)::text as total from ledger_accounts
      group by kind, unit having sum(balance) <> 0`,
    sql`select id, bucket, balance::text from ledger_accounts where user_id is not null and balance < 0`,
    sql`
      with held as (
        select app_id, user_id, kind, unit,
          sum(balance) filter (where bucket = 'pending') as pending,
          sum(balance) filter (where bucket in ('available', 'paid_out')) as available,
          sum(balance) filter (where bucket = 'reversed') as reversed,
          sum(balance) filter (where bucket = 'expired') as expired,
          sum(balance) as total
        from ledger_accounts where user_id is not null and kind <> 'fee' group by app_id, user_id, kind, unit
      ), earned as (
        select app_id, user_id, kind, unit, sum(pending) as pending, sum(available) as available,
          sum(reversed) as reversed, sum(expired) as expired, sum(amount) as total
        from rewards group by app_id, user_id, kind, unit
      )
      select e.*, h.* from earned e full join held h using (app_id, user_id, kind, unit)
      where coalesce(h.total, 0) <> coalesce(e.total, 0) or coalesce(h.pending, 0) <> coalesce(e.pending, 0)
        or coalesce(h.available, 0) <> coalesce(e.available, 0) or coalesce(h.reversed, 0) <> coalesce(e.reversed, 0)
        or coalesce(h.expired, 0) <> coalesce(e.expired, 0)`,
    sql`
      select i.app_id, i.kind, i.unit from ledger_accounts i
      where i.user_id is null and i.bucket = 'issued'
        and -i.balance <> (select coalesce(sum(r.amount), 0) from rewards r
          where r.app_id = i.app_id and r.kind = i.kind and r.unit = i.unit)`,
  ]);
  expect(drifted, 'balances equal the sum of their entries').toEqual([]);
  expect(unbalanced, 'balances sum to zero per unit').toEqual([]);
  expect(negative, 'no user balance is negative').toEqual([]);
  // pending + available + paid_out + reversed + expired of a user is what their rewards earned, bucket by bucket.
  expect(mismatched, "a user's buckets hold what their rewards hold").toEqual([]);
  expect(issued, "an app's issued account is what its rewards earned").toEqual([]);
}
