import { integer, pgTable, text } from 'drizzle-orm/pg-core';
import { STATUSES, timestamps } from './columns.ts';

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
  ...timestamps,
});

export type AppRow = typeof apps.$inferSelect;
