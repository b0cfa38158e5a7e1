import { pgTable, primaryKey, text } from 'drizzle-orm/pg-core';
import { timestamptz } from './columns.ts';
import { processors } from './processors.ts';

/**
 * A processor's own card reference linked once to a PAN fingerprint (`POST /v1/card_tokens`). Events that
 * carry only the token resolve through it to whichever live card holds that fingerprint, so a card enrolled
 * after the link still matches. The PAN itself is never stored.
 */
export const cardTokens = pgTable(
  'card_tokens',
  {
    processorId: text()
      .notNull()
      .references(() => processors.id, { onDelete: 'cascade' }),
    token: text().notNull(),
    fingerprint: text().notNull(),
    createdAt: timestamptz().notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.processorId, t.token] })],
);

export type CardTokenRow = typeof cardTokens.$inferSelect;
