import type postgres from 'postgres';
import { type Db, drizzleOver, type Sql } from '../db/client.ts';
import type { EntryMode, EventType } from '../db/partitioned/events.ts';
import { pgErrorCode } from '../errors.ts';
import { newId } from '../lib/ids.ts';
import type { Logger } from '../logger.ts';
import { evaluateAndReserve, mayReserveActions } from './actions-hook.ts';
import { statedOffsetMinutes } from './local-time.ts';

/** A postgres.js connection inside an open transaction (a reserved connection, or `sql.begin`'s). */
type Conn = postgres.ISql;

/** The ingestion transaction as the rules seam sees it: the connection, and drizzle over it when wanted. */
export interface IngestTx {
  sql: Sql;
  /** A drizzle database on the same connection, inside the same transaction (made on first use). */
  db(): Db;
}

/** An event validated and normalised, its PAN already replaced by a fingerprint: what a flush stores. */
export interface PendingEvent {
  processorId: string;
  externalId: string;
  type: EventType;
  /** RFC 3339 as sent (its offset gives the local time). */
  occurredAt: string;
  card: { fingerprint: string; token?: undefined } | { token: string; fingerprint?: undefined };
  amount: number;
  currency: string;
  merchant: {
    mid: string;
    name: string | null;
    mcc: string | null;
    city: string | null;
    region: string | null;
    postalCode: string | null;
    country: string | null;
    terminalId: string | null;
  };
  authCode: string | null;
  rrn: string | null;
  entryMode: EntryMode | null;
  originalId: string | null;
}

/** A canonical event as stored (and as handed to the rules engine). Timestamps are ISO 8601 strings. */
export interface StoredEvent {
  id: string;
  receivedAt: string;
  processorId: string;
  externalId: string;
  type: EventType;
  occurredAt: string;
  /** Wall-clock time where the card was used, `YYYY-MM-DDTHH:MM:SS(.fff)` without zone. */
  localAt: string;
  utcOffsetMinutes: number;
  cardId: string;
  userId: string;
  cardScheme: string;
  amount: number;
  currency: string;
  merchantId: string | null;
  mid: string;
  merchantName: string | null;
  mcc: string | null;
  merchantCity: string | null;
  merchantRegion: string | null;
  merchantPostalCode: string | null;
  merchantCountry: string | null;
  terminalId: string | null;
  authCode: string | null;
  rrn: string | null;
  entryMode: EntryMode | null;
  originalExternalId: string | null;
  /** The authorization this clearing, refund or reversal follows, once known. */
  authorizationId: string | null;
}

export interface StoreOutcome {
  eventId: string;
  /** `accepted` also covers events on unenrolled cards (acknowledged, nothing kept). */
  status: 'accepted' | 'duplicate';
  /** True when the card was enrolled and the event row exists. */
  enrolled: boolean;
  actions: number;
}

/** A follower (clearing, refund, reversal) is matched to an authorization this far back. */
export const LINK_WINDOW_DAYS = 30;

const keyOf = (processorId: string, externalId: string) => `${processorId}\u0000${externalId}`;

