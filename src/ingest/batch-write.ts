// The one statement that writes a batch of events, and what its answer means for each event.
import {
  eventKey,
  eventRow,
  type PendingEvent,
  READ_EVENT_ROW,
  SENT_COLUMN_NAMES,
  type StoredEvent,
} from './event-fields.ts';
import { LINK_WINDOW_DAYS } from './follower-links.ts';
import type { Conn } from './ingest-transaction.ts';

export interface StoreOutcome {
  eventId: string;
  /** `accepted` also covers events on unenrolled cards (acknowledged, nothing kept). */
  status: 'accepted' | 'duplicate';
  /** True when the card was enrolled and the event row exists. */
  enrolled: boolean;
  actions: number;
}

/** One row of the batch write's answer, per input event. */
interface BatchWriteRow {
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
  /** The same on every row: the trigger and grant change counters as this statement saw them. */
  trigger_seq: string;
  grant_seq: string;
}

// Inlined into the statement with `conn.unsafe` (as is READ_EVENT_ROW): built once from our own column
// names, never from input, so the text stays the same on every call.
const INSERT_SENT_COLUMNS = SENT_COLUMN_NAMES.join(', ');
const SELECT_SENT_COLUMNS = SENT_COLUMN_NAMES.map((column) => `new_event.${column}`).join(', ');

