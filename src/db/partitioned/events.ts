import { sql } from 'drizzle-orm';
import { bigint, index, pgTable, primaryKey, smallint, text, timestamp } from 'drizzle-orm/pg-core';
import { ENTRY_MODES, EVENT_TYPES } from '../../lib/payments.ts';
import { timestamptz } from '../schema/columns.ts';

export { ENTRY_MODES, type EntryMode, EVENT_TYPES, type EventType } from '../../lib/payments.ts';

/**
 * Canonical card events, one row per event on an enrolled card. The real table is declared by hand in a
 * custom migration (PARTITION BY RANGE (received_at), one partition per month plus a default), which
 * drizzle-kit cannot express; this definition serves queries only and is deliberately NOT exported from
 * src/db/schema/index.ts so that drizzle-kit never generates a plain CREATE TABLE for it. Keep both in step.
 *
 * Lifecycle: clearing, refund and reversal rows point at their authorization (`authorization_id` plus its
 * partition key); the authorization carries running totals `cleared_amount`, `refunded_amount` and
 * `reversed_amount`, incremented in the same transaction that links a follower (so partial clearings and
 * partial refunds add up, and concurrent linkers never lose an update).
 */
export const events = pgTable(
  'events',
  {
    id: text().notNull(),
    receivedAt: timestamptz().notNull(),
    processorId: text().notNull(),
    externalId: text().notNull(),
    type: text({ enum: EVENT_TYPES }).notNull(),
    occurredAt: timestamptz().notNull(),
    /** Wall-clock time where the card was used (from occurred_at's offset, else the merchant's time zone). */
    localAt: timestamp({ mode: 'string' }).notNull(),
    utcOffsetMinutes: smallint().notNull(),
    cardId: text().notNull(),
    userId: text().notNull(),
    cardScheme: text().notNull(),
    amount: bigint({ mode: 'number' }).notNull(),
    currency: text().notNull(),
    merchantId: text(),
    mid: text().notNull(),
    merchantName: text(),
    mcc: text(),
    merchantCity: text(),
    merchantRegion: text(),
    merchantPostalCode: text(),
    merchantCountry: text(),
    terminalId: text(),
    authCode: text(),
    rrn: text(),
    entryMode: text({ enum: ENTRY_MODES }),
    originalExternalId: text(),
    authorizationId: text(),
    authorizationReceivedAt: timestamptz(),
    clearedAmount: bigint({ mode: 'number' }).notNull().default(0),
    refundedAmount: bigint({ mode: 'number' }).notNull().default(0),
    reversedAmount: bigint({ mode: 'number' }).notNull().default(0),
  },
  (t) => [
    primaryKey({ columns: [t.id, t.receivedAt] }),
    // Migration 0007: authorizations by card, keyed by an 8-byte hash of the card id (see its comment).
    index('events_authorizations_by_card_idx')
      .on(sql`hashtextextended(${t.cardId}, 0)`, t.occurredAt)
      .where(sql`${t.type} = 'authorization'`),
  ],
);

export type EventRow = typeof events.$inferSelect;