// Bulk rows travel as ONE jsonb parameter holding an array of positional arrays (see `recordOf`): any batch
// size fits one statement, far from Postgres' 65,535 bind-parameter limit, and the statement text never
// changes, so postgres.js prepares it once per connection and Postgres reuses its plan. Measured on 2,500
// rows of 23 fields: `jsonb_array_elements` + `->>` by position takes ~9–11 ms where `json_to_recordset` over
// objects took ~20–30 ms (it builds a hash table per object, after `::json` has already parsed the text once),
// and the text is 2.4× shorter. `::text::jsonb` keeps the parameter a plain string.
//
// The whole write is ONE statement: resolve the card (fingerprint, or processor token → fingerprint, live
// cards only) and the merchant brand, compute local time, claim the idempotency keys, insert the events of
// enrolled cards and count the others. Only rows whose key was new get past `k`, so a resend or a concurrent
// twin never inserts twice. It also says whether any follower stored earlier may wait for one of the new
// events (`followers_waiting`): when none does (the usual stream of authorizations) nothing follows it, and a
// batch of authorizations is this statement alone, committed as it runs (see `storeEvents`). Linking is left
// out of it on purpose: every reference to the partitioned `events` costs executor set-up per partition on
// every execution, which in small batches cost more than the rare follow-up round trip.
function writeBatch(tx: Conn, rows: string, receivedAt: string, useMerchantZone: boolean) {
  return tx<WrittenRow[]>`
    with r as (
      select (x->>0)::int as idx, x->>1 as id, x->>2 as processor_id, x->>3 as external_id, x->>4 as type,
        (x->>5)::timestamptz as occurred_at, (x->>6)::int as stated_offset, x->>7 as fp, x->>8 as tok,
        (x->>9)::bigint as amount, x->>10 as currency, x->>11 as mid, x->>12 as merchant_name, x->>13 as mcc,
        x->>14 as merchant_city, x->>15 as merchant_region, x->>16 as merchant_postal_code,
        x->>17 as merchant_country, x->>18 as terminal_id, x->>19 as auth_code, x->>20 as rrn,
        x->>21 as entry_mode, x->>22 as original_external_id
      from jsonb_array_elements(${rows}::text::jsonb) as x
    ), rc as (
      select r.*, c.id as card_id, c.user_id, c.scheme as card_scheme, m.id as merchant_id,
        coalesce(
          r.stated_offset,
          case when ${useMerchantZone}::boolean and m.timezone is not null then
            (extract(epoch from (r.occurred_at at time zone m.timezone) - (r.occurred_at at time zone 'UTC')) / 60)::int
          end,
          0) as utc_offset_minutes
      from r
      left join card_tokens t on r.fp is null and t.processor_id = r.processor_id and t.token = r.tok
      left join cards c on c.fingerprint = coalesce(r.fp, t.fingerprint) and c.deleted_at is null
      left join merchant_mids mm on mm.mid = r.mid
      left join merchants m on m.id = mm.merchant_id
    ), k as (
      -- Sorted so that concurrent transactions take key locks in one order (no deadlock between them).
      insert into event_keys (processor_id, external_id, event_id, received_at, stored)
      select processor_id, external_id, id, ${receivedAt}::text::timestamptz, card_id is not null
      from rc order by processor_id, external_id
      on conflict do nothing
      returning processor_id, external_id, stored
    ), fresh as not materialized (
      -- Inlined where it is read (the event insert; the rest only when followers wait): a materialized copy
      -- of every new row cost more than joining twice.
      select rc.* from rc join k using (processor_id, external_id)
    ), waiting as (
      -- Whether any follower waits for its authorization, by original_id or by card (one probe of each small
      -- partial index). Used below as uncorrelated one-time filters: when none waits (the common case) the
      -- per-event look-ups are skipped.
      select
        exists (
          select 1 from events o
          where o.authorization_id is null and o.type <> 'authorization' and o.original_external_id is not null
            and o.received_at between ${receivedAt}::text::timestamptz - ${LINK_WINDOW_DAYS + 1}::int * interval '1 day'
              and ${receivedAt}::text::timestamptz
        ) as orphans_waiting,
        exists (
          select 1 from events o
          where o.authorization_id is null and o.type <> 'authorization' and o.original_external_id is null
            and o.received_at between ${receivedAt}::text::timestamptz - ${LINK_WINDOW_DAYS + 1}::int * interval '1 day'
              and ${receivedAt}::text::timestamptz
        ) as early_waiting
    ), followers_waiting as (
      -- Followers stored before this batch that may now link to one of its events: without original_id, on
      -- the card and MID of a new authorization; or naming a new authorization or clearing by original_id.
      select
        ((select early_waiting from waiting) and exists (
          select 1 from fresh a join events f on f.card_id = a.card_id and f.mid = a.mid
          where a.type = 'authorization' and a.card_id is not null
            and f.authorization_id is null and f.type <> 'authorization' and f.original_external_id is null
            and f.received_at >= ${receivedAt}::text::timestamptz - ${LINK_WINDOW_DAYS + 1}::int * interval '1 day'
            and f.received_at < ${receivedAt}::text::timestamptz
        ))
        or ((select orphans_waiting from waiting) and exists (
          select 1 from fresh a join events f
            on f.processor_id = a.processor_id and f.original_external_id = a.external_id
          where a.type in ('authorization', 'clearing') and a.card_id is not null
            and f.authorization_id is null and f.type <> 'authorization' and f.original_external_id is not null
            and f.received_at >= ${receivedAt}::text::timestamptz - ${LINK_WINDOW_DAYS + 1}::int * interval '1 day'
            and f.received_at < ${receivedAt}::text::timestamptz
        )) as waiting
    ), e as (
      insert into events (id, received_at, processor_id, external_id, type, occurred_at, local_at,
        utc_offset_minutes, card_id, user_id, card_scheme, amount, currency, merchant_id, mid, merchant_name, mcc,
        merchant_city, merchant_region, merchant_postal_code, merchant_country, terminal_id, auth_code, rrn,
        entry_mode, original_external_id, cleared_amount, refunded_amount, reversed_amount)
      select f.id, ${receivedAt}::text::timestamptz, f.processor_id, f.external_id, f.type, f.occurred_at,
        (f.occurred_at at time zone 'UTC') + make_interval(mins => f.utc_offset_minutes), f.utc_offset_minutes,
        f.card_id, f.user_id, f.card_scheme, f.amount, f.currency, f.merchant_id, f.mid, f.merchant_name, f.mcc,
        f.merchant_city, f.merchant_region, f.merchant_postal_code, f.merchant_country, f.terminal_id, f.auth_code,
        f.rrn, f.entry_mode, f.original_external_id, 0, 0, 0
      from fresh f
      where f.card_id is not null
      returning id, local_at
    ), unenrolled as (
      insert into unenrolled_event_counts (processor_id, day, count)
      select processor_id, (${receivedAt}::text::timestamptz at time zone 'UTC')::date, count(*)
      from k where not stored
      group by processor_id order by processor_id
      on conflict (processor_id, day) do update set count = unenrolled_event_counts.count + excluded.count
    )
    select r.idx, (k.external_id is not null) as is_new, r.card_id, r.user_id, r.card_scheme, r.merchant_id,
      r.utc_offset_minutes, e.local_at::text as local_at, (select waiting from followers_waiting) as followers_waiting
    -- From rc, not r: r then has a single reader and is not materialized (a copy of every input row saved).
    from rc r
    left join k using (processor_id, external_id)
    left join e on e.id = r.id`;
}

