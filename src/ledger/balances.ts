// What a user holds of each app's points and cashback: the balances of their ledger accounts.
import { sql } from 'drizzle-orm';
import type { Executor } from '../db/client.ts';
import type { RewardKind } from '../db/schema/index.ts';
import { notFound } from '../errors.ts';

export interface Balance {
  appId: string;
  appName: string;
  kind: RewardKind;
  /** ISO 4217 code for cashback, `points` for points. */
  unit: string;
  pending: number;
  available: number;
  paidOut: number;
}

interface BalanceRow {
  app_id: string;
  app_name: string;
  kind: RewardKind;
  unit: string;
  pending: string;
  available: string;
  paid_out: string;
}

// The apps are found through the user's rewards (indexed by user): every account of a user holds a reward's amount.
async function balancesOf(db: Executor, userId: string, appId: string | null): Promise<Balance[]> {
  const rows = (await db.execute(sql`
    select a.app_id, p.name as app_name, a.kind, a.unit,
      coalesce(sum(a.balance) filter (where a.bucket = 'pending'), 0)::text as pending,
      coalesce(sum(a.balance) filter (where a.bucket = 'available'), 0)::text as available,
      coalesce(sum(a.balance) filter (where a.bucket = 'paid_out'), 0)::text as paid_out
    from ledger_accounts a join apps p on p.id = a.app_id
    where a.user_id = ${userId} and a.kind in ('points', 'cashback')
      and a.bucket in ('pending', 'available', 'paid_out')
      and a.app_id in (
        select distinct r.app_id from rewards r
        where r.user_id = ${userId} and (${appId}::text is null or r.app_id = ${appId}::text))
    group by a.app_id, p.name, a.kind, a.unit
    order by a.app_id, a.kind, a.unit`)) as unknown as BalanceRow[];
  return rows.map((row) => ({
    appId: row.app_id,
    appName: row.app_name,
    kind: row.kind,
    unit: row.unit,
    pending: Number(row.pending),
    available: Number(row.available),
    paidOut: Number(row.paid_out),
  }));
}

/** The signed-in user's balances with every app (points and cashback, per unit). */
export const userBalances = (db: Executor, userId: string) => balancesOf(db, userId, null);

/** A user's balances with one app, for that app: only a user with a live grant to it (else 404). */
export async function appUserBalances(db: Executor, appId: string, userId: string): Promise<Balance[]> {
  const granted = await db.execute(sql`
    select 1 from grants where user_id = ${userId} and app_id = ${appId} and revoked_at is null`);
  if (granted.length === 0) throw notFound('user');
  return balancesOf(db, userId, appId);
}
