import { boolean, index, pgTable, text } from 'drizzle-orm/pg-core';
import { apps } from './apps.ts';
import { timestamptz } from './columns.ts';
import { grants } from './grants.ts';
import { users } from './users.ts';

/** Authorization codes (stored as SHA-256), single use, bound to client, redirect URI and PKCE challenge. */
export const oauthCodes = pgTable(
  'oauth_codes',
  {
    codeHash: text().primaryKey(),
    appId: text()
      .notNull()
      .references(() => apps.id, { onDelete: 'cascade' }),
    userId: text()
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    grantId: text()
      .notNull()
      .references(() => grants.id, { onDelete: 'cascade' }),
    redirectUri: text().notNull(),
    /** Whether the authorization request named `redirect_uri`: then the token request must repeat it. */
    redirectUriGiven: boolean().notNull().default(true),
    scopes: text().array().notNull(),
    codeChallenge: text().notNull(),
    createdAt: timestamptz().notNull().defaultNow(),
    expiresAt: timestamptz().notNull(),
    usedAt: timestamptz(),
  },
  (t) => [index().on(t.expiresAt)],
);

export type OAuthCodeRow = typeof oauthCodes.$inferSelect;
