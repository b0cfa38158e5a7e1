import { bigint, index, jsonb, pgTable, text } from 'drizzle-orm/pg-core';
import { timestamptz } from './columns.ts';

export interface ReceiptMerchant {
  name: string | null;
  mid: string;
  merchant_id: string | null;
  mcc: string | null;
  city: string | null;
  region: string | null;
  postal_code: string | null;
  country: string | null;
}

/** A digital receipt a `receipt` action stored: readable by its user and by the app (unique per action). */
export const receipts = pgTable(
  'receipts',
  {
    id: text().primaryKey(),
    actionId: text().notNull().unique(),
    appId: text().notNull(),
    userId: text().notNull(),
    cardId: text().notNull(),
    eventId: text().notNull(),
    merchant: jsonb().$type<ReceiptMerchant>().notNull(),
    amount: bigint({ mode: 'number' }).notNull(),
    currency: text().notNull(),
    occurredAt: timestamptz().notNull(),
    /** The purchase's local wall-clock time where the card was used (`2026-11-23T08:15:02`) and its zone. */
    localTime: text().notNull(),
    timeZone: text(),
    cardLast4: text().notNull(),
    cardScheme: text().notNull(),
    createdAt: timestamptz().notNull().defaultNow(),
  },
  (t) => [index().on(t.userId, t.id), index().on(t.appId, t.id)],
);

/** A coupon a `coupon` action issued: a unique, unguessable code (unique per action). */
export const coupons = pgTable(
  'coupons',
  {
    id: text().primaryKey(),
    actionId: text().notNull().unique(),
    appId: text().notNull(),
    userId: text().notNull(),
    code: text().notNull().unique(),
    valueAmount: bigint({ mode: 'number' }),
    valueCurrency: text(),
    expiresAt: timestamptz(),
    createdAt: timestamptz().notNull().defaultNow(),
  },
  (t) => [index().on(t.userId, t.id), index().on(t.appId, t.id)],
);

/** A social post a `social_post` action rendered for the app to publish (unique per action). */
export const socialPosts = pgTable(
  'social_posts',
  {
    id: text().primaryKey(),
    actionId: text().notNull().unique(),
    appId: text().notNull(),
    userId: text().notNull(),
    text: text().notNull(),
    createdAt: timestamptz().notNull().defaultNow(),
  },
  (t) => [index().on(t.appId, t.id)],
);

export type ReceiptRow = typeof receipts.$inferSelect;
export type CouponRow = typeof coupons.$inferSelect;
export type SocialPostRow = typeof socialPosts.$inferSelect;