interface WrittenRow {
  idx: number;
  is_new: boolean;
  /** The live card the event resolved to, null when none (then nothing is stored). */
  card_id: string | null;
  user_id: string;
  card_scheme: string;
  merchant_id: string | null;
  utc_offset_minutes: number;
  /** Null unless the event was stored (new, and on an enrolled card). */
  local_at: string | null;
  /** The same on every row: whether an earlier follower may wait for one of the batch's new events. */
  followers_waiting: boolean;
}

/** `toISOString()`'s own form: such a timestamp is already canonical (no Date round trip per event). */
const CANONICAL_UTC = /^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z$/;

function storedEvent(event: PendingEvent, id: string, receivedAt: string, row: WrittenRow): StoredEvent {
  return {
    id,
    receivedAt,
    processorId: event.processorId,
    externalId: event.externalId,
    type: event.type,
    occurredAt: CANONICAL_UTC.test(event.occurredAt)
      ? event.occurredAt
      : new Date(event.occurredAt).toISOString(),
    localAt: row.local_at!.replace(' ', 'T'),
    utcOffsetMinutes: row.utc_offset_minutes,
    cardId: row.card_id!,
    userId: row.user_id,
    cardScheme: row.card_scheme,
    amount: event.amount,
    currency: event.currency,
    merchantId: row.merchant_id,
    mid: event.merchant.mid,
    merchantName: event.merchant.name,
    mcc: event.merchant.mcc,
    merchantCity: event.merchant.city,
    merchantRegion: event.merchant.region,
    merchantPostalCode: event.merchant.postalCode,
    merchantCountry: event.merchant.country,
    terminalId: event.merchant.terminalId,
    authCode: event.authCode,
    rrn: event.rrn,
    entryMode: event.entryMode,
    originalExternalId: event.originalId,
    authorizationId: null,
  };
}

