// Points and cashback in the double-entry ledger: issued pending when an action is performed, then settled against
// its purchase (clearings, refunds, reversals, a given back firing) and the date, as often as dispatch asks: each
// settlement recomputes where the reward should stand and moves only the difference, so settling twice adds nothing.
import { inArray, sql } from 'drizzle-orm';
import type { Tx } from '../db/client.ts';
import { actions, type RewardKind, type RewardRow, rewards } from '../db/schema/index.ts';
import type { Notice } from '../dispatch/notice.ts';
import {
  type Account,
  type AccountKey,
  accountKeyOf,
  accountsFor,
  type EntryInput,
  postEntries,
} from './accounts.ts';
import {
  type Holdings,
  type LedgerOptions,
  type Move,
  movesBetween,
  noticesOf,
  type PurchaseFacts,
  pendingNotice,
  type RewardBucket,
  type RewardTarget,
  type RewardTerms,
  rewardTarget,
} from './reward-plan.ts';

export type { LedgerOptions } from './reward-plan.ts';

export interface RewardInput {
  actionId: string;
  appId: string;
  userId: string;
  kind: RewardKind;
  /** ISO 4217 code for cashback, `points` for points. */
  unit: string;
  amount: number;
  purchaseId: string;
  purchaseReceivedAt: Date;
  availableAfterDays: number;
}

interface PurchaseRef {
  actionId: string;
  purchaseId: string;
  purchaseReceivedAt: Date;
}

interface FactsRow {
  action_id: string;
  given_back: boolean;
  amount: string;
  cleared: string;
  refunded: string;
  reversed: string;
  cleared_at_ms: string | null;
}

/**
 * The purchases behind these actions as they stand now. An authorization (or a clearing linked to one) keeps its
 * running totals on the authorization's row; a clearing-only purchase cleared in full when it arrived, and the
 * refunds and reversals naming it stay unlinked, so they are summed (as src/actions/give-back.ts does).
 */
async function purchaseFacts(tx: Tx, refs: readonly PurchaseRef[]): Promise<Map<string, PurchaseFacts>> {
  if (refs.length === 0) return new Map();
  const input = JSON.stringify(
    refs.map((ref) => ({
      action_id: ref.actionId,
      purchase_id: ref.purchaseId,
      received_at: ref.purchaseReceivedAt.toISOString(),
    })),
  );
  const rows = (await tx.execute(sql`
    select r.action_id, a.given_back_at is not null as given_back, p.amount::text,
      coalesce(t.cleared_amount, p.amount)::text as cleared,
      coalesce(t.refunded_amount, u.refunded)::text as refunded,
      coalesce(t.reversed_amount, u.reversed)::text as reversed,
      (extract(epoch from case when t.id is null then p.received_at else (
        select min(c.received_at) from events c where c.authorization_id = t.id and c.type = 'clearing') end
      ) * 1000)::bigint::text as cleared_at_ms
    from json_to_recordset(${input}::text::json) as r(action_id text, purchase_id text, received_at timestamptz)
    join actions a on a.id = r.action_id
    join events p on p.id = r.purchase_id and p.received_at = r.received_at
    left join lateral (
      select t.id, t.cleared_amount, t.refunded_amount, t.reversed_amount from events t
      where t.type = 'authorization'
        and t.id = case when p.type = 'authorization' then p.id else p.authorization_id end
        and t.received_at = case when p.type = 'authorization' then p.received_at else p.authorization_received_at end
    ) t on true
    left join lateral (
      select coalesce(sum(f.amount) filter (where f.type = 'refund'), 0) as refunded,
        coalesce(sum(f.amount) filter (where f.type = 'reversal'), 0) as reversed
      from events f
      where t.id is null and f.processor_id = p.processor_id and f.original_external_id = p.external_id
        and f.authorization_id is null and f.type in ('refund', 'reversal')
    ) u on true`)) as unknown as FactsRow[];
  return new Map(
    rows.map((row) => [
      row.action_id,
      {
        amount: Number(row.amount),
        cleared: Number(row.cleared),
        refunded: Number(row.refunded),
        reversed: Number(row.reversed),
        clearedAt: row.cleared_at_ms === null ? null : new Date(Number(row.cleared_at_ms)),
        givenBack: row.given_back,
      },
    ]),
  );
}

