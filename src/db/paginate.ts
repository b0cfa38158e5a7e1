/** Cursor pagination over prefixed, time-sortable ids, newest first. */
export interface Page {
  limit: number;
  startingAfter?: string | undefined;
}

/** Turns `limit + 1` fetched rows into a page and whether more follow. */
export function toPage<T>(rows: T[], limit: number): { data: T[]; hasMore: boolean } {
  return { data: rows.slice(0, limit), hasMore: rows.length > limit };
}