// Rows travel as ONE jsonb parameter, an array of positional arrays (`eventRow`; the select list reading
// them back is generated from the same columns): any batch size fits one statement, and the text never
// changes, so postgres.js prepares it once per connection. Positional arrays parse faster than objects
// (bench/README.md). `::text::jsonb` keeps the parameter a plain string.
//
// One statement does the whole write. Only rows whose key is claimed now get past `claimed_keys`, so a
// resend or a concurrent twin never inserts twice. It also says whether any follower stored earlier may wait
// for one of the new events (`followers_waiting`); when none does, a batch of authorizations is this
// statement alone (see store-events.ts). Linking is left out of it: every reference to the partitioned
// `events` costs executor set-up per partition, more than the rare follow-up round trip in small batches.
function runBatchWrite(
  conn: Conn,
  rows: string,
  receivedAt: string,
  useMerchantZone: boolean,
  triggersSeenUpTo: number,
) {
  return conn<BatchWriteRow[]>`
    with counters as (
      select coalesce((select seq from trigger_changes where id = 1), 0) as seq,
        coalesce((select seq from grant_changes where id = 1), 0) as grant_seq
    ), batch as (
      select ${conn.unsafe(READ_EVENT_ROW)}
      from jsonb_array_elements(${rows}::text::jsonb) as x
    ), resolved as (
      select batch.*, c.id as card_id, c.user_id, c.scheme as card_scheme, m.id as merchant_id,
        coalesce(
          batch.stated_offset,
          case when ${useMerchantZone}::boolean and m.timezone is not null then
            (extract(epoch from (batch.occurred_at at time zone m.timezone) - (batch.occurred_at at time zone 'UTC')) / 60)::int
          end,
          0) as utc_offset_minutes
      from batch
      left join card_tokens t on batch.card_fingerprint is null and t.processor_id = batch.processor_id
        and t.token = batch.card_token
      left join cards c on c.fingerprint = coalesce(batch.card_fingerprint, t.fingerprint) and c.deleted_at is null
      left join merchant_mids mm on mm.mid = batch.mid
      left join merchants m on m.id = mm.merchant_id
    ), claimed_keys as (
      -- Sorted so that concurrent transactions take key locks in one order (no deadlock between them).
      insert into event_keys (processor_id, external_id, event_id, received_at, stored)
      select processor_id, external_id, id, ${receivedAt}::text::timestamptz, card_id is not null
      from resolved
      -- Written only when no trigger changed beyond what the caller's index holds (see writeEventBatch).
      where (select seq from counters) <= ${triggersSeenUpTo}::bigint
      order by processor_id, external_id
      on conflict do nothing
      returning processor_id, external_id, stored
    ), new_events as not materialized (
      -- Inlined where it is read: a materialized copy of every new row cost more than joining twice.
      select resolved.* from resolved join claimed_keys using (processor_id, external_id)
    ), unlinked_followers as (
      -- Whether any follower waits for its authorization, by original_id or by card (one probe of each small
      -- partial index). Used below as uncorrelated one-time filters: when none waits (the common case) the
      -- per-event look-ups are skipped.
      select
        exists (
          select 1 from events o
          where o.authorization_id is null and o.type <> 'authorization' and o.original_external_id is not null
            and o.received_at >= ${receivedAt}::text::timestamptz - ${LINK_WINDOW_DAYS + 1}::int * interval '1 day'
            and o.received_at < ${receivedAt}::text::timestamptz + interval '1 day'
        ) as named_waiting,
        exists (
          select 1 from events o
          where o.authorization_id is null and o.type <> 'authorization' and o.original_external_id is null
            and o.received_at >= ${receivedAt}::text::timestamptz - ${LINK_WINDOW_DAYS + 1}::int * interval '1 day'
            and o.received_at < ${receivedAt}::text::timestamptz + interval '1 day'
        ) as early_waiting
    ), followers_waiting as (
      -- Followers stored before this batch that may now link to one of its events: without original_id, on
      -- the card and MID of a new authorization; or naming a new authorization or clearing by original_id.
      -- Bounded a day past the batch's time, not at it: the batch's own rows are not visible to this statement,
      -- and a batch that waited for its cards' locks (card-locks.ts) must see followers committed meanwhile,
      -- received after its own time. The bound keeps the months ahead out of the scan.
      select
        ((select early_waiting from unlinked_followers) and exists (
          select 1 from new_events a join events f on f.card_id = a.card_id and f.mid = a.mid
          where a.type = 'authorization' and a.card_id is not null
            and f.authorization_id is null and f.type <> 'authorization' and f.original_external_id is null
            and f.received_at >= ${receivedAt}::text::timestamptz - ${LINK_WINDOW_DAYS + 1}::int * interval '1 day'
            and f.received_at < ${receivedAt}::text::timestamptz + interval '1 day'
        ))
        or ((select named_waiting from unlinked_followers) and exists (
          select 1 from new_events a join events f
            on f.processor_id = a.processor_id and f.original_external_id = a.external_id
          where a.type in ('authorization', 'clearing') and a.card_id is not null
            and f.authorization_id is null and f.type <> 'authorization' and f.original_external_id is not null
            and f.received_at >= ${receivedAt}::text::timestamptz - ${LINK_WINDOW_DAYS + 1}::int * interval '1 day'
            and f.received_at < ${receivedAt}::text::timestamptz + interval '1 day'
        )) as waiting
    ), inserted_events as (
      insert into events (id, received_at, local_at, utc_offset_minutes, card_id, user_id, card_scheme,
        merchant_id, cleared_amount, refunded_amount, reversed_amount, ${conn.unsafe(INSERT_SENT_COLUMNS)})
      select new_event.id, ${receivedAt}::text::timestamptz,
        (new_event.occurred_at at time zone 'UTC') + make_interval(mins => new_event.utc_offset_minutes),
        new_event.utc_offset_minutes, new_event.card_id, new_event.user_id, new_event.card_scheme,
        new_event.merchant_id, 0, 0, 0, ${conn.unsafe(SELECT_SENT_COLUMNS)}
      from new_events new_event
      where new_event.card_id is not null
      returning id, local_at
    ), unenrolled_counts as (
      insert into unenrolled_event_counts (processor_id, day, count)
      select processor_id, (${receivedAt}::text::timestamptz at time zone 'UTC')::date, count(*)
      from claimed_keys where not stored
      group by processor_id order by processor_id
      on conflict (processor_id, day) do update set count = unenrolled_event_counts.count + excluded.count
    )
    select resolved.idx, (claimed_keys.external_id is not null) as is_new, resolved.card_id, resolved.user_id,
      resolved.card_scheme, resolved.merchant_id, resolved.utc_offset_minutes,
      inserted_events.local_at::text as local_at, (select waiting from followers_waiting) as followers_waiting,
      (select seq from counters)::text as trigger_seq, (select grant_seq from counters)::text as grant_seq
    -- From resolved, not batch: batch then has a single reader and is not materialized (no copy of the input).
    from resolved
    left join claimed_keys using (processor_id, external_id)
    left join inserted_events on inserted_events.id = resolved.id`;
}

/** What the batch write did: per event its outcome (duplicates still to resolve), and the new rows. */
export interface BatchWriteResult {
  receivedAt: string;
  outcomes: StoreOutcome[];
  /** The rows of events stored now (new, on an enrolled card): see `storedEventsOf`. */
  storedRows: BatchWriteRow[];
  /** Indexes of events whose key existed already: their original ids are read by `resolveDuplicates`. */
  resent: number[];
  /** Whether an earlier follower may wait for one of the new events. */
  followersWaiting: boolean;
  /** The trigger and grant change counters, read in the write's own snapshot. */
  seqs: ChangeSeqs;
  /**
   * True when a trigger changed beyond `triggersSeenUpTo`: then nothing was written, and the caller brings its
   * index up to `seqs.triggers` and asks again.
   */
  stale: boolean;
}

