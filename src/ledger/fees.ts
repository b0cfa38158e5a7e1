// The platform's fee per fired action: owed by the app, earned by the platform, kept in the ledger.
import { sql } from 'drizzle-orm';
import type { Tx } from '../db/client.ts';
import { type AccountKey, accountKeyOf, accountsFor } from './accounts.ts';

export interface AppFee {
  /** Minor units of `currency` per action. */
  fixed: number;
  /** Basis points of the purchase amount, when the purchase is in `currency`. */
  bps: number;
  currency: string;
}

export interface FeeInput {
  actionId: string;
  appId: string;
  purchaseAmount: number;
  purchaseCurrency: string;
  fee: AppFee | null;
}

/** `fixed` plus `bps` of the purchase (only a purchase in the fee's currency has a share to take), rounded down. */
export function feeAmount(fee: AppFee, purchaseAmount: number, purchaseCurrency: string): number {
  const share = purchaseCurrency === fee.currency ? (BigInt(purchaseAmount) * BigInt(fee.bps)) / 10_000n : 0n;
  return Number(BigInt(fee.fixed) + share);
}

/** Charges the app's fee for an action: once per action (a unique index), nothing when it comes to 0. */
export async function chargeFee(tx: Tx, input: FeeInput, now: Date): Promise<void> {
  if (!input.fee) return;
  const amount = feeAmount(input.fee, input.purchaseAmount, input.purchaseCurrency);
  if (amount <= 0) return;
  const account = (bucket: AccountKey['bucket']): AccountKey => ({
    appId: input.appId,
    userId: null,
    kind: 'fee',
    unit: input.fee!.currency,
    bucket,
  });
  const owed = account('fee_owed');
  const earned = account('fee_earned');
  const accounts = await accountsFor(tx, [owed, earned]);
  const debit = accounts.get(accountKeyOf(owed))!.id;
  const credit = accounts.get(accountKeyOf(earned))!.id;
  // The entry and the balances in one statement: a second charge of the action inserts nothing and changes nothing.
  await tx.execute(sql`
    with locked as materialized (
      select id from ledger_accounts where id in (${debit}, ${credit}) order by id for update
    ), charged as (
      insert into ledger_entries (app_id, type, debit_account_id, credit_account_id, amount, action_id, created_at)
      values (${input.appId}, 'fee', ${debit}, ${credit}, ${amount}, ${input.actionId}, ${now.toISOString()}::timestamptz)
      on conflict (action_id) where type = 'fee' do nothing
      returning amount
    )
    update ledger_accounts a
    set balance = a.balance + case when a.id = ${credit} then c.amount else -c.amount end
    from charged c, locked l
    where a.id = l.id`);
}
