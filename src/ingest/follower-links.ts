// Links clearings, refunds and reversals to their authorization (at ingestion, in the orphan sweep).
import type { StoredEvent } from './event-fields.ts';
import type { Conn } from './ingest-transaction.ts';

/** A follower (clearing, refund, reversal) is matched to an authorization this far back. */
export const LINK_WINDOW_DAYS = 30;

type Link = { id: string; received_at: string; auth_id: string; auth_received_at: string };
type MatchedLink = Link & { by_id: boolean };

// Marks followers as linked and adds their amounts to their authorization's running totals, in one
// statement. Increments (not recomputed sums) keep totals right when concurrent transactions link to the
// same authorization: the row lock serialises them and each adds its own part.
async function applyLinks(tx: Conn, links: Link[]): Promise<void> {
  await tx`
    with links as (
      select * from json_to_recordset(${JSON.stringify(links)}::text::json)
        as l(id text, received_at timestamptz, auth_id text, auth_received_at timestamptz)
    ), linked as (
      update events e set authorization_id = l.auth_id, authorization_received_at = l.auth_received_at
      from links l
      where e.id = l.id and e.received_at = l.received_at and e.authorization_id is null
      returning e.authorization_id, e.authorization_received_at, e.type, e.amount
    ), totals as (
      select authorization_id, authorization_received_at,
        coalesce(sum(amount) filter (where type = 'clearing'), 0) as cleared,
        coalesce(sum(amount) filter (where type = 'refund'), 0) as refunded,
        coalesce(sum(amount) filter (where type = 'reversal'), 0) as reversed
      from linked group by authorization_id, authorization_received_at
      order by authorization_id
    ), moved as (
      -- Totals saturate at bigint's maximum (absurd amounts must not fail the batch with an overflow).
      update events a set
        cleared_amount = least(a.cleared_amount + t.cleared, 9223372036854775807),
        refunded_amount = least(a.refunded_amount + t.refunded, 9223372036854775807),
        reversed_amount = least(a.reversed_amount + t.reversed, 9223372036854775807)
      from totals t
      where a.id = t.authorization_id and a.received_at = t.authorization_received_at
        and a.type = 'authorization'
      returning a.id
    )
    -- A purchase that earned points or cashback moved: its rewards are settled again (src/dispatch/settle.ts).
    -- Fed by the update, so each purchase's change row is locked after its event row, as give-back does.
    insert into purchase_changes (purchase_id)
    select m.id from moved m
    where exists (select 1 from actions r where r.purchase_id = m.id and r.type in ('points', 'cashback'))
    on conflict (purchase_id) do update set changed_at = clock_timestamp()`;
}

export type FollowerRef = Pick<
  StoredEvent,
  | 'id'
  | 'receivedAt'
  | 'type'
  | 'processorId'
  | 'originalExternalId'
  | 'cardId'
  | 'mid'
  | 'authCode'
  | 'amount'
  | 'occurredAt'
>;

/**
 * Links clearings, refunds and reversals to their authorization: by `original_id`, else by card, MID and
 * auth code (or amount when there is none) within the window, preferring an equal amount, then one this
 * follower can still settle (not yet cleared or reversed in full; for a refund, cleared beyond what was
 * refunded), so like authorizations (same card, MID and amount) are settled one each. Returns follower
 * id → authorization id for those linked.
 */
export async function linkFollowers(tx: Conn, followers: FollowerRef[]): Promise<Map<string, string>> {
  const linked = new Map<string, string>();
  let todo = followers;
  // Followers matched by card and MID are compared with the authorizations' totals as they were before this
  // call, so two like followers would both pick the same authorization. One per authorization is applied per
  // round; the others are matched again against the updated totals (rounds: the most followers matched to
  // one authorization by card in one call, almost always 1).
  while (todo.length > 0) {
    const rows = await matchFollowers(tx, todo);
    const taken = new Set<string>();
    const now: Link[] = [];
    const again = new Set<string>();
    for (const row of rows) {
      // Only card matches are deferred: a by-id link names its authorization.
      if (!row.by_id && taken.has(row.auth_id)) again.add(row.id);
      else now.push(row);
      taken.add(row.auth_id);
    }
    if (now.length > 0) await applyLinks(tx, now);
    for (const row of now) linked.set(row.id, row.auth_id);
    todo = todo.filter((event) => again.has(event.id));
  }
  return linked;
}

