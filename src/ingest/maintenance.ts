// Ingest upkeep for the maintenance worker: monthly event partitions ahead, and the orphan sweep.
import { sql } from 'drizzle-orm';
import type { Db, Sql } from '../db/client.ts';
import type { ActionsHook } from './actions-hook.ts';
import {
  followerRefOf,
  LINK_WINDOW_DAYS,
  linkFollowers,
  type UnlinkedFollowerRow,
} from './follower-links.ts';

/** Months of event partitions kept ready beyond the current one. */
export const EVENT_PARTITIONS_AHEAD = 3;

/**
 * Creates the monthly `events` partitions from this month to `monthsAhead` later (idempotent; rows that
 * fell into the default partition for such a month move into it). Returns how many were created.
 */
export async function ensureEventPartitions(db: Db, monthsAhead = EVENT_PARTITIONS_AHEAD): Promise<number> {
  const [row] = await db.execute<{ created: number }>(
    sql`select cardlink_ensure_event_partitions(${monthsAhead}::int) as created`,
  );
  return Number(row?.created ?? 0);
}

/**
 * Links followers still waiting for their authorization. Ingestion links them as soon as the authorization
 * is stored, and transactions on one card wait for each other (card-locks.ts); but a plain authorization is
 * committed without that wait and links earlier followers right after, where one committed meanwhile can
 * slip by, and that linking may fail: this sweep closes those gaps. It walks the whole window in pages of
 * `limit` (one transaction each), so followers that never find an authorization (refunds and force-posts
 * without one) cannot keep the sweep on the same first page. What the late links change for triggers is
 * settled in the same transaction: a refund or reversal gives back; a clearing that fired alone gives back
 * what its authorization fired too (as events stored before ingestion took card locks can be).
 * Returns how many were linked.
 */
export async function linkOrphanEvents(
  sql: Sql,
  actions: Pick<ActionsHook, 'settleLateLinks'>,
  limit = 1000,
): Promise<number> {
  let linked = 0;
  let after: { receivedAt: string; id: string } | null = null;
  for (;;) {
    const page: { linked: number; last: { receivedAt: string; id: string } | null; full: boolean } =
      await sql.begin(async (tx) => {
        const orphans = await tx<UnlinkedFollowerRow[]>`
          select id, received_at, type, processor_id, original_external_id, card_id, mid, auth_code, amount, occurred_at
          from events
          where authorization_id is null and type <> 'authorization'
            and received_at > now() - ${LINK_WINDOW_DAYS + 1}::int * interval '1 day'
            and (${after === null}::boolean
              or (received_at, id) > (${after?.receivedAt ?? null}::timestamptz, ${after?.id ?? null}::text))
          order by received_at, id
          limit ${limit}
          for update skip locked`;
        const last = orphans.at(-1);
        if (!last) return { linked: 0, last: null, full: false };
        const followers = orphans.map(followerRefOf);
        const links = await linkFollowers(tx, followers);
        const linked = followers.filter((f) => links.has(f.id));
        await actions.settleLateLinks(tx, {
          takeBacks: linked
            .filter((f) => f.type === 'refund' || f.type === 'reversal')
            .map((f) => ({ ...f, authorizationId: links.get(f.id)! })),
          doubles: linked
            .filter((f) => f.type === 'clearing')
            .map((f) => ({ clearingId: f.id, authorizationId: links.get(f.id)! })),
        });
        return {
          linked: links.size,
          last: { receivedAt: new Date(last.received_at).toISOString(), id: last.id },
          full: orphans.length === limit,
        };
      });
    linked += page.linked;
    if (!page.full || !page.last) return linked;
    after = page.last;
  }
}
