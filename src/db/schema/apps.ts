import { integer, pgTable, text } from 'drizzle-orm/pg-core';
import { STATUSES, timestamps, timestamptz } from './columns.ts';

export const WEBHOOK_STATUSES = ['enabled', 'disabled'] as const;
export type WebhookStatus = (typeof WEBHOOK_STATUSES)[number];

/** Third-party apps: OAuth clients that register triggers and receive signed webhooks. */
export const apps = pgTable('apps', {
  id: text().primaryKey(),
  name: text().notNull(),
  status: text({ enum: STATUSES }).notNull().default('active'),
  webhookUrl: text().notNull(),
  redirectUris: text().array().notNull(),
  scopes: text().array().notNull(),
  clientId: text().notNull().unique(),
  clientSecretHash: text().notNull(),
  webhookSecretSealed: text().notNull(),
  feeFixed: integer(),
  feeBps: integer(),
  feeCurrency: text(),
  /** `disabled` after a 410, or after failing for days straight; the operator re-enables it. */
  webhookStatus: text({ enum: WEBHOOK_STATUSES }).notNull().default('enabled'),
  webhookDisabledReason: text(),
  webhookDisabledAt: timestamptz(),
  /** When the endpoint's current run of failures began (null while it answers). */
  webhookFailingSince: timestamptz(),
  ...timestamps,
});

export type AppRow = typeof apps.$inferSelect;
