import { sql } from 'drizzle-orm';
import type { Db, Executor, Tx } from '../db/client.ts';
import type { EntryMode, EventType } from '../db/partitioned/events.ts';
import { pgErrorCode } from '../errors.ts';
import { newId } from '../lib/ids.ts';
import { evaluateAndReserve } from './actions-hook.ts';
import { localTimeOf } from './local-time.ts';

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

/** A canonical event as stored (and as handed to the rules engine). Timestamps are ISO strings. */
export interface StoredEvent {
  id: string;
  receivedAt: string;
  processorId: string;
  externalId: string;
  type: EventType;
  occurredAt: string;
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

// Bulk rows travel as one jsonb parameter (jsonb_to_recordset): any batch size fits in one statement, far
// from Postgres' 65,535 bind-parameter limit, and the statement text is the same for every batch.
const json = (rows: unknown[]) => sql`${JSON.stringify(rows)}::jsonb`;

const keyOf = (processorId: string, externalId: string) => `${processorId}\u0000${externalId}`;

type CardMatch = {
  card_id: string;
  user_id: string;
  scheme: string;
};

async function resolveCards(tx: Executor, events: PendingEvent[]): Promise<Map<string, CardMatch>> {
  const refs = new Map<string, { k: string; fp: string | null; pid: string | null; tok: string | null }>();
  for (const event of events) {
    const ref = refOf(event);
    if (!refs.has(ref)) {
      refs.set(
        ref,
        event.card.fingerprint !== undefined
          ? { k: ref, fp: event.card.fingerprint, pid: null, tok: null }
          : { k: ref, fp: null, pid: event.processorId, tok: event.card.token },
      );
    }
  }
  const rows = await tx.execute<{ k: string } & CardMatch>(sql`
    with refs as (select * from jsonb_to_recordset(${json([...refs.values()])}) as r(k text, fp text, pid text, tok text))
    select r.k, c.id as card_id, c.user_id, c.scheme
    from refs r
    left join card_tokens t on r.fp is null and t.processor_id = r.pid and t.token = r.tok
    join cards c on c.fingerprint = coalesce(r.fp, t.fingerprint) and c.deleted_at is null`);
  return new Map(rows.map((row) => [row.k, row]));
}

function refOf(event: PendingEvent): string {
  return event.card.fingerprint !== undefined
    ? `f:${event.card.fingerprint}`
    : `t:${event.processorId} ${event.card.token}`;
}

type MerchantMatch = {
  mid: string;
  merchant_id: string;
  timezone: string | null;
};

async function resolveMerchants(tx: Executor, mids: string[]): Promise<Map<string, MerchantMatch>> {
  const rows = await tx.execute<MerchantMatch>(sql`
    select mm.mid, m.id as merchant_id, m.timezone
    from merchant_mids mm join merchants m on m.id = mm.merchant_id
    where mm.mid in (select jsonb_array_elements_text(${json(mids)}))`);
  return new Map(rows.map((row) => [row.mid, row]));
}

const EVENT_COLUMNS: [string, string][] = [
  ['id', 'text'],
  ['received_at', 'timestamptz'],
  ['processor_id', 'text'],
  ['external_id', 'text'],
  ['type', 'text'],
  ['occurred_at', 'timestamptz'],
  ['local_at', 'timestamp'],
  ['utc_offset_minutes', 'smallint'],
  ['card_id', 'text'],
  ['user_id', 'text'],
  ['card_scheme', 'text'],
  ['amount', 'bigint'],
  ['currency', 'text'],
  ['merchant_id', 'text'],
  ['mid', 'text'],
  ['merchant_name', 'text'],
  ['mcc', 'text'],
  ['merchant_city', 'text'],
  ['merchant_region', 'text'],
  ['merchant_postal_code', 'text'],
  ['merchant_country', 'text'],
  ['terminal_id', 'text'],
  ['auth_code', 'text'],
  ['rrn', 'text'],
  ['entry_mode', 'text'],
  ['original_external_id', 'text'],
];
const EVENT_COLUMN_LIST = sql.raw(EVENT_COLUMNS.map(([name]) => name).join(', '));
const EVENT_RECORD_TYPE = sql.raw(EVENT_COLUMNS.map(([name, type]) => `${name} ${type}`).join(', '));

function eventRecord(event: StoredEvent): Record<string, unknown> {
  return {
    id: event.id,
    received_at: event.receivedAt,
    processor_id: event.processorId,
    external_id: event.externalId,
    type: event.type,
    occurred_at: event.occurredAt,
    local_at: event.localAt,
    utc_offset_minutes: event.utcOffsetMinutes,
    card_id: event.cardId,
    user_id: event.userId,
    card_scheme: event.cardScheme,
    amount: event.amount,
    currency: event.currency,
    merchant_id: event.merchantId,
    mid: event.mid,
    merchant_name: event.merchantName,
    mcc: event.mcc,
    merchant_city: event.merchantCity,
    merchant_region: event.merchantRegion,
    merchant_postal_code: event.merchantPostalCode,
    merchant_country: event.merchantCountry,
    terminal_id: event.terminalId,
    auth_code: event.authCode,
    rrn: event.rrn,
    entry_mode: event.entryMode,
    original_external_id: event.originalExternalId,
  };
}

type Link = {
  id: string;
  received_at: string;
  auth_id: string;
  auth_received_at: string;
};

// Marks followers as linked and adds their amounts to their authorization's running totals, in one
// statement. Increments (not recomputed sums) keep totals right when concurrent transactions link to the
// same authorization: the row lock serialises them and each adds its own part.
function applyLinks(tx: Executor, links: Link[]): Promise<unknown> {
  return tx.execute(sql`
    with links as (
      select * from jsonb_to_recordset(${json(links)})
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
    )
    update events a set
      cleared_amount = a.cleared_amount + t.cleared,
      refunded_amount = a.refunded_amount + t.refunded,
      reversed_amount = a.reversed_amount + t.reversed
    from totals t
    where a.id = t.authorization_id and a.received_at = t.authorization_received_at
      and a.type = 'authorization'`);
}

const WINDOW = sql.raw(`interval '${LINK_WINDOW_DAYS} days'`);

/** Links new clearings, refunds and reversals to their authorization: by `original_id`, else by card,
 * MID, auth code (or amount when there is none) within the window, preferring an equal amount. */
export async function linkFollowers(
  tx: Executor,
  followers: Pick<
    StoredEvent,
    | 'id'
    | 'receivedAt'
    | 'processorId'
    | 'originalExternalId'
    | 'cardId'
    | 'mid'
    | 'authCode'
    | 'amount'
    | 'occurredAt'
  >[],
): Promise<Map<string, string>> {
  if (followers.length === 0) return new Map();
  const rows = await tx.execute<Link>(sql`
    with f as (
      select * from jsonb_to_recordset(${json(
        followers.map((event) => ({
          id: event.id,
          received_at: event.receivedAt,
          processor_id: event.processorId,
          original_id: event.originalExternalId,
          card_id: event.cardId,
          mid: event.mid,
          auth_code: event.authCode,
          amount: event.amount,
          occurred_at: event.occurredAt,
        })),
      )}) as f(id text, received_at timestamptz, processor_id text, original_id text, card_id text, mid text,
               auth_code text, amount bigint, occurred_at timestamptz)
    )
    select f.id, f.received_at, a.id as auth_id, a.received_at as auth_received_at
    from f
    join event_keys k on k.processor_id = f.processor_id and k.external_id = f.original_id and k.stored
    join events a on a.id = k.event_id and a.received_at = k.received_at and a.type = 'authorization'
    where f.original_id is not null
    union all
    select f.id, f.received_at, a.id, a.received_at
    from f
    cross join lateral (
      select a.id, a.received_at from events a
      where a.card_id = f.card_id and a.type = 'authorization' and a.mid = f.mid
        and a.occurred_at between f.occurred_at - ${WINDOW} and f.occurred_at + interval '1 day'
        and (case when f.auth_code is not null then a.auth_code = f.auth_code else a.amount = f.amount end)
      order by (a.amount = f.amount) desc, a.occurred_at desc
      limit 1
    ) a
    where f.original_id is null`);
  if (rows.length > 0) await applyLinks(tx, [...rows]);
  return new Map(rows.map((row) => [row.id, row.auth_id]));
}

/**
 * Followers stored before their authorization (orphans) are adopted when it arrives: by `original_id`, or
 * (for followers without one) by card, MID and auth code or amount within the window.
 */
async function adoptOrphans(tx: Executor, authorizations: StoredEvent[]): Promise<void> {
  if (authorizations.length === 0) return;
  const rows = await tx.execute<Link>(sql`
    with a as (
      select * from jsonb_to_recordset(${json(
        authorizations.map((event) => ({
          id: event.id,
          received_at: event.receivedAt,
          processor_id: event.processorId,
          external_id: event.externalId,
          card_id: event.cardId,
          mid: event.mid,
          auth_code: event.authCode,
          amount: event.amount,
          occurred_at: event.occurredAt,
        })),
      )}) as a(id text, received_at timestamptz, processor_id text, external_id text, card_id text, mid text,
               auth_code text, amount bigint, occurred_at timestamptz)
    ), candidates as (
      select f.id, f.received_at, a.id as auth_id, a.received_at as auth_received_at, true as exact
      from a join events f
        on f.processor_id = a.processor_id and f.original_external_id = a.external_id
      where f.authorization_id is null and f.type <> 'authorization' and f.original_external_id is not null
      union all
      select f.id, f.received_at, a.id, a.received_at, f.amount = a.amount
      from a join events f on f.card_id = a.card_id and f.mid = a.mid
      where f.authorization_id is null and f.type <> 'authorization' and f.original_external_id is null
        and f.occurred_at between a.occurred_at - interval '1 day' and a.occurred_at + ${WINDOW}
        and (case when f.auth_code is not null then f.auth_code = a.auth_code else f.amount = a.amount end)
    )
    select distinct on (id) id, received_at, auth_id, auth_received_at
    from candidates order by id, exact desc, auth_id desc`);
  if (rows.length > 0) await applyLinks(tx, [...rows]);
}

async function storeInTransaction(tx: Tx, events: PendingEvent[], receivedAt: string) {
  const cards = await resolveCards(tx, events);
  const merchants = await resolveMerchants(tx, [...new Set(events.map((event) => event.merchant.mid))]);

  const keyRows = events.map((event) => ({
    processor_id: event.processorId,
    external_id: event.externalId,
    event_id: newId('evt'),
    received_at: receivedAt,
    stored: cards.has(refOf(event)),
  }));
  // Sorted so that concurrent transactions take the key locks in one order (no deadlock between them).
  const inserted = await tx.execute<{ processor_id: string; external_id: string }>(sql`
    insert into event_keys (processor_id, external_id, event_id, received_at, stored)
    select processor_id, external_id, event_id, received_at, stored
    from jsonb_to_recordset(${json(keyRows)})
      as k(processor_id text, external_id text, event_id text, received_at timestamptz, stored boolean)
    order by processor_id, external_id
    on conflict do nothing
    returning processor_id, external_id`);
  const isNew = new Set(inserted.map((row) => keyOf(row.processor_id, row.external_id)));

  const existing = new Map<string, { event_id: string; stored: boolean }>();
  const resent = keyRows.filter((row) => !isNew.has(keyOf(row.processor_id, row.external_id)));
  if (resent.length > 0) {
    const rows = await tx.execute<{
      processor_id: string;
      external_id: string;
      event_id: string;
      stored: boolean;
    }>(sql`
      select k.processor_id, k.external_id, k.event_id, k.stored
      from jsonb_to_recordset(${json(resent.map(({ processor_id, external_id }) => ({ processor_id, external_id })))})
        as r(processor_id text, external_id text)
      join event_keys k using (processor_id, external_id)`);
    for (const row of rows) existing.set(keyOf(row.processor_id, row.external_id), row);
  }

  const outcomes: StoreOutcome[] = [];
  const stored: StoredEvent[] = [];
  const unenrolledByProcessor = new Map<string, number>();
  events.forEach((event, index) => {
    const keyRow = keyRows[index]!;
    const key = keyOf(event.processorId, event.externalId);
    if (!isNew.has(key)) {
      const original = existing.get(key);
      if (!original) throw new Error('event key vanished while storing');
      outcomes.push({
        eventId: original.event_id,
        status: 'duplicate',
        enrolled: original.stored,
        actions: 0,
      });
      return;
    }
    const card = cards.get(refOf(event));
    outcomes.push({ eventId: keyRow.event_id, status: 'accepted', enrolled: card !== undefined, actions: 0 });
    if (!card) {
      unenrolledByProcessor.set(event.processorId, (unenrolledByProcessor.get(event.processorId) ?? 0) + 1);
      return;
    }
    const merchant = merchants.get(event.merchant.mid);
    const local = localTimeOf(event.occurredAt, merchant?.timezone);
    stored.push({
      id: keyRow.event_id,
      receivedAt,
      processorId: event.processorId,
      externalId: event.externalId,
      type: event.type,
      occurredAt: new Date(event.occurredAt).toISOString(),
      localAt: local.localAt,
      utcOffsetMinutes: local.utcOffsetMinutes,
      cardId: card.card_id,
      userId: card.user_id,
      cardScheme: card.scheme,
      amount: event.amount,
      currency: event.currency,
      merchantId: merchant?.merchant_id ?? null,
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
    });
  });

  if (stored.length > 0) {
    await tx.execute(sql`
      insert into events (${EVENT_COLUMN_LIST})
      select ${EVENT_COLUMN_LIST} from jsonb_to_recordset(${json(stored.map(eventRecord))}) as e(${EVENT_RECORD_TYPE})`);
    const links = await linkFollowers(
      tx,
      stored.filter((event) => event.type !== 'authorization'),
    );
    for (const event of stored) event.authorizationId = links.get(event.id) ?? null;
    await adoptOrphans(
      tx,
      stored.filter((event) => event.type === 'authorization'),
    );
  }
  if (unenrolledByProcessor.size > 0) {
    await tx.execute(sql`
      insert into unenrolled_event_counts (processor_id, day, count)
      select processor_id, (${receivedAt}::timestamptz at time zone 'UTC')::date, n
      from jsonb_to_recordset(${json([...unenrolledByProcessor].map(([processor_id, n]) => ({ processor_id, n })))})
        as u(processor_id text, n bigint)
      order by processor_id
      on conflict (processor_id, day) do update set count = unenrolled_event_counts.count + excluded.count`);
  }

  const actions = stored.length > 0 ? await evaluateAndReserve(tx, stored) : new Map<string, number>();
  for (const outcome of outcomes) {
    if (outcome.status === 'accepted') outcome.actions = actions.get(outcome.eventId) ?? 0;
  }
  return outcomes;
}

const RETRYABLE = new Set(['40P01', '40001']);

/**
 * Stores normalised events in ONE transaction and returns, per input event and in order, its event id and
 * whether it is new or a resend. The same (processor, id) twice in `events` is stored once: the second is a
 * duplicate of the first. Retries the transaction on deadlock or serialization failure.
 */
export async function storeEvents(db: Db, events: PendingEvent[]): Promise<StoreOutcome[]> {
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
  for (let attempt = 1; ; attempt++) {
    try {
      const receivedAt = new Date().toISOString();
      const outcomes = await db.transaction((tx) => storeInTransaction(tx, unique, receivedAt));
      return slot.map(({ index, repeat }) => {
        const outcome = outcomes[index]!;
        return repeat ? { ...outcome, status: 'duplicate', actions: 0 } : outcome;
      });
    } catch (error) {
      const code = pgErrorCode(error);
      if (attempt >= 3 || !code || !RETRYABLE.has(code)) throw error;
    }
  }
}
