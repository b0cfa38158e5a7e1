import { pgTable, text, uniqueIndex } from 'drizzle-orm/pg-core';
import { timestamps } from './columns.ts';

/** Cardholders. Emails are stored lower-cased; passwords only as a slow hash. */
export const users = pgTable(
  'users',
  {
    id: text().primaryKey(),
    email: text().notNull(),
    passwordHash: text().notNull(),
    ...timestamps,
  },
  (t) => [uniqueIndex().on(t.email)],
);

export type UserRow = typeof users.$inferSelect;