/** One reward's part of a settlement: where it goes, and the moves there. */
interface Settlement {
  reward: Pick<RewardInput, 'actionId' | 'appId' | 'userId' | 'kind' | 'unit'>;
  moves: readonly Move[];
}

const userAccount = (reward: Settlement['reward'], bucket: RewardBucket | 'paid_out'): AccountKey => ({
  appId: reward.appId,
  userId: reward.userId,
  kind: reward.kind,
  unit: reward.unit,
  bucket,
});
const accountOf = (reward: Settlement['reward'], bucket: Move['from']): AccountKey =>
  bucket === 'issued'
    ? { appId: reward.appId, userId: null, kind: reward.kind, unit: reward.unit, bucket: 'issued' }
    : userAccount(reward, bucket);

const ENTRY_INTO: Record<RewardBucket, EntryInput['type']> = {
  pending: 'reward_pending',
  available: 'reward_available',
  reversed: 'reward_reversed',
  expired: 'reward_expired',
};

/**
 * Turns the settlements' moves into entries and posts them. What leaves `available` beyond what the user's
 * available account holds was paid out: the rest is clawed back from `paid_out`, so no balance goes negative.
 */
async function postMoves(tx: Tx, given: readonly Settlement[], now: Date): Promise<void> {
  const settlements = given.map(({ reward, moves }) => ({
    reward,
    moves: moves.filter((move) => move.amount > 0),
  }));
  const keys = settlements.flatMap(({ reward, moves }) =>
    moves.flatMap((move) => [
      accountOf(reward, move.from),
      accountOf(reward, move.to),
      ...(move.from === 'available' ? [userAccount(reward, 'paid_out')] : []),
    ]),
  );
  if (keys.length === 0) return;
  const accounts = await accountsFor(tx, keys);
  // Balances as the entries leave them, for the clawback's split.
  const balances = new Map([...accounts].map(([key, account]: [string, Account]) => [key, account.balance]));
  const entries: EntryInput[] = [];
  const add = (
    reward: Settlement['reward'],
    type: EntryInput['type'],
    debit: AccountKey,
    credit: AccountKey,
    amount: number,
  ) => {
    if (amount <= 0) return;
    entries.push({ appId: reward.appId, type, debit, credit, amount, actionId: reward.actionId });
    balances.set(accountKeyOf(debit), (balances.get(accountKeyOf(debit)) ?? 0) - amount);
    balances.set(accountKeyOf(credit), (balances.get(accountKeyOf(credit)) ?? 0) + amount);
  };
  for (const { reward, moves } of settlements)
    for (const move of moves) {
      const credit = accountOf(reward, move.to);
      const type = ENTRY_INTO[move.to];
      if (move.from !== 'available') {
        add(reward, type, accountOf(reward, move.from), credit, move.amount);
        continue;
      }
      const available = userAccount(reward, 'available');
      const fromAvailable = Math.min(move.amount, Math.max(0, balances.get(accountKeyOf(available)) ?? 0));
      add(reward, type, available, credit, fromAvailable);
      add(reward, 'clawback', userAccount(reward, 'paid_out'), credit, move.amount - fromAvailable);
    }
  await postEntries(tx, entries, accounts, now);
}

const holdingsOf = (row: Pick<RewardRow, 'pending' | 'available' | 'reversed' | 'expired'>): Holdings => ({
  pending: row.pending,
  available: row.available,
  reversed: row.reversed,
  expired: row.expired,
});

const termsOf = (row: RewardInput): RewardTerms => ({
  kind: row.kind,
  unit: row.unit,
  amount: row.amount,
  purchaseReceivedAt: row.purchaseReceivedAt,
  availableAfterDays: row.availableAfterDays,
});

const targetColumns = (target: RewardTarget) => ({
  state: target.state,
  ...target.holdings,
  clearedAt: target.clearedAt,
  nextCheckAt: target.nextCheckAt,
});

/**
 * Creates the reward (rows unique per action) and its entries for the purchase as it stands now: issued pending,
 * then settled at once (a clearing-only purchase may already be available, a purchase reversed before dispatch
 * reversed). Answers its notices; nothing when the action already has its reward.
 */
