import { bigint, index, integer, jsonb, pgTable, text } from 'drizzle-orm/pg-core';
import { apps } from './apps.ts';
import { timestamps, timestamptz } from './columns.ts';

export const DELIVERY_STATUSES = ['pending', 'succeeded', 'failed', 'cancelled'] as const;
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];

/**
 * The outbox of webhooks to apps. A row is written in the same transaction as the change it announces;
 * `payload` is the exact body to POST (`{id, type, created_at, data}`), so dispatch only signs and sends it.
 */
export const deliveries = pgTable(
  'deliveries',
  {
    id: text().primaryKey(),
    appId: text()
      .notNull()
      .references(() => apps.id, { onDelete: 'cascade' }),
    userId: text(),
    actionId: text(),
    type: text().notNull(),
    payload: jsonb().notNull(),
    status: text({ enum: DELIVERY_STATUSES }).notNull().default('pending'),
    attempts: integer().notNull().default(0),
    nextAttemptAt: timestamptz().defaultNow(),
    lastAttemptAt: timestamptz(),
    /** When the event behind it was accepted (delivery latency is measured from then); null for grant changes. */
    eventAcceptedAt: timestamptz(),
    /** When it succeeded, failed for good or was cancelled. */
    completedAt: timestamptz(),
    ...timestamps,
  },
  (t) => [index().on(t.appId, t.id), index().on(t.appId, t.createdAt), index().on(t.status, t.nextAttemptAt)],
);

/** Every attempt to deliver a webhook: what the app answered, how fast, and the start of its body. */
export const deliveryAttempts = pgTable(
  'delivery_attempts',
  {
    id: bigint({ mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    deliveryId: text().notNull(),
    attempt: integer().notNull(),
    startedAt: timestamptz().notNull(),
    /** The HTTP status the app answered; null when no answer came (timeout, refused connection, blocked address). */
    statusCode: integer(),
    latencyMs: integer().notNull(),
    error: text(),
    /** The start of the response body, bounded. */
    responseExcerpt: text(),
  },
  (t) => [index().on(t.deliveryId, t.attempt)],
);

export type DeliveryRow = typeof deliveries.$inferSelect;
export type DeliveryAttemptRow = typeof deliveryAttempts.$inferSelect;
