// What the deliveries worker reads and writes in Postgres. Loads and attempt records of concurrent jobs are
// grouped into shared statements (one round trip and one commit for many): per job they were most of a
// delivery's cost.
import type { Sql } from '../db/client.ts';
import type { DeliveryStatus, WebhookStatus } from '../db/schema/index.ts';
import { createBatcher } from '../lib/batcher.ts';

export interface LoadedDelivery {
  id: string;
  app_id: string;
  type: string;
  status: DeliveryStatus;
  attempts: number;
  /** The payload as the exact text to POST. */
  body: string;
  /** Epoch milliseconds (timestamps are read as numbers here: the pool's driver leaves them as text). */
  accepted_ms: number;
  app_status: string;
  webhook_url: string;
  webhook_secret_sealed: string;
  webhook_status: WebhookStatus;
  failing_since_ms: number | null;
  /** False when the delivery is about a user who no longer grants the app (grant.revoked itself aside). */
  granted: boolean;
}

export interface AttemptRecord {
  deliveryId: string;
  attempt: number;
  startedAt: Date;
  statusCode: number | null;
  latencyMs: number;
  error: string | null;
  responseExcerpt: string | null;
  /** Where the attempt leaves the delivery. */
  status: 'succeeded' | 'pending' | 'failed';
  nextAttemptAt: Date | null;
  /** The app whose failing endpoint this success ends: its failing state is cleared with the record. */
  endsFailingOf: string | null;
}

/** A change of an endpoint's state an attempt brings (most bring none). */
export type EndpointChange =
  | { appId: string; kind: 'failing'; since: Date }
  | { appId: string; kind: 'disabled'; reason: string; since: Date };

export interface DeliveryStore {
  load(id: string): Promise<LoadedDelivery | undefined>;
  /** Records the attempt and moves the (still pending) delivery on. */
  record(attempt: AttemptRecord): Promise<void>;
  /** Ends a pending delivery without an attempt. */
  close(id: string, status: 'cancelled' | 'failed'): Promise<void>;
  changeEndpoint(change: EndpointChange): Promise<void>;
}

/** A timestamp parameter: the pool's driver (drizzle's postgres.js set-up) takes them as text. */
const at = (date: Date | null) => date?.toISOString() ?? null;

export function createDeliveryStore(sql: Sql, options = { maxInFlight: 2, maxItems: 500 }): DeliveryStore {
  const loads = createBatcher<string, LoadedDelivery | undefined>(async (ids) => {
    const rows = await sql<LoadedDelivery[]>`
      select d.id, d.app_id, d.type, d.status, d.attempts, d.payload::text as body,
        extract(epoch from coalesce(d.event_accepted_at, d.created_at))::float8 * 1000 as accepted_ms,
        a.status as app_status, a.webhook_url, a.webhook_secret_sealed, a.webhook_status,
        extract(epoch from a.webhook_failing_since)::float8 * 1000 as failing_since_ms,
        -- The revocation itself, and a payout the app made, still reach the app.
        (d.user_id is null or d.type in ('grant.revoked', 'payout.created') or exists (
          select 1 from grants g where g.user_id = d.user_id and g.app_id = d.app_id and g.revoked_at is null
        )) as granted
      from deliveries d join apps a on a.id = d.app_id
      where d.id = any(${ids}::text[])`;
    const byId = new Map(rows.map((row) => [row.id, row]));
    return ids.map((id) => byId.get(id));
  }, options);

  const records = createBatcher<AttemptRecord, void>(async (attempts) => {
    const input = attempts.map((a) => ({
      id: a.deliveryId,
      attempt: a.attempt,
      started_at: at(a.startedAt),
      status_code: a.statusCode,
      latency_ms: a.latencyMs,
      error: a.error,
      excerpt: a.responseExcerpt,
      status: a.status,
      next_attempt_at: at(a.nextAttemptAt),
      ends_failing_of: a.endsFailingOf,
    }));
    // A delivery no longer pending (cancelled meanwhile) keeps its status; the attempt happened all the same.
    // Committed without waiting for the WAL flush (`relaxed`): that wait, not the work, bounded the records per
    // second (3,500 with, 6,000 to 14,000 without, here). What a Postgres crash could lose is the last fraction of
    // a second of records: those deliveries are pending again and sent again, with the same webhook-id, as
    // at-least-once delivery allows. A success that ends an endpoint's run of failures clears it in the same
    // statement: never a settled delivery beside the old state, never the state lost while the record is kept
    // (a later failure would be judged against the old run and could disable a working endpoint). The app rows
    // are locked in id order, as concurrent record statements may clear the same ones.
    await sql`
      with input as (
        select * from json_to_recordset(${JSON.stringify(input)}::text::json) as r(id text, attempt int,
          started_at timestamptz, status_code int, latency_ms int, error text, excerpt text, status text,
          next_attempt_at timestamptz, ends_failing_of text)
      ), relaxed as (
        select set_config('synchronous_commit', 'off', true)
      ), recorded as (
        insert into delivery_attempts
          (delivery_id, attempt, started_at, status_code, latency_ms, error, response_excerpt)
        select id, attempt, started_at, status_code, latency_ms, error, excerpt from input
      ), answering as (
        update apps a set webhook_failing_since = null
        from (
          select id from apps
          where id in (select ends_failing_of from input) and webhook_failing_since is not null
          order by id
          for update
        ) ended
        where a.id = ended.id
      )
      update deliveries d set status = i.status, attempts = d.attempts + 1, last_attempt_at = i.started_at,
        next_attempt_at = i.next_attempt_at,
        completed_at = case when i.status = 'pending' then null else statement_timestamp() end,
        updated_at = statement_timestamp()
      from input i, relaxed
      where d.id = i.id and d.status = 'pending'`;
    return attempts.map(() => undefined);
  }, options);

  return {
    load: (id) => loads.submit(id),
    record: (attempt) => records.submit(attempt),
    async close(id, status) {
      await sql`
        update deliveries set status = ${status}, completed_at = statement_timestamp(), next_attempt_at = null,
          updated_at = statement_timestamp()
        where id = ${id} and status = 'pending'`;
    },
    async changeEndpoint(change) {
      switch (change.kind) {
        case 'failing':
          await sql`update apps set webhook_failing_since = ${at(change.since)}
            where id = ${change.appId} and webhook_failing_since is null`;
          return;
        case 'disabled':
          await sql`update apps set webhook_status = 'disabled', webhook_disabled_reason = ${change.reason},
              webhook_disabled_at = statement_timestamp(),
              webhook_failing_since = coalesce(webhook_failing_since, ${at(change.since)}),
              updated_at = statement_timestamp()
            where id = ${change.appId}`;
      }
    },
  };
}