async function matchFollowers(tx: Conn, followers: FollowerRef[]): Promise<readonly MatchedLink[]> {
  if (followers.length === 0) return [];
  return tx<MatchedLink[]>`
    with followers as (
      select * from json_to_recordset(${JSON.stringify(
        followers.map((event) => ({
          id: event.id,
          received_at: event.receivedAt,
          type: event.type,
          processor_id: event.processorId,
          original_id: event.originalExternalId,
          card_id: event.cardId,
          mid: event.mid,
          auth_code: event.authCode,
          amount: event.amount,
          occurred_at: event.occurredAt,
        })),
      )}::text::json) as input(id text, received_at timestamptz, type text, processor_id text, original_id text, card_id text,
               mid text, auth_code text, amount bigint, occurred_at timestamptz)
    ), named as (
      -- The event each original_id names, when stored (an authorization, or for a refund a clearing).
      select f.id, o.id as named_id, o.received_at as named_received_at, o.type as named_type, o.card_id as named_card_id,
        o.processor_id as named_processor_id, o.authorization_id as named_auth_id,
        o.authorization_received_at as named_auth_received_at
      from followers f
      join event_keys k on k.processor_id = f.processor_id and k.external_id = f.original_id and k.stored
      join events o on o.id = k.event_id and o.received_at = k.received_at
      where f.original_id is not null
    ), by_id as (
      -- Linked by id only when the named event is on the same card and from the same processor.
      select f.id, f.received_at, a.id as auth_id, a.received_at as auth_received_at
      from followers f join named n on n.id = f.id
      join events a on a.id = n.named_id and a.received_at = n.named_received_at and a.type = 'authorization'
      where n.named_card_id = f.card_id and n.named_processor_id = f.processor_id
      union all
      -- A refund naming a clearing follows that clearing's authorization, once the clearing is linked.
      select f.id, f.received_at, a.id, a.received_at
      from followers f join named n on n.id = f.id
      join events a on a.id = n.named_auth_id and a.received_at = n.named_auth_received_at
        and a.type = 'authorization'
      where f.type = 'refund' and n.named_type = 'clearing'
        and n.named_card_id = f.card_id and n.named_processor_id = f.processor_id
        and a.card_id = f.card_id and a.processor_id = f.processor_id
    )
    select id, received_at, auth_id, auth_received_at, true as by_id from by_id
    union all
    select f.id, f.received_at, a.id, a.received_at, false
    from followers f
    cross join lateral (
      select a.id, a.received_at from events a
      -- The hash is the key of events_authorizations_by_card_idx (migration 0007).
      where hashtextextended(a.card_id, 0) = hashtextextended(f.card_id, 0) and a.card_id = f.card_id
        and a.type = 'authorization' and a.mid = f.mid
        and a.occurred_at between f.occurred_at - ${LINK_WINDOW_DAYS}::int * interval '1 day' and f.occurred_at + interval '1 day'
        and (case when f.auth_code is not null then a.auth_code = f.auth_code else a.amount = f.amount end)
      order by (a.amount = f.amount) desc,
        (case when f.type = 'refund' then a.refunded_amount < a.cleared_amount
          else a.cleared_amount + a.reversed_amount < a.amount end) desc,
        a.occurred_at desc
      limit 1
    ) a
    -- Matched by card: no original_id, or one naming a stored event that gave no link by id (another card's,
    -- or a clearing not linked yet). An original_id naming nothing stored yet waits for its authorization.
    where (f.original_id is null or exists (select 1 from named n where n.id = f.id))
      and not exists (select 1 from by_id b where b.id = f.id)`;
}

