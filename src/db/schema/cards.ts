import { sql } from 'drizzle-orm';
import { index, integer, pgTable, text, uniqueIndex } from 'drizzle-orm/pg-core';
import { CARD_SCHEMES } from '../../lib/payments.ts';
import { timestamps, timestamptz } from './columns.ts';
import { users } from './users.ts';

export { CARD_SCHEMES, type CardScheme } from '../../lib/payments.ts';

/**
 * Enrolled cards. The PAN is never stored: `fingerprint` is HMAC-SHA256(CARD_FINGERPRINT_KEY, PAN), the one
 * key events are matched on. A removed card keeps its row (events still point at it) with `deleted_at` set,
 * and only one live enrollment per fingerprint may exist.
 */
export const cards = pgTable(
  'cards',
  {
    id: text().primaryKey(),
    userId: text()
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    fingerprint: text().notNull(),
    bin: text().notNull(),
    last4: text().notNull(),
    scheme: text({ enum: CARD_SCHEMES }).notNull(),
    expMonth: integer().notNull(),
    expYear: integer().notNull(),
    deletedAt: timestamptz(),
    ...timestamps,
  },
  (t) => [
    uniqueIndex('cards_live_fingerprint_key').on(t.fingerprint).where(sql`${t.deletedAt} is null`),
    index().on(t.userId),
  ],
);

export type CardRow = typeof cards.$inferSelect;