/** The trigger and grant change counters as a batch write saw them: what the rules must have caught up to. */
export interface ChangeSeqs {
  triggers: number;
  grants: number;
}

/**
 * Writes `events` (with their new `ids`) in one statement: on the pool it commits as it runs, in a
 * transaction it commits with it. The outcomes of resent events are filled in by `resolveDuplicates`.
 * `triggersSeenUpTo` guards a write that skips the rules: it writes nothing if a trigger changed after the
 * index that judged the batch unmatched was read (a change committed before the batch must apply to it).
 */
export async function writeEventBatch(
  conn: Conn,
  events: PendingEvent[],
  ids: string[],
  receivedAt: string,
  useMerchantZone: boolean,
  triggersSeenUpTo = Number.MAX_SAFE_INTEGER,
): Promise<BatchWriteResult> {
  const rows = JSON.stringify(events.map((event, idx) => eventRow(event, idx, ids[idx]!)));
  const answer = await runBatchWrite(conn, rows, receivedAt, useMerchantZone, triggersSeenUpTo);
  const seqs = { triggers: Number(answer[0]!.trigger_seq), grants: Number(answer[0]!.grant_seq) };
  if (seqs.triggers > triggersSeenUpTo)
    return {
      receivedAt,
      outcomes: [],
      storedRows: [],
      resent: [],
      followersWaiting: false,
      seqs,
      stale: true,
    };
  const outcomes: StoreOutcome[] = new Array(ids.length);
  const storedRows: BatchWriteRow[] = [];
  const resent: number[] = [];
  for (const row of answer) {
    if (!row.is_new) {
      resent.push(row.idx);
      continue;
    }
    const enrolled = row.local_at !== null; // the event row exists
    outcomes[row.idx] = { eventId: ids[row.idx]!, status: 'accepted', enrolled, actions: 0 };
    if (enrolled) storedRows.push(row);
  }
  return {
    receivedAt,
    outcomes,
    storedRows,
    resent,
    followersWaiting: answer[0]?.followers_waiting === true,
    seqs,
    stale: false,
  };
}

/** `toISOString()`'s own form: such a timestamp is already canonical (no Date round trip per event). */
const CANONICAL_UTC = /^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z$/;

// Written out field by field (the compiler holds it to `StoredEvent`): a spread of the pending event cost
// far more per event (bench/README.md).
function storedEventOf(event: PendingEvent, id: string, receivedAt: string, row: BatchWriteRow): StoredEvent {
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
    mid: event.mid,
    merchantName: event.merchantName,
    mcc: event.mcc,
    merchantCity: event.merchantCity,
    merchantRegion: event.merchantRegion,
    merchantPostalCode: event.merchantPostalCode,
    merchantCountry: event.merchantCountry,
    terminalId: event.terminalId,
    authCode: event.authCode,
    rrn: event.rrn,
    entryMode: event.entryMode,
    originalExternalId: event.originalExternalId,
    authorizationId: null,
  };
}

/** The canonical events a batch write stored, for linking and the rules seam (built only when needed). */
export function storedEventsOf(
  events: PendingEvent[],
  ids: string[],
  result: BatchWriteResult,
): StoredEvent[] {
  return result.storedRows.map((row) =>
    storedEventOf(events[row.idx]!, ids[row.idx]!, result.receivedAt, row),
  );
}

/**
 * Fills in the outcomes of resent events with their original event ids. The keys are committed by now:
 * the write's insert waited for any concurrent transaction holding one, and this query sees what it did.
 */
export async function resolveDuplicates(
  conn: Conn,
  events: PendingEvent[],
  { resent, outcomes }: BatchWriteResult,
): Promise<void> {
  if (resent.length === 0) return;
  const keys = resent.map((idx) => ({
    processor_id: events[idx]!.processorId,
    external_id: events[idx]!.externalId,
  }));
  const existing = await conn<
    { processor_id: string; external_id: string; event_id: string; stored: boolean }[]
  >`
    select k.processor_id, k.external_id, k.event_id, k.stored
    from json_to_recordset(${JSON.stringify(keys)}::text::json) as resent(processor_id text, external_id text)
    join event_keys k using (processor_id, external_id)`;
  const byKey = new Map(existing.map((row) => [eventKey(row.processor_id, row.external_id), row]));
  for (const idx of resent) {
    const original = byKey.get(eventKey(events[idx]!.processorId, events[idx]!.externalId));
    if (!original) throw new Error('an event key vanished while storing');
    outcomes[idx] = {
      eventId: original.event_id,
      status: 'duplicate',
      enrolled: original.stored,
      actions: 0,
    };
  }
}
