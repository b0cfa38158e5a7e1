import { jsonb, pgTable, text } from 'drizzle-orm/pg-core';
import { timestamptz } from './columns.ts';

/**
 * Keys that sign access tokens. The private JWK is sealed with SECRETS_KEY. The newest key without
 * `retired_at` signs; retired keys stay published (and verify) until `expires_at`, when no token they
 * signed can still be alive.
 */
export const signingKeys = pgTable('signing_keys', {
  kid: text().primaryKey(),
  alg: text().notNull(),
  publicJwk: jsonb().notNull(),
  privateJwkSealed: text().notNull(),
  createdAt: timestamptz().notNull().defaultNow(),
  retiredAt: timestamptz(),
  expiresAt: timestamptz(),
});

export type SigningKeyRow = typeof signingKeys.$inferSelect;
