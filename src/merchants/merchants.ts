import { eq, inArray } from 'drizzle-orm';
import type { CardKeys } from '../cards/card-keys.ts';
import type { Executor } from '../db/client.ts';
import type { Page } from '../db/paginate.ts';
import { pageOfRows, rowById } from '../db/rows.ts';
import type { Status } from '../db/schema/columns.ts';
import { type MerchantRow, merchantMids, merchants } from '../db/schema/index.ts';
import { AppError, isUniqueViolation, notFound } from '../errors.ts';
import { newId } from '../lib/ids.ts';

export interface Merchant extends MerchantRow {
  mids: string[];
}

export interface NewMerchant {
  name: string;
  mids: string[];
  mcc?: string | undefined;
  country?: string | undefined;
  timezone?: string | undefined;
}

async function midsOf(db: Executor, ids: string[]): Promise<Map<string, string[]>> {
  const byMerchant = new Map<string, string[]>(ids.map((id) => [id, []]));
  if (ids.length === 0) return byMerchant;
  const rows = await db.select().from(merchantMids).where(inArray(merchantMids.merchantId, ids));
  for (const row of rows) byMerchant.get(row.merchantId)?.push(row.mid);
  for (const list of byMerchant.values()) list.sort();
  return byMerchant;
}

/** Claims MIDs for a merchant; a MID already owned by another brand is a conflict that names it. */
async function claimMids(db: Executor, merchantId: string, mids: string[]) {
  if (mids.length === 0) return;
  const taken = await db.select().from(merchantMids).where(inArray(merchantMids.mid, mids));
  const foreign = taken.filter((row) => row.merchantId !== merchantId).map((row) => row.mid);
  if (foreign.length > 0) {
    throw new AppError('conflict', `MID already belongs to another merchant: ${foreign.join(', ')}.`, {
      extra: { mids: foreign },
    });
  }
  try {
    await db
      .insert(merchantMids)
      .values(mids.map((mid) => ({ mid, merchantId })))
      .onConflictDoNothing();
  } catch (error) {
    if (isUniqueViolation(error))
      throw new AppError('conflict', 'A MID was claimed by another merchant meanwhile.');
    throw error;
  }
}

/**
 * MIDs as stored: one holding a card number is kept as its keyed hash, as ingestion stores an event's MID
 * (src/ingest/card-number-guard.ts), so the two still match.
 */
const storedMids = (mids: string[], cardKeys: CardKeys) =>
  [...new Set(mids.map((mid) => cardKeys.reference(mid)))].sort();

/** Creates a merchant brand with its MIDs, atomically. */
export async function createMerchant(
  db: Executor,
  input: NewMerchant,
  cardKeys: CardKeys,
): Promise<Merchant> {
  const mids = storedMids(input.mids, cardKeys);
  return db.transaction(async (tx) => {
    const [row] = await tx
      .insert(merchants)
      .values({
        id: newId('mer'),
        name: input.name,
        mcc: input.mcc ?? null,
        country: input.country ?? null,
        timezone: input.timezone ?? null,
      })
      .returning();
    await claimMids(tx, row!.id, mids);
    return { ...row!, mids };
  });
}

/** A page of merchants with their MIDs, newest first. */
export async function listMerchants(db: Executor, page: Page) {
  const { data, hasMore } = await pageOfRows(db, merchants, page);
  const mids = await midsOf(
    db,
    data.map((m) => m.id),
  );
  return { data: data.map((m) => ({ ...m, mids: mids.get(m.id) ?? [] })), hasMore };
}

/** The merchant with this id and its MIDs, or 404. */
export async function getMerchant(db: Executor, id: string): Promise<Merchant> {
  const row = await rowById(db, merchants, id, 'merchant');
  return { ...row, mids: (await midsOf(db, [id])).get(id) ?? [] };
}

export interface MerchantPatch {
  name?: string | undefined;
  /** Replaces the whole set of MIDs. */
  mids?: string[] | undefined;
  mcc?: string | null | undefined;
  country?: string | null | undefined;
  timezone?: string | null | undefined;
  status?: Status | undefined;
}

export async function updateMerchant(
  db: Executor,
  id: string,
  patch: MerchantPatch,
  cardKeys: CardKeys,
): Promise<Merchant> {
  return db.transaction(async (tx) => {
    // drizzle leaves a field that is undefined out of the UPDATE: only what the patch names changes.
    const [row] = await tx
      .update(merchants)
      .set({
        name: patch.name,
        mcc: patch.mcc,
        country: patch.country,
        timezone: patch.timezone,
        status: patch.status,
        updatedAt: new Date(),
      })
      .where(eq(merchants.id, id))
      .returning();
    if (!row) throw notFound('merchant');
    if (patch.mids !== undefined) {
      await tx.delete(merchantMids).where(eq(merchantMids.merchantId, id));
      await claimMids(tx, id, storedMids(patch.mids, cardKeys));
    }
    return { ...row, mids: (await midsOf(tx, [id])).get(id) ?? [] };
  });
}