/** An unlinked follower as `select id, received_at, type, … from events` returns it. */
export interface UnlinkedFollowerRow {
  id: string;
  received_at: Date;
  type: 'clearing' | 'refund' | 'reversal';
  processor_id: string;
  original_external_id: string | null;
  card_id: string;
  mid: string;
  auth_code: string | null;
  amount: string;
  occurred_at: Date;
}

export const followerRefOf = (row: UnlinkedFollowerRow): FollowerRef => ({
  id: row.id,
  receivedAt: new Date(row.received_at).toISOString(),
  type: row.type,
  processorId: row.processor_id,
  originalExternalId: row.original_external_id,
  cardId: row.card_id,
  mid: row.mid,
  authCode: row.auth_code,
  amount: Number(row.amount),
  occurredAt: new Date(row.occurred_at).toISOString(),
});

/**
 * The batch whose events are being linked: when it was received and the ids of its clearings, refunds and
 * reversals (its own followers; its authorizations are never mistaken for waiting followers).
 */
export interface OwnBatch {
  receivedAt: string;
  followerIds: readonly string[];
}

/** What the two look-ups below search for: waiting followers related to events of the batch. */
type WaitingKind = 'early' | 'named';

/**
 * Stored followers, still unlinked and not of this batch (`batch.followerIds`), of two kinds: `early` — without
 * original_id, on the card and MID of one of `authorizations` (they came before it and wait to be matched by
 * card); `named` — whose original_id names one of `named` (same processor). The kinds are disjoint (one has
 * no original_id, the other has one), so asking for both costs one round trip and finds the same rows as
 * asking for each in turn.
 */
async function waitingFollowers(
  tx: Conn,
  batch: OwnBatch,
  wanted: { authorizations: StoredEvent[]; named: StoredEvent[] },
): Promise<Record<WaitingKind, FollowerRef[]>> {
  const found: Record<WaitingKind, FollowerRef[]> = { early: [], named: [] };
  if (wanted.authorizations.length === 0 && wanted.named.length === 0) return found;
  const cardsAndMids = JSON.stringify(wanted.authorizations.map((e) => ({ card_id: e.cardId, mid: e.mid })));
  const ids = JSON.stringify(
    wanted.named.map((e) => ({ processor_id: e.processorId, external_id: e.externalId })),
  );
  const { receivedAt } = batch;
  const rows = await tx<(UnlinkedFollowerRow & { kind: WaitingKind })[]>`
    with new_authorizations as (
      select distinct card_id, mid from json_to_recordset(${cardsAndMids}::text::json) as a(card_id text, mid text)
    ), named_events as (
      select distinct processor_id, external_id
      from json_to_recordset(${ids}::text::json) as n(processor_id text, external_id text)
    ), candidates as (
      select 'early' as kind, f.*
      from new_authorizations a join events f on f.card_id = a.card_id and f.mid = a.mid
      where f.original_external_id is null
      union all
      select 'named' as kind, f.*
      from named_events n join events f on f.processor_id = n.processor_id and f.original_external_id = n.external_id
    )
    select kind, id, received_at, type, processor_id, original_external_id, card_id, mid, auth_code, amount,
      occurred_at
    from candidates
    where authorization_id is null and type <> 'authorization'
      and received_at >= ${receivedAt}::text::timestamptz - ${LINK_WINDOW_DAYS + 1}::int * interval '1 day'
      -- Bounded a day past the batch's time, not at it: one that waited for its cards' locks sees followers
      -- committed meanwhile, received after it. Its own rows are left out by id.
      and received_at < ${receivedAt}::text::timestamptz + interval '1 day'
      and not (received_at = ${receivedAt}::text::timestamptz
        and id in (select jsonb_array_elements_text(${JSON.stringify(batch.followerIds)}::text::jsonb)))
    order by kind, received_at, id`;
  for (const row of rows) found[row.kind].push(followerRefOf(row));
  return found;
}

