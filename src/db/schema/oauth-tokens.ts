import { index, pgTable, text } from 'drizzle-orm/pg-core';
import { apps } from './apps.ts';
import { timestamptz } from './columns.ts';
import { grants } from './grants.ts';
import { users } from './users.ts';

/**
 * One authorization: everything issued from one authorization code (its access tokens carry the family id
 * as `sid`, its refresh tokens rotate inside it). Revoking the family refuses all of them at once.
 */
export const oauthTokenFamilies = pgTable(
  'oauth_token_families',
  {
    id: text().primaryKey(),
    appId: text()
      .notNull()
      .references(() => apps.id, { onDelete: 'cascade' }),
    userId: text()
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    grantId: text()
      .notNull()
      .references(() => grants.id, { onDelete: 'cascade' }),
    codeHash: text().notNull().unique(),
    scopes: text().array().notNull(),
    createdAt: timestamptz().notNull().defaultNow(),
    revokedAt: timestamptz(),
    revokedReason: text(),
  },
  (t) => [index().on(t.grantId)],
);

/** Refresh tokens (SHA-256). Each use rotates it; presenting a used one again revokes its family. */
export const oauthRefreshTokens = pgTable(
  'oauth_refresh_tokens',
  {
    tokenHash: text().primaryKey(),
    familyId: text()
      .notNull()
      .references(() => oauthTokenFamilies.id, { onDelete: 'cascade' }),
    scopes: text().array().notNull(),
    createdAt: timestamptz().notNull().defaultNow(),
    expiresAt: timestamptz().notNull(),
    usedAt: timestamptz(),
  },
  (t) => [index().on(t.familyId)],
);

/** Access tokens revoked one by one (RFC 7009) before they expire; rows can be dropped after `expires_at`. */
export const oauthRevokedAccessTokens = pgTable('oauth_revoked_access_tokens', {
  jti: text().primaryKey(),
  expiresAt: timestamptz().notNull(),
  revokedAt: timestamptz().notNull().defaultNow(),
});

export type OAuthTokenFamilyRow = typeof oauthTokenFamilies.$inferSelect;
export type OAuthRefreshTokenRow = typeof oauthRefreshTokens.$inferSelect;
