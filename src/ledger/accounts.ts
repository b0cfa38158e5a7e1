// Ledger accounts and entries: every entry moves an amount from one account to another of the same unit, and the
// accounts' balances change with it in the same transaction, so balances always equal the sum of their entries.
import { sql } from 'drizzle-orm';
import type { Executor } from '../db/client.ts';
import type { LedgerBucket, LedgerEntryType, RewardKind } from '../db/schema/index.ts';

export interface AccountKey {
  appId: string;
  /** Null for the app's own accounts (`issued`, `fee_owed`, `fee_earned`). */
  userId: string | null;
  kind: RewardKind | 'fee';
  unit: string;
  bucket: LedgerBucket;
}

export interface Account {
  id: number;
  /** As read under this transaction's lock for a user's account; not read for the app's own. */
  balance: number;
}

export const accountKeyOf = (key: AccountKey) =>
  `${key.appId}|${key.userId ?? ''}|${key.kind}|${key.unit}|${key.bucket}`;

interface AccountRow {
  id: string;
  app_id: string;
  user_id: string | null;
  kind: AccountKey['kind'];
  unit: string;
  bucket: LedgerBucket;
  balance: string;
}

const keyColumns = (keys: readonly AccountKey[]) =>
  JSON.stringify(
    keys.map((k, n) => ({
      n,
      app_id: k.appId,
      user_id: k.userId,
      kind: k.kind,
      unit: k.unit,
      bucket: k.bucket,
    })),
  );

/**
 * The accounts of these keys, created when missing. A user's accounts are locked (ordered by id) and their
 * balances read, since a move out of one must not take more than it holds; the app's own are only looked up: many
 * transactions move through them at once, and `postEntries` locks them when it changes them, as late as it can.
 */
export async function accountsFor(tx: Executor, keys: readonly AccountKey[]): Promise<Map<string, Account>> {
  const unique = [...new Map(keys.map((key) => [accountKeyOf(key), key])).entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([, key]) => key);
  const found = await readAccounts(tx, unique);
  const missing = unique.filter((key) => !found.has(accountKeyOf(key)));
  if (missing.length > 0) {
    // In key order, so that two transactions creating the same accounts wait on each other in one order.
    await tx.execute(sql`
      insert into ledger_accounts (app_id, user_id, kind, unit, bucket)
      select app_id, user_id, kind, unit, bucket
      from json_to_recordset(${keyColumns(missing)}::text::json)
        as w(n int, app_id text, user_id text, kind text, unit text, bucket text)
      order by n
      on conflict on constraint ledger_accounts_key do nothing`);
    for (const [key, account] of await readAccounts(tx, missing)) found.set(key, account);
  }
  return found;
}

async function readAccounts(tx: Executor, keys: readonly AccountKey[]): Promise<Map<string, Account>> {
  const users = keys.filter((key) => key.userId !== null);
  const apps = keys.filter((key) => key.userId === null);
  // Two look-ups, each by the unique key's columns (a null user_id matches through `is null`, not `=`).
  const rows = (await tx.execute(sql`
    with users as materialized (
      select a.id, a.app_id, a.user_id, a.kind, a.unit, a.bucket, a.balance from ledger_accounts a
      where a.id in (
        select a.id from json_to_recordset(${keyColumns(users)}::text::json)
          as w(app_id text, user_id text, kind text, unit text, bucket text)
        join ledger_accounts a on a.app_id = w.app_id and a.user_id = w.user_id and a.kind = w.kind
          and a.unit = w.unit and a.bucket = w.bucket)
      order by a.id
      for update
    )
    select id::text, app_id, user_id, kind, unit, bucket, balance::text from users
    union all
    select a.id::text, a.app_id, a.user_id, a.kind, a.unit, a.bucket, a.balance::text
    from json_to_recordset(${keyColumns(apps)}::text::json)
      as w(app_id text, user_id text, kind text, unit text, bucket text)
    join ledger_accounts a on a.app_id = w.app_id and a.user_id is null and a.kind = w.kind
      and a.unit = w.unit and a.bucket = w.bucket`)) as unknown as AccountRow[];
  return new Map(
    rows.map((row) => [
      accountKeyOf({
        appId: row.app_id,
        userId: row.user_id,
        kind: row.kind,
        unit: row.unit,
        bucket: row.bucket,
      }),
      { id: Number(row.id), balance: Number(row.balance) },
    ]),
  );
}

export interface EntryInput {
  appId: string;
  type: LedgerEntryType;
  debit: AccountKey;
  credit: AccountKey;
  amount: number;
  actionId?: string | null;
  payoutId?: string | null;
}

/**
 * Writes the entries and changes the balances of their accounts (credits add, debits subtract) in one statement,
 * locking the accounts it changes in id order first. `accounts` must hold every key the entries name (from
 * `accountsFor`).
 */
export async function postEntries(
  tx: Executor,
  entries: readonly EntryInput[],
  accounts: Map<string, Account>,
  now: Date,
): Promise<void> {
  const rows = entries
    .filter((entry) => entry.amount > 0)
    .map((entry, n) => {
      const debit = accounts.get(accountKeyOf(entry.debit));
      const credit = accounts.get(accountKeyOf(entry.credit));
      if (!debit || !credit)
        throw new Error(`ledger: an entry names an account not looked up (${entry.type})`);
      return {
        n,
        app_id: entry.appId,
        type: entry.type,
        debit: debit.id,
        credit: credit.id,
        amount: entry.amount,
        action_id: entry.actionId ?? null,
        payout_id: entry.payoutId ?? null,
      };
    });
  if (rows.length === 0) return;
  await tx.execute(sql`
    with e as (
      select * from json_to_recordset(${JSON.stringify(rows)}::text::json)
        as e(n int, app_id text, type text, debit bigint, credit bigint, amount bigint, action_id text, payout_id text)
    ), inserted as (
      insert into ledger_entries (app_id, type, debit_account_id, credit_account_id, amount, action_id, payout_id,
        created_at)
      select app_id, type, debit, credit, amount, action_id, payout_id, ${now.toISOString()}::timestamptz
      from e order by n
    ), deltas as (
      select id, sum(delta) as delta
      from (select debit as id, -amount as delta from e union all select credit, amount from e) d
      group by id
    ), locked as materialized (
      select a.id from ledger_accounts a where a.id in (select id from deltas) order by a.id for update
    )
    update ledger_accounts a set balance = a.balance + d.delta
    from deltas d join locked l on l.id = d.id
    where a.id = d.id`);
}