/**
 * A refund or reversal as giving back reads it: the authorization it is linked to, else the event its
 * original_id names (a clearing-only purchase), and the amount it takes back.
 */
export type TakeBack = Pick<StoredEvent, 'authorizationId' | 'processorId' | 'originalExternalId' | 'amount'>;

const takesBack = (follower: FollowerRef) => follower.type === 'refund' || follower.type === 'reversal';

/**
 * Links followers stored before this batch that wait for one of its new authorizations: those naming one
 * by original_id first (they name it: no choice), so that those matched by card next see its totals with
 * them and prefer another it can settle. Returns the authorizations an earlier clearing was linked to, and
 * the earlier refunds and reversals now linked (their purchase gives back what it used).
 */
export async function linkEarlierFollowers(
  tx: Conn,
  authorizations: StoredEvent[],
  batch: OwnBatch,
): Promise<{ cleared: Set<string>; takeBacks: TakeBack[] }> {
  const waiting = await waitingFollowers(tx, batch, { authorizations, named: authorizations });
  const cleared = new Set<string>();
  const takeBacks: TakeBack[] = [];
  for (const followers of [waiting.named, waiting.early]) {
    if (followers.length === 0) continue;
    const links = await linkFollowers(tx, followers);
    for (const follower of followers) {
      const authorizationId = links.get(follower.id);
      if (authorizationId === undefined) continue;
      if (follower.type === 'clearing') cleared.add(authorizationId);
      else if (takesBack(follower)) takeBacks.push({ ...follower, authorizationId });
    }
  }
  return { cleared, takeBacks };
}

/**
 * Links a batch's new events inside its transaction, setting `authorizationId` on its followers. Followers
 * that came before their authorization are linked by the same matching as any follower (by original_id,
 * else one each over like authorizations, preferring one they can still settle); so are the batch's own
 * followers; then refunds waiting for one of its clearings, now that the clearing is linked.
 * `followersWaiting` is the batch write's answer: when false, no earlier follower is looked for.
 * Returns the new authorizations an earlier clearing was linked to (their purchase was seen on it), and the
 * refunds and reversals stored before the batch that now follow a purchase: linked to an authorization, or
 * naming one of its clearings (a clearing-only purchase they stay unlinked from).
 */
export async function linkNewEvents(
  tx: Conn,
  stored: StoredEvent[],
  receivedAt: string,
  followersWaiting: boolean,
): Promise<{ alreadyCleared: ReadonlySet<string>; earlierTakeBacks: readonly TakeBack[] }> {
  const followers = stored.filter((event) => event.type !== 'authorization');
  const batch: OwnBatch = { receivedAt, followerIds: followers.map((event) => event.id) };
  let alreadyCleared: ReadonlySet<string> = new Set();
  const earlierTakeBacks: TakeBack[] = [];
  if (followersWaiting) {
    const authorizations = stored.filter((event) => event.type === 'authorization');
    const earlier = await linkEarlierFollowers(tx, authorizations, batch);
    alreadyCleared = earlier.cleared;
    earlierTakeBacks.push(...earlier.takeBacks);
  }
  if (followers.length > 0) {
    const links = await linkFollowers(tx, followers);
    for (const event of followers) event.authorizationId = links.get(event.id) ?? null;
  }
  const clearings = followers.filter((event) => event.type === 'clearing');
  if (followersWaiting && clearings.length > 0) {
    const forClearings = await waitingFollowers(tx, batch, { authorizations: [], named: clearings });
    const links = forClearings.named.length > 0 ? await linkFollowers(tx, forClearings.named) : new Map();
    for (const follower of forClearings.named)
      if (takesBack(follower))
        earlierTakeBacks.push({ ...follower, authorizationId: links.get(follower.id) ?? null });
  }
  return { alreadyCleared, earlierTakeBacks };
}
