import { bigint, boolean, date, pgTable, primaryKey, text } from 'drizzle-orm/pg-core';
import { timestamptz } from './columns.ts';

/**
 * The idempotency ledger of ingestion: one row per (processor, processor's event id), ever. The events
 * table is partitioned by month and a partitioned table's unique constraint must contain the partition
 * key, so uniqueness lives here instead. When `stored`, `received_at` is the event row's partition key, so
 * a lookup by key reaches one partition; otherwise (card not enrolled) this key is all that was kept.
 */
export const eventKeys = pgTable(
  'event_keys',
  {
    processorId: text().notNull(),
    externalId: text().notNull(),
    eventId: text().notNull(),
    receivedAt: timestamptz().notNull().defaultNow(),
    /** False when the card was not enrolled: no event row exists. */
    stored: boolean().notNull(),
  },
  (t) => [primaryKey({ columns: [t.processorId, t.externalId] })],
);

/**
 * Events for cards nobody enrolled: acknowledged and counted per processor and day, and nothing else kept
 * (no fingerprint, token, BIN or last 4).
 */
export const unenrolledEventCounts = pgTable(
  'unenrolled_event_counts',
  {
    processorId: text().notNull(),
    day: date({ mode: 'string' }).notNull(),
    count: bigint({ mode: 'number' }).notNull().default(0),
  },
  (t) => [primaryKey({ columns: [t.processorId, t.day] })],
);

export type EventKeyRow = typeof eventKeys.$inferSelect;
