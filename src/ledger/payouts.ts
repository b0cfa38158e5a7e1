// Payouts: an app pays a user's available cashback out (by its own means) and records it here.
import { sql } from 'drizzle-orm';
import type { Executor } from '../db/client.ts';
import { type PayoutRow, payouts } from '../db/schema/index.ts';
import { AppError, notFound } from '../errors.ts';
import { recordDelivery } from '../grants/outbox.ts';
import { newId } from '../lib/ids.ts';
import { type AccountKey, accountKeyOf, accountsFor, postEntries } from './accounts.ts';

export interface PayoutInput {
  appId: string;
  userId: string;
  amount: number;
  currency: string;
}

/** A payout as the API and its `payout.created` webhook show it. */
export const presentPayout = (row: PayoutRow) => ({
  id: row.id,
  object: 'payout' as const,
  user_id: row.userId,
  amount: row.amount,
  currency: row.currency,
  created_at: row.createdAt.toISOString(),
});

/** Whether the user ever granted the app (a live or a revoked grant): its payouts outlive the grant. */
export async function everGranted(db: Executor, appId: string, userId: string): Promise<boolean> {
  const rows = await db.execute(sql`
    (select 1 from grants where user_id = ${userId} and app_id = ${appId} and revoked_at is null)
    union all
    (select 1 from grants where app_id = ${appId} and user_id = ${userId})
    limit 1`);
  return rows.length > 0;
}

/**
 * Moves available cashback to paid_out and records the `payout.created` delivery, in one transaction. A user who
 * never granted the app is 404; more than is available is `insufficient_balance`. Answers the payout and the
 * delivery to hand to dispatch once committed.
 */
export async function createPayout(
  db: Executor,
  input: PayoutInput,
  now = new Date(),
): Promise<{ payout: PayoutRow; deliveryId: string }> {
  if (!(await everGranted(db, input.appId, input.userId))) throw notFound('user');
  return db.transaction(async (tx) => {
    const account = (bucket: AccountKey['bucket']): AccountKey => ({
      appId: input.appId,
      userId: input.userId,
      kind: 'cashback',
      unit: input.currency,
      bucket,
    });
    const available = account('available');
    const paidOut = account('paid_out');
    const accounts = await accountsFor(tx, [available, paidOut]);
    const balance = accounts.get(accountKeyOf(available))!.balance;
    if (balance < input.amount)
      throw new AppError(
        'insufficient_balance',
        `The user has ${balance} ${input.currency} of available cashback from this app; ${input.amount} was asked.`,
        { extra: { available: balance } },
      );
    const [payout] = await tx
      .insert(payouts)
      .values({ id: newId('pyt'), ...input, createdAt: now, updatedAt: now })
      .returning();
    await postEntries(
      tx,
      [
        {
          appId: input.appId,
          type: 'payout',
          debit: available,
          credit: paidOut,
          amount: input.amount,
          payoutId: payout!.id,
        },
      ],
      accounts,
      now,
    );
    const delivery = await recordDelivery(tx, {
      appId: input.appId,
      userId: input.userId,
      type: 'payout.created',
      data: presentPayout(payout!),
      now,
    });
    return { payout: payout!, deliveryId: delivery.id };
  });
}
