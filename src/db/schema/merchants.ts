import { relations } from 'drizzle-orm';
import { index, pgTable, text } from 'drizzle-orm/pg-core';
import { STATUSES, timestamps } from './columns.ts';

/** A merchant brand: the grouping of MIDs that triggers can target. */
export const merchants = pgTable('merchants', {
  id: text().primaryKey(),
  name: text().notNull(),
  mcc: text(),
  country: text(),
  timezone: text(),
  status: text({ enum: STATUSES }).notNull().default('active'),
  ...timestamps,
});

/** A MID belongs to at most one brand, so event ingestion resolves it with one index lookup. */
export const merchantMids = pgTable(
  'merchant_mids',
  {
    mid: text().primaryKey(),
    merchantId: text()
      .notNull()
      .references(() => merchants.id, { onDelete: 'cascade' }),
  },
  (t) => [index().on(t.merchantId)],
);

export const merchantsRelations = relations(merchants, ({ many }) => ({ mids: many(merchantMids) }));
export const merchantMidsRelations = relations(merchantMids, ({ one }) => ({
  merchant: one(merchants, { fields: [merchantMids.merchantId], references: [merchants.id] }),
}));

export type MerchantRow = typeof merchants.$inferSelect;
