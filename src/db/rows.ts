import { and, desc, eq, type InferSelectModel, lt, type SQL } from 'drizzle-orm';
import type { PgColumn, PgTable } from 'drizzle-orm/pg-core';
import { notFound } from '../errors.ts';
import type { Executor } from './client.ts';
import { type Page, toPage } from './paginate.ts';

// Reads of any table keyed by a prefixed, time-sortable `id`. drizzle cannot type a select over a table that
// is a type parameter, so each read says what its rows are: the table's own.
type IdTable = PgTable & { id: PgColumn };

/** The row with this id, or 404 `not_found` naming `what`. */
export async function rowById<T extends IdTable>(
  db: Executor,
  table: T,
  id: string,
  what: string,
): Promise<InferSelectModel<T>> {
  const [row] = await db
    .select()
    .from(table as PgTable)
    .where(eq(table.id, id));
  if (!row) throw notFound(what);
  return row as InferSelectModel<T>;
}

/** A page of the rows (those matching `where`, if given), newest first. */
export async function pageOfRows<T extends IdTable>(
  db: Executor,
  table: T,
  page: Page,
  where?: SQL,
): Promise<{ data: InferSelectModel<T>[]; hasMore: boolean }> {
  const rows = await db
    .select()
    .from(table as PgTable)
    .where(and(where, page.startingAfter ? lt(table.id, page.startingAfter) : undefined))
    .orderBy(desc(table.id))
    .limit(page.limit + 1);
  return toPage(rows as InferSelectModel<T>[], page.limit);
}