/** One row of `writeBatch`'s parameter: positional, in the order its `r` CTE reads them. */
function recordOf(event: PendingEvent, idx: number, id: string) {
  const { merchant } = event;
  return [
    idx,
    id,
    event.processorId,
    event.externalId,
    event.type,
    event.occurredAt,
    statedOffsetMinutes(event.occurredAt),
    event.card.fingerprint ?? null,
    event.card.token ?? null,
    event.amount,
    event.currency,
    merchant.mid,
    merchant.name,
    merchant.mcc,
    merchant.city,
    merchant.region,
    merchant.postalCode,
    merchant.country,
    merchant.terminalId,
    event.authCode,
    event.rrn,
    event.entryMode,
    event.originalId,
  ];
}

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
    )
    -- Totals saturate at bigint's maximum (absurd amounts must not fail the batch with an overflow).
    update events a set
      cleared_amount = least(a.cleared_amount + t.cleared, 9223372036854775807),
      refunded_amount = least(a.refunded_amount + t.refunded, 9223372036854775807),
      reversed_amount = least(a.reversed_amount + t.reversed, 9223372036854775807)
    from totals t
    where a.id = t.authorization_id and a.received_at = t.authorization_received_at
      and a.type = 'authorization'`;
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
    with f as (
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
      )}::text::json) as f(id text, received_at timestamptz, type text, processor_id text, original_id text, card_id text,
               mid text, auth_code text, amount bigint, occurred_at timestamptz)
    ), named as (
      -- The event each original_id names, when stored (an authorization, or for a refund a clearing).
      select f.id, o.id as named_id, o.received_at as named_received_at, o.type as named_type, o.card_id as named_card_id,
        o.processor_id as named_processor_id, o.authorization_id as named_auth_id,
        o.authorization_received_at as named_auth_received_at
      from f
      join event_keys k on k.processor_id = f.processor_id and k.external_id = f.original_id and k.stored
      join events o on o.id = k.event_id and o.received_at = k.received_at
      where f.original_id is not null
    ), by_id as (
      -- Linked by id only when the named event is on the same card and from the same processor.
      select f.id, f.received_at, a.id as auth_id, a.received_at as auth_received_at
      from f join named n on n.id = f.id
      join events a on a.id = n.named_id and a.received_at = n.named_received_at and a.type = 'authorization'
      where n.named_card_id = f.card_id and n.named_processor_id = f.processor_id
      union all
      -- A refund naming a clearing follows that clearing's authorization, once the clearing is linked.
      select f.id, f.received_at, a.id, a.received_at
      from f join named n on n.id = f.id
      join events a on a.id = n.named_auth_id and a.received_at = n.named_auth_received_at
        and a.type = 'authorization'
      where f.type = 'refund' and n.named_type = 'clearing'
        and n.named_card_id = f.card_id and n.named_processor_id = f.processor_id
        and a.card_id = f.card_id and a.processor_id = f.processor_id
    )
    select id, received_at, auth_id, auth_received_at, true as by_id from by_id
    union all
    select f.id, f.received_at, a.id, a.received_at, false
    from f
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
export interface OrphanRow {
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

export const followerRefOf = (row: OrphanRow): FollowerRef => ({
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

/** What the two look-ups below search for: waiting followers related to events of the batch. */
type WaitingKind = 'early' | 'named';

/**
 * Stored followers, still unlinked and received before this batch, of two kinds: `early` — without
 * original_id, on the card and MID of one of `authorizations` (they came before it and wait to be matched by
 * card); `named` — whose original_id names one of `named` (same processor). The kinds are disjoint (one has
 * no original_id, the other has one), so asking for both costs one round trip and finds the same rows as
 * asking for each in turn.
 */
async function waitingFollowers(
  tx: Conn,
  receivedAt: string,
  wanted: { authorizations: StoredEvent[]; named: StoredEvent[] },
): Promise<Record<WaitingKind, FollowerRef[]>> {
  const found: Record<WaitingKind, FollowerRef[]> = { early: [], named: [] };
  if (wanted.authorizations.length === 0 && wanted.named.length === 0) return found;
  const cardsAndMids = JSON.stringify(wanted.authorizations.map((e) => ({ card_id: e.cardId, mid: e.mid })));
  const ids = JSON.stringify(
    wanted.named.map((e) => ({ processor_id: e.processorId, external_id: e.externalId })),
  );
  const rows = await tx<(OrphanRow & { kind: WaitingKind })[]>`
    with a as (
      select distinct card_id, mid from json_to_recordset(${cardsAndMids}::text::json) as a(card_id text, mid text)
    ), n as (
      select distinct processor_id, external_id
      from json_to_recordset(${ids}::text::json) as n(processor_id text, external_id text)
    ), waiting as (
      select 'early' as kind, f.*
      from a join events f on f.card_id = a.card_id and f.mid = a.mid
      where f.original_external_id is null
      union all
      select 'named' as kind, f.*
      from n join events f on f.processor_id = n.processor_id and f.original_external_id = n.external_id
    )
    select kind, id, received_at, type, processor_id, original_external_id, card_id, mid, auth_code, amount,
      occurred_at
    from waiting
    where authorization_id is null and type <> 'authorization'
      and received_at >= ${receivedAt}::text::timestamptz - ${LINK_WINDOW_DAYS + 1}::int * interval '1 day'
      and received_at < ${receivedAt}::text::timestamptz
    order by kind, received_at, id`;
  for (const row of rows) found[row.kind].push(followerRefOf(row));
  return found;
}

/** What one write of a batch gave: per event its outcome (duplicates still to resolve) and the new rows. */
interface Written {
  receivedAt: string;
  outcomes: StoreOutcome[];
  /** The rows of events stored now (new, on an enrolled card): see `storedEvents`. */
  storedRows: WrittenRow[];
  /** Indexes of events whose key existed already: their original ids are read by `resolveDuplicates`. */
  resent: number[];
  /** Whether an earlier follower may wait for one of the new events (see `writeBatch`). */
  followersWaiting: boolean;
}

function written(ids: string[], receivedAt: string, rows: readonly WrittenRow[]): Written {
  const outcomes: StoreOutcome[] = new Array(ids.length);
  const storedRows: WrittenRow[] = [];
  const resent: number[] = [];
  for (const row of rows) {
    if (!row.is_new) {
      resent.push(row.idx);
      continue;
    }
    const enrolled = row.local_at !== null; // the event row exists
    outcomes[row.idx] = { eventId: ids[row.idx]!, status: 'accepted', enrolled, actions: 0 };
    if (enrolled) storedRows.push(row);
  }
  return { receivedAt, outcomes, storedRows, resent, followersWaiting: rows[0]?.followers_waiting === true };
}

/** The canonical events a write stored, for linking and the rules seam (built only when one needs them). */
function storedEvents(events: PendingEvent[], ids: string[], write: Written): StoredEvent[] {
  return write.storedRows.map((row) => storedEvent(events[row.idx]!, ids[row.idx]!, write.receivedAt, row));
}

/**
 * Fills in the outcomes of resent events with their original event ids. The keys are committed by now:
 * the write's insert waited for any concurrent transaction holding one, and this query sees what it did.
 */
async function resolveDuplicates(sql: Conn, events: PendingEvent[], { resent, outcomes }: Written) {
  if (resent.length === 0) return;
  const keys = resent.map((idx) => ({
    processor_id: events[idx]!.processorId,
    external_id: events[idx]!.externalId,
  }));
  const existing = await sql<
    { processor_id: string; external_id: string; event_id: string; stored: boolean }[]
  >`
    select k.processor_id, k.external_id, k.event_id, k.stored
    from json_to_recordset(${JSON.stringify(keys)}::text::json) as r(processor_id text, external_id text)
    join event_keys k using (processor_id, external_id)`;
  const byKey = new Map(existing.map((row) => [keyOf(row.processor_id, row.external_id), row]));
  for (const idx of resent) {
    const original = byKey.get(keyOf(events[idx]!.processorId, events[idx]!.externalId));
    if (!original) throw new Error('an event key vanished while storing');
    outcomes[idx] = {
      eventId: original.event_id,
      status: 'duplicate',
      enrolled: original.stored,
      actions: 0,
    };
  }
}

/**
 * Links followers stored before this batch that wait for one of its new authorizations: those naming one
 * by original_id first (they name it: no choice), so that those matched by card next see its totals with
 * them and prefer another it can settle.
 */
async function linkWaitingFor(tx: Conn, authorizations: StoredEvent[], receivedAt: string) {
  const waiting = await waitingFollowers(tx, receivedAt, { authorizations, named: authorizations });
  if (waiting.named.length > 0) await linkFollowers(tx, waiting.named);
  if (waiting.early.length > 0) await linkFollowers(tx, waiting.early);
}

function writeOf(
  tx: Conn,
  events: PendingEvent[],
  ids: string[],
  receivedAt: string,
  useMerchantZone: boolean,
) {
  return writeBatch(
    tx,
    JSON.stringify(events.map((event, idx) => recordOf(event, idx, ids[idx]!))),
    receivedAt,
    useMerchantZone,
  );
}

async function storeInTransaction(
  ingestTx: IngestTx,
  events: PendingEvent[],
  receivedAt: string,
  useMerchantZone: boolean,
) {
  const tx = ingestTx.sql;
  const ids = events.map(() => newId('evt'));
  const write = written(ids, receivedAt, await writeOf(tx, events, ids, receivedAt, useMerchantZone));
  await resolveDuplicates(tx, events, write);
  const { outcomes, followersWaiting } = write;
  const stored = storedEvents(events, ids, write);
  if (stored.length === 0) return outcomes;
  const followers = stored.filter((event) => event.type !== 'authorization');
  const authorizations = stored.filter((event) => event.type === 'authorization');
  // Followers that came before their authorization are linked by the same matching as any follower (by
  // original_id, else one each over like authorizations, preferring one they can still settle); so are the
  // batch's own followers.
  if (followersWaiting) await linkWaitingFor(tx, authorizations, receivedAt);
  if (followers.length > 0) {
    const links = await linkFollowers(tx, followers);
    for (const event of followers) event.authorizationId = links.get(event.id) ?? null;
  }
  // Then refunds waiting for a clearing of this batch, now that the clearing is linked to its authorization.
  const clearings = followers.filter((event) => event.type === 'clearing');
  if (followersWaiting && clearings.length > 0) {
    const forClearings = await waitingFollowers(tx, receivedAt, { authorizations: [], named: clearings });
    if (forClearings.named.length > 0) await linkFollowers(tx, forClearings.named);
  }
  return reserveActions(ingestTx, stored, outcomes);
}

/** Runs the rules seam on the new stored events and records how many actions each caused. */
async function reserveActions(
  ingestTx: IngestTx,
  stored: StoredEvent[],
  outcomes: StoreOutcome[],
): Promise<StoreOutcome[]> {
  const actions = await evaluateAndReserve(ingestTx, stored);
  for (const outcome of outcomes) {
    if (outcome.status === 'accepted') outcome.actions = actions.get(outcome.eventId) ?? 0;
  }
  return outcomes;
}

// postgres.js holds a write under 1 KiB back until the event loop's check phase (setImmediate), to send
// small queries together. Under load that is the rest of a loop iteration — every HTTP request parsed in it —
// spent while the transaction holds its connection and its callers wait: it showed as milliseconds of
// latency per round trip in the single-event bench. BEGIN and COMMIT are therefore sent as simple queries
// padded with a comment: BEGIN to just under 1 KiB, so that the statement queued right after it pushes the
// write over the threshold and both go out at once, COMMIT past it, so it goes out at once. (Postgres skips
// the comment; the cost is 2 KiB on the loopback per transaction.)
const BEGIN = `begin /*${' '.repeat(1000)}*/`;
const COMMIT = `commit /*${' '.repeat(1024)}*/`;

/**
 * Runs `work` in one transaction on a reserved connection. BEGIN is not a round trip of its own: it is
 * written together with `work`'s first statement (postgres.js pipelines queries on a connection), so a
 * batch with nothing else to do costs two round trips, statement and COMMIT, instead of four with
 * `sql.begin` (BEGIN, statement, look-up, COMMIT).
 */
export async function inTransaction<T>(pool: Sql, work: (tx: IngestTx) => Promise<T>): Promise<T> {
  const conn = await pool.reserve();
  let db: Db | undefined;
  const begun = conn.unsafe(BEGIN).execute();
  begun.catch(() => {}); // awaited below; a failure must not surface as an unhandled rejection meanwhile
  try {
    // A reserved connection lacks the pool's `options`, which drizzle reads (and sets its parsers on): it
    // gets the pool's, whose parsers the pool's own drizzle already set, so nothing changes for the pool.
    const result = await work({
      sql: conn,
      db: () => (db ??= drizzleOver(Object.assign(conn, { options: pool.options }))),
    });
    await begun;
    await conn.unsafe(COMMIT);
    return result;
  } catch (error) {
    // Rolls back whatever the failed statement left open; answers an error (ignored) if none is.
    await conn`rollback`.catch(() => {});
    await begun.catch(() => {});
    throw error;
  } finally {
    conn.release();
  }
}

// Deadlock and serialization failures are retried; 22023 (time zone not recognised) would mean a merchant
// time zone Postgres does not know: the batch is retried with UTC for those rather than lost.
const RETRYABLE = new Set(['40P01', '40001']);

export interface StoreOptions {
  /** Where a failure of the work done after commit (linking earlier followers) is reported. */
  logger?: Logger;
}

/**
 * Stores normalised events in ONE transaction and returns, per input event and in order, its event id and
 * whether it is new or a resend. The same (processor, id) twice in `events` is stored once: the second is a
 * duplicate of the first. Retries the transaction on deadlock or serialization failure.
 *
 * A batch of authorizations for which the rules seam has nothing to do (the usual stream) is its write
 * statement alone, committed as it runs (no BEGIN or COMMIT: one round trip instead of two): what the
 * transaction would do after it only reads (the original ids of resent events) or links followers stored
 * earlier, which is done right after, in a transaction of its own, before the callers are answered. Should
 * that linking fail, the orphan sweep links them later (maintenance.ts).
 */
export async function storeEvents(
  db: Db,
  events: PendingEvent[],
  options: StoreOptions = {},
): Promise<StoreOutcome[]> {
  if (events.length === 0) return [];
  const firstIndex = new Map<string, number>();
  const unique: PendingEvent[] = [];
  const slot = events.map((event) => {
    const key = keyOf(event.processorId, event.externalId);
    let index = firstIndex.get(key);
    if (index === undefined) {
      index = unique.length;
      firstIndex.set(key, index);
      unique.push(event);
      return { index, repeat: false };
    }
    return { index, repeat: true };
  });
  const withWrite = unique.every((event) => event.type === 'authorization') && !mayReserveActions(unique);
  const outcomes = withWrite
    ? await storeCommittedWithWrite(db, unique, options)
    : await retried((receivedAt, useMerchantZone) =>
        inTransaction(db.$client, (tx) => storeInTransaction(tx, unique, receivedAt, useMerchantZone)),
      );
  return slot.map(({ index, repeat }) => {
    const outcome = outcomes[index]!;
    return repeat ? { ...outcome, status: 'duplicate' as const, actions: 0 } : outcome;
  });
}

/**
 * Runs a transaction (given when it is received and whether merchant time zones apply) up to 3 times: again
 * on deadlock or serialization failure, and without merchant zones when Postgres does not know one.
 */
async function retried<T>(attempt: (receivedAt: string, useMerchantZone: boolean) => Promise<T>): Promise<T> {
  let useMerchantZone = true;
  for (let tries = 1; ; tries++) {
    try {
      return await attempt(new Date().toISOString(), useMerchantZone);
    } catch (error) {
      const code = pgErrorCode(error);
      if (tries >= 3 || !code) throw error;
      if (code === '22023' && useMerchantZone) useMerchantZone = false;
      else if (!RETRYABLE.has(code)) throw error;
    }
  }
}

async function storeCommittedWithWrite(
  db: Db,
  events: PendingEvent[],
  options: StoreOptions,
): Promise<StoreOutcome[]> {
  const pool = db.$client;
  const ids = events.map(() => newId('evt'));
  const write = await retried(async (receivedAt, useMerchantZone) =>
    written(
      ids,
      receivedAt,
      // One statement outside any transaction block is a transaction of its own: Postgres commits it before
      // it answers (ReadyForQuery, on which postgres.js resolves), and a failure leaves nothing of it.
      await writeOf(pool, events, ids, receivedAt, useMerchantZone),
    ),
  );
  // Committed. Should reading the originals of resent events fail now, the callers' retry finds every event
  // of the batch stored and answers `duplicate` with its id: nothing is lost or stored twice.
  await resolveDuplicates(pool, events, write);
  if (write.followersWaiting && write.storedRows.length > 0) {
    // Only then are the stored events needed as objects (the usual batch builds none).
    const stored = storedEvents(events, ids, write);
    try {
      await retried(() => inTransaction(pool, (tx) => linkWaitingFor(tx.sql, stored, write.receivedAt)));
    } catch (error) {
      if (!options.logger) throw error;
      options.logger.warn(
        {
          err: { message: error instanceof Error ? error.message : String(error), code: pgErrorCode(error) },
        },
        'earlier followers not linked to new authorizations; the orphan sweep will link them',
      );
    }
  }
  return write.outcomes;
}
