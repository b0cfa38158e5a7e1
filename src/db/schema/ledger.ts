import { sql } from 'drizzle-orm';
import { bigint, check, index, integer, pgTable, text, unique, uniqueIndex } from 'drizzle-orm/pg-core';
import { timestamps, timestamptz } from './columns.ts';

export const REWARD_KINDS = ['points', 'cashback'] as const;
export type RewardKind = (typeof REWARD_KINDS)[number];

/** Where a reward stands as a whole: `pending` until available (or expired), then `available`, or `reversed`. */
export const REWARD_STATES = ['pending', 'available', 'reversed', 'expired'] as const;
export type RewardState = (typeof REWARD_STATES)[number];

/**
 * The points or cashback one action earned, and how much of it sits in each bucket now. Dispatch writes it once
 * (unique per action) and settles it whenever its purchase moves or a date passes (`next_check_at`); the ledger
 * entries of the action are the record, these columns their running sums.
 */
export const rewards = pgTable(
  'rewards',
  {
    actionId: text().primaryKey(),
    appId: text().notNull(),
    userId: text().notNull(),
    kind: text({ enum: REWARD_KINDS }).notNull(),
    /** ISO 4217 code for cashback, `points` for points. */
    unit: text().notNull(),
    /** What the action earned, before any refund, reversal or partial clearing. */
    amount: bigint({ mode: 'number' }).notNull(),
    purchaseId: text().notNull(),
    purchaseReceivedAt: timestamptz().notNull(),
    availableAfterDays: integer().notNull().default(0),
    state: text({ enum: REWARD_STATES }).notNull(),
    pending: bigint({ mode: 'number' }).notNull().default(0),
    available: bigint({ mode: 'number' }).notNull().default(0),
    reversed: bigint({ mode: 'number' }).notNull().default(0),
    expired: bigint({ mode: 'number' }).notNull().default(0),
    /** When the purchase first cleared (null until then). */
    clearedAt: timestamptz(),
    /** When a date changes this reward by itself (the return period ends, an uncleared authorization expires). */
    nextCheckAt: timestamptz(),
    ...timestamps,
  },
  (t) => [
    index('rewards_purchase_id_index').on(t.purchaseId),
    index('rewards_next_check_at_index').on(t.nextCheckAt).where(sql`${t.nextCheckAt} is not null`),
    index().on(t.userId, t.appId),
  ],
);

export const LEDGER_BUCKETS = [
  // A user's buckets (points and cashback, per app):
  'pending',
  'available',
  'paid_out',
  // An app's counter-accounts: what its rewards were issued from, and where reversed or expired ones go back.
  'issued',
  'reversed',
  'expired',
  // The platform's fee: owed by the app, earned by the platform.
  'fee_owed',
  'fee_earned',
] as const;
export type LedgerBucket = (typeof LEDGER_BUCKETS)[number];

/**
 * One account per (app, user or none, kind, unit, bucket). `balance` is the running sum of its entries (credits
 * add, debits subtract), updated in the entry's transaction.
 */
export const ledgerAccounts = pgTable(
  'ledger_accounts',
  {
    id: bigint({ mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    appId: text().notNull(),
    userId: text(),
    kind: text({ enum: [...REWARD_KINDS, 'fee'] }).notNull(),
    unit: text().notNull(),
    bucket: text({ enum: LEDGER_BUCKETS }).notNull(),
    balance: bigint({ mode: 'number' }).notNull().default(0),
  },
  (t) => [unique('ledger_accounts_key').on(t.appId, t.userId, t.kind, t.unit, t.bucket).nullsNotDistinct()],
);

export const LEDGER_ENTRY_TYPES = [
  'reward_pending',
  'reward_available',
  'reward_reversed',
  'reward_expired',
  'clawback',
  'payout',
  'fee',
] as const;
export type LedgerEntryType = (typeof LEDGER_ENTRY_TYPES)[number];

/**
 * Double entry: every entry moves `amount` from one account (debit) to another (credit) of the same unit, so the
 * balances of all accounts always sum to zero.
 */
export const ledgerEntries = pgTable(
  'ledger_entries',
  {
    id: bigint({ mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    appId: text().notNull(),
    type: text({ enum: LEDGER_ENTRY_TYPES }).notNull(),
    debitAccountId: bigint({ mode: 'number' }).notNull(),
    creditAccountId: bigint({ mode: 'number' }).notNull(),
    amount: bigint({ mode: 'number' }).notNull(),
    actionId: text(),
    payoutId: text(),
    createdAt: timestamptz().notNull().defaultNow(),
  },
  (t) => [
    check('ledger_entries_amount_positive', sql`${t.amount} > 0`),
    check('ledger_entries_two_accounts', sql`${t.debitAccountId} <> ${t.creditAccountId}`),
    index().on(t.actionId),
    index().on(t.appId, t.type, t.createdAt),
    // The platform's fee is charged once per action.
    uniqueIndex('ledger_entries_fee_once').on(t.actionId).where(sql`${t.type} = 'fee'`),
  ],
);

/** Available cashback an app paid out to a user (`POST /v1/payouts`). */
export const payouts = pgTable(
  'payouts',
  {
    id: text().primaryKey(),
    appId: text().notNull(),
    userId: text().notNull(),
    amount: bigint({ mode: 'number' }).notNull(),
    currency: text().notNull(),
    ...timestamps,
  },
  (t) => [index().on(t.appId, t.id), index().on(t.userId, t.id)],
);

export type RewardRow = typeof rewards.$inferSelect;
export type LedgerAccountRow = typeof ledgerAccounts.$inferSelect;
export type LedgerEntryRow = typeof ledgerEntries.$inferSelect;
export type PayoutRow = typeof payouts.$inferSelect;
