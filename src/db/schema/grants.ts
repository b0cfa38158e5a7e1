import { sql } from 'drizzle-orm';
import { bigint, check, index, pgTable, smallint, text, uniqueIndex } from 'drizzle-orm/pg-core';
import { apps } from './apps.ts';
import { timestamps, timestamptz } from './columns.ts';
import { users } from './users.ts';

/**
 * What a user lets an app do. One live grant per (user, app); revoking sets `revoked_at` and a later consent
 * starts a new grant, so tokens minted under the old one can never come back to life.
 */
export const grants = pgTable(
  'grants',
  {
    id: text().primaryKey(),
    userId: text()
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    appId: text()
      .notNull()
      .references(() => apps.id, { onDelete: 'cascade' }),
    scopes: text().array().notNull(),
    grantedAt: timestamptz().notNull().defaultNow(),
    revokedAt: timestamptz(),
    /** The `grant_changes.seq` of this grant's latest change: a grants cache asks for `change_seq > seen`. */
    changeSeq: bigint({ mode: 'number' }).notNull().default(0),
    ...timestamps,
  },
  (t) => [
    uniqueIndex('grants_live_user_app_key').on(t.userId, t.appId).where(sql`${t.revokedAt} is null`),
    index().on(t.appId),
    index().on(t.changeSeq),
  ],
);

/**
 * One row (id 1) counting every grant change (consent, scope change, revocation), bumped in the change's own
 * transaction, like `trigger_changes`: ingestion reads it with every batch it may act on, so a process whose
 * grants cache is behind it catches up before deciding anything, and a revocation holds from its answer on.
 */
export const grantChanges = pgTable(
  'grant_changes',
  {
    id: smallint().primaryKey(),
    seq: bigint({ mode: 'number' }).notNull(),
  },
  (t) => [check('grant_changes_one_row', sql`${t.id} = 1`)],
);

export const CONSENT_ACTIONS = ['granted', 'scopes_changed', 'revoked'] as const;
export type ConsentAction = (typeof CONSENT_ACTIONS)[number];

export const CONSENT_SOURCES = ['api', 'oauth', 'oauth_revoke', 'account_page'] as const;
export type ConsentSource = (typeof CONSENT_SOURCES)[number];

/** Append-only history of every consent decision: the record the user and the operator can read. */
export const consentEvents = pgTable(
  'consent_events',
  {
    id: text().primaryKey(),
    userId: text()
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    appId: text()
      .notNull()
      .references(() => apps.id, { onDelete: 'cascade' }),
    grantId: text()
      .notNull()
      .references(() => grants.id, { onDelete: 'cascade' }),
    action: text({ enum: CONSENT_ACTIONS }).notNull(),
    scopes: text().array().notNull(),
    previousScopes: text().array(),
    source: text({ enum: CONSENT_SOURCES }).notNull(),
    createdAt: timestamptz().notNull().defaultNow(),
  },
  (t) => [index().on(t.userId, t.id)],
);

export type GrantRow = typeof grants.$inferSelect;
export type ConsentEventRow = typeof consentEvents.$inferSelect;
