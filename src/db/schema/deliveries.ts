import { index, integer, jsonb, pgTable, text } from 'drizzle-orm/pg-core';
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
    ...timestamps,
  },
  (t) => [index().on(t.appId, t.id), index().on(t.status, t.nextAttemptAt)],
);

export type DeliveryRow = typeof deliveries.$inferSelect;
