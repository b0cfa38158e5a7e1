import { pgTable, text } from 'drizzle-orm/pg-core';
import { STATUSES, timestamps, timestamptz } from './columns.ts';

/** Card processors that push events. Credentials are stored hashed (api key) or sealed (secrets). */
export const processors = pgTable('processors', {
  id: text().primaryKey(),
  name: text().notNull(),
  status: text({ enum: STATUSES }).notNull().default('active'),
  apiKeyHash: text().notNull().unique(),
  apiKeyLast4: text().notNull(),
  signingSecretSealed: text().notNull(),
  previousSigningSecretSealed: text(),
  previousSigningSecretExpiresAt: timestamptz(),
  stripeEndpointSecretSealed: text(),
  ...timestamps,
});

export type ProcessorRow = typeof processors.$inferSelect;
