import { sql } from 'drizzle-orm';
import { bigint, date, index, integer, jsonb, pgTable, primaryKey, text, unique } from 'drizzle-orm/pg-core';
import type { Stamp } from '../../rules/card-state.ts';
import { ACTION_TYPES } from '../../rules/dsl.ts';
import { STATEFUL_REASONS } from '../../rules/reasons.ts';
import { timestamptz } from './columns.ts';
import { triggers } from './triggers.ts';

export const ACTION_STATUSES = ['queued', 'done', 'cancelled'] as const;
export type ActionStatus = (typeof ACTION_STATUSES)[number];

/**
 * The outbox of the rules engine: one row per (purchase, trigger) that fired, written in the ingest transaction
 * with the reward computed then. A purchase is its authorization, or its clearing when no authorization of it
 * was seen; the unique key makes "fires at most once" a constraint, not a hope.
 */
export const actions = pgTable(
  'actions',
  {
    id: text().primaryKey(),
    // No foreign keys on this table or trigger_misses: each would lock the trigger's and the app's row with every
    // action (the hottest rows there are), and triggers and apps are never deleted once they have fired
    // (archived instead; an app keeps its triggers).
    triggerId: text().notNull(),
    triggerVersion: integer().notNull(),
    appId: text().notNull(),
    userId: text().notNull(),
    cardId: text().notNull(),
    /** The purchase that fired it: also the event id (events are partitioned, so no foreign key). */
    purchaseId: text().notNull(),
    purchaseReceivedAt: timestamptz().notNull(),
    purchaseAmount: bigint({ mode: 'number' }).notNull(),
    purchaseCurrency: text().notNull(),
    type: text({ enum: ACTION_TYPES }).notNull(),
    /** Cashback in minor units of `rewardCurrency`; null for other actions. */
    rewardAmount: bigint({ mode: 'number' }),
    rewardCurrency: text(),
    points: bigint({ mode: 'number' }),
    /** What this action took from the trigger's budget, and what refunds and reversals gave back of it. */
    budgetSpend: bigint({ mode: 'number' }).notNull().default(0),
    budgetGivenBack: bigint({ mode: 'number' }).notNull().default(0),
    /** How much of the purchase refunds took back so far (a full refund gives back the redemption). */
    refundedAmount: bigint({ mode: 'number' }).notNull().default(0),
    /** The merchant's local day of the purchase: the day `per_user_per_day` counted it in. */
    localDay: date({ mode: 'string' }).notNull(),
    /** The stamps an `nth_purchase` firing used up (a reversal hands them back). */
    usedStamps: jsonb().$type<Stamp[]>(),
    /** Set when a reversal or full refund gave back the redemption (the firing no longer counts). */
    givenBackAt: timestamptz(),
    /** `queued` until dispatch performs its effect (`done`) or finds the grant or app gone (`cancelled`). */
    status: text({ enum: ACTION_STATUSES }).notNull().default('queued'),
    doneAt: timestamptz(),
    createdAt: timestamptz().notNull().defaultNow(),
  },
  (t) => [
    // What the relay re-enqueues: small, since an action leaves it within milliseconds of its commit.
    index('actions_queued_index').on(t.createdAt).where(sql`${t.status} = 'queued'`),
    // Read by purchase (activity, give-back) and by trigger (stats). Every index here is written with every
    // action, at random places for random keys: none is kept that nothing reads yet.
    unique('actions_purchase_trigger_key').on(t.purchaseId, t.triggerId),
    index().on(t.triggerId, t.createdAt),
  ],
);

/**
 * The running totals of a trigger with `total_redemptions` or a `budget`: the row every firing locks and bumps
 * once per transaction, so those limits hold exactly across concurrent transactions and processes.
 */
export const triggerCounters = pgTable('trigger_counters', {
  triggerId: text()
    .primaryKey()
    .references(() => triggers.id, { onDelete: 'restrict' }),
  redemptions: bigint({ mode: 'number' }).notNull().default(0),
  budgetSpent: bigint({ mode: 'number' }).notNull().default(0),
});

/** Per card, for triggers with `per_card`, `nth_purchase` or `first_purchase`: fires and the stamps held. */
export const triggerCardStates = pgTable(
  'trigger_card_states',
  {
    triggerId: text()
      .notNull()
      .references(() => triggers.id, { onDelete: 'restrict' }),
    cardId: text().notNull(),
    fires: integer().notNull().default(0),
    stamps: jsonb().$type<Stamp[]>().notNull().default(sql`'[]'::jsonb`),
  },
  (t) => [primaryKey({ columns: [t.triggerId, t.cardId] }), index().on(t.cardId)],
);

/** Per user and merchant-local day, for triggers with `per_user_per_day`. */
export const triggerUserDays = pgTable(
  'trigger_user_days',
  {
    triggerId: text()
      .notNull()
      .references(() => triggers.id, { onDelete: 'restrict' }),
    userId: text().notNull(),
    day: date({ mode: 'string' }).notNull(),
    fires: integer().notNull().default(0),
  },
  (t) => [primaryKey({ columns: [t.triggerId, t.userId, t.day] })],
);

/**
 * A purchase a trigger matched (every stateless condition held) that did not fire for a stateful reason
 * (first or nth purchase, a limit, the budget), recorded with the action rows so explanations say exactly
 * what was decided then, stamp progress included ("2 of 5").
 */
export const triggerMisses = pgTable(
  'trigger_misses',
  {
    eventId: text().notNull(),
    triggerId: text().notNull(),
    triggerVersion: integer().notNull(),
    appId: text().notNull(),
    userId: text().notNull(),
    reason: text({ enum: STATEFUL_REASONS }).notNull(),
    /** Stamp progress for `not_nth_purchase`: this purchase was stamp `have` of `need`. */
    progressHave: integer(),
    progressNeed: integer(),
    createdAt: timestamptz().notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.eventId, t.triggerId] })],
);

export type ActionRow = typeof actions.$inferSelect;
export type TriggerMissRow = typeof triggerMisses.$inferSelect;

/**
 * A purchase whose lifecycle moved (a clearing, refund or reversal linked to it, or a firing given back) after it
 * fired a reward: written in the transaction that moved it, so settling its rewards' ledger entries is never
 * lost; dispatch deletes the row once it settled what the row announced.
 */
export const purchaseChanges = pgTable('purchase_changes', {
  purchaseId: text().primaryKey(),
  changedAt: timestamptz().notNull().defaultNow(),
});
