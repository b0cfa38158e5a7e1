// An app's usage in a calendar month (UTC): the actions it fired and the platform fee they accrued.
import { sql } from 'drizzle-orm';
import type { Executor } from '../db/client.ts';
import { ACTION_TYPES, type ActionType } from '../rules/dsl.ts';

export const MONTH_PATTERN = /^(\d{4})-(0[1-9]|1[0-2])$/;

export interface Usage {
  appId: string;
  month: string;
  actions: { total: number; byType: Record<ActionType, number> };
  fees: { amount: number; currency: string }[];
}

/** The first instant of a `YYYY-MM` month and of the next, in UTC. */
export function monthSpan(month: string): { from: Date; to: Date } {
  const match = MONTH_PATTERN.exec(month);
  if (!match) throw new Error(`not a month: ${month}`);
  const year = Number(match[1]);
  const index = Number(match[2]) - 1;
  return { from: new Date(Date.UTC(year, index, 1)), to: new Date(Date.UTC(year, index + 1, 1)) };
}

/**
 * Actions fired in the month (cancelled ones, which did nothing, not counted) by type, and the fees charged in
 * it per currency. Actions are read by the app's triggers (indexed by trigger and time).
 */
export async function appUsage(db: Executor, appId: string, month: string): Promise<Usage> {
  const { from, to } = monthSpan(month);
  const [actions, fees] = await Promise.all([
    db.execute(sql`
      select a.type, count(*)::int as count from actions a
      where a.trigger_id in (select t.id from triggers t where t.app_id = ${appId})
        and a.created_at >= ${from.toISOString()}::timestamptz and a.created_at < ${to.toISOString()}::timestamptz
        and a.status <> 'cancelled'
      group by a.type`) as unknown as Promise<{ type: ActionType; count: number }[]>,
    db.execute(sql`
      select c.unit as currency, sum(e.amount)::text as amount
      from ledger_entries e join ledger_accounts c on c.id = e.credit_account_id
      where e.app_id = ${appId} and e.type = 'fee'
        and e.created_at >= ${from.toISOString()}::timestamptz and e.created_at < ${to.toISOString()}::timestamptz
      group by c.unit order by c.unit`) as unknown as Promise<{ currency: string; amount: string }[]>,
  ]);
  const byType = Object.fromEntries(ACTION_TYPES.map((type) => [type, 0])) as Record<ActionType, number>;
  for (const row of actions) byType[row.type] = row.count;
  return {
    appId,
    month,
    actions: { total: actions.reduce((sum, row) => sum + row.count, 0), byType },
    fees: fees.map((row) => ({ amount: Number(row.amount), currency: row.currency })),
  };
}