export async function openReward(
  tx: Tx,
  input: RewardInput,
  now: Date,
  options: LedgerOptions,
): Promise<Notice[]> {
  const facts = (await purchaseFacts(tx, [input])).get(input.actionId);
  if (!facts) throw new Error(`ledger: the purchase of action ${input.actionId} is not stored`);
  const terms = termsOf(input);
  const target = rewardTarget(terms, facts, now, options);
  const issued: Holdings = { pending: input.amount, available: 0, reversed: 0, expired: 0 };
  const settling = movesBetween(issued, target.holdings);
  const created = await tx
    .insert(rewards)
    .values({ ...input, ...targetColumns(target), createdAt: now, updatedAt: now })
    .onConflictDoNothing()
    .returning({ actionId: rewards.actionId });
  if (created.length === 0) return [];
  await postMoves(
    tx,
    [{ reward: input, moves: [{ from: 'issued', to: 'pending', amount: input.amount }, ...settling] }],
    now,
  );
  return [pendingNotice(terms, input.amount), ...noticesOf(terms, settling, 0, target)];
}

const sameDate = (a: Date | null, b: Date | null) => (a?.getTime() ?? null) === (b?.getTime() ?? null);

/**
 * Brings each reward (by action id; ones without a reward row are skipped) in line with its purchase and the date,
 * under a lock on its row. An expired reward is final. Answers the notices of each reward settled (maybe none).
 * The actions are locked first (shared): an action being performed (its row locked for update) is waited for, so
 * a purchase change committed while its reward was being opened is settled on that reward, not skipped.
 */
export async function settleRewards(
  tx: Tx,
  actionIds: readonly string[],
  now: Date,
  options: LedgerOptions,
): Promise<Map<string, Notice[]>> {
  const settled = new Map<string, Notice[]>();
  if (actionIds.length === 0) return settled;
  const ids = [...new Set(actionIds)];
  await tx
    .select({ id: actions.id })
    .from(actions)
    .where(inArray(actions.id, ids))
    .orderBy(actions.id)
    .for('share');
  const rows = await tx
    .select()
    .from(rewards)
    .where(inArray(rewards.actionId, ids))
    .orderBy(rewards.actionId)
    .for('update');
  const live = rows.filter((row) => row.state !== 'expired');
  const facts = await purchaseFacts(tx, live);
  const settlements: Settlement[] = [];
  const changed: (RewardRow & ReturnType<typeof targetColumns>)[] = [];
  for (const row of rows) settled.set(row.actionId, []);
  for (const row of live) {
    const purchase = facts.get(row.actionId);
    if (!purchase) continue;
    const terms = termsOf(row);
    const target = rewardTarget(terms, purchase, now, options);
    const moves = movesBetween(holdingsOf(row), target.holdings);
    settled.set(row.actionId, noticesOf(terms, moves, row.reversed, target));
    if (moves.length > 0) settlements.push({ reward: row, moves });
    const next = targetColumns(target);
    if (
      moves.length > 0 ||
      next.state !== row.state ||
      !sameDate(next.clearedAt, row.clearedAt) ||
      !sameDate(next.nextCheckAt, row.nextCheckAt)
    )
      changed.push({ ...row, ...next });
  }
  await postMoves(tx, settlements, now);
  if (changed.length > 0)
    await tx.execute(sql`
      update rewards r set state = u.state, pending = u.pending, available = u.available, reversed = u.reversed,
        expired = u.expired, cleared_at = u.cleared_at, next_check_at = u.next_check_at,
        updated_at = ${now.toISOString()}::timestamptz
      from json_to_recordset(${JSON.stringify(
        changed.map((row) => ({
          action_id: row.actionId,
          state: row.state,
          pending: row.pending,
          available: row.available,
          reversed: row.reversed,
          expired: row.expired,
          cleared_at: row.clearedAt?.toISOString() ?? null,
          next_check_at: row.nextCheckAt?.toISOString() ?? null,
        })),
      )}::text::json) as u(action_id text, state text, pending bigint, available bigint, reversed bigint,
        expired bigint, cleared_at timestamptz, next_check_at timestamptz)
      where r.action_id = u.action_id`);
  return settled;
}
