// Reads of the stored effects: a user's own, or an app's own (of one user, for a token on a user's behalf).
import { and, eq, type SQL, sql } from 'drizzle-orm';
import type { Executor } from '../db/client.ts';
import type { Page } from '../db/paginate.ts';
import { pageOfRows } from '../db/rows.ts';
import { type CouponRow, coupons, grants, type ReceiptRow, receipts } from '../db/schema/index.ts';
import { notFound } from '../errors.ts';

/** Whose effects a read may see: a user's, or an app's (and then, optionally, only those of one user). */
export type EffectOwner =
  | { userId: string; appId?: undefined }
  | { appId: string; userId?: string | undefined };

type OwnedTable = typeof receipts | typeof coupons;

// An app reads only what belongs to users who grant it now: a revocation stops its reads too.
function ownedBy(table: OwnedTable, owner: EffectOwner): SQL | undefined {
  return and(
    owner.appId === undefined ? undefined : eq(table.appId, owner.appId),
    owner.appId === undefined
      ? undefined
      : sql`exists (select 1 from ${grants} g where g.user_id = ${table.userId} and g.app_id = ${table.appId}
          and g.revoked_at is null)`,
    owner.userId === undefined ? undefined : eq(table.userId, owner.userId),
  );
}

/** A page of the owner's receipts, newest first. */
export const listReceipts = (db: Executor, owner: EffectOwner, page: Page) =>
  pageOfRows(db, receipts, page, ownedBy(receipts, owner));

/** One of the owner's receipts; anyone else's is 404, like an unknown id. */
export async function getReceipt(db: Executor, owner: EffectOwner, id: string): Promise<ReceiptRow> {
  const [row] = await db
    .select()
    .from(receipts)
    .where(and(eq(receipts.id, id), ownedBy(receipts, owner)));
  if (!row) throw notFound('receipt');
  return row;
}

/** A page of the owner's coupons, newest first. */
export const listCoupons = (db: Executor, owner: EffectOwner, page: Page) =>
  pageOfRows(db, coupons, page, ownedBy(coupons, owner));

/** One of the owner's coupons; anyone else's is 404, like an unknown id. */
export async function getCoupon(db: Executor, owner: EffectOwner, id: string): Promise<CouponRow> {
  const [row] = await db
    .select()
    .from(coupons)
    .where(and(eq(coupons.id, id), ownedBy(coupons, owner)));
  if (!row) throw notFound('coupon');
  return row;
}
