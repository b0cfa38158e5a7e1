// One attempt at one webhook: re-check that it may still go, sign it, send it, record what the app answered.
import type { KeyObject } from 'node:crypto';
import type { Sql } from '../db/client.ts';
import type { DeliveryStatus, WebhookStatus } from '../db/schema/index.ts';
import { signatureWith, webhookSigningKey } from '../ingest/signature.ts';
import type { SecretBox } from '../lib/secrets.ts';
import type { Logger } from '../logger.ts';
import type { EndpointSlots } from './endpoint-slots.ts';
import { deliveryAttempts, deliveryFailures, deliveryLatency } from './metrics.ts';
import { type AttemptVerdict, judgeAttempt } from './schedule.ts';
import type { SendResult, WebhookSender } from './send.ts';

export interface DeliverDeps {
  sql: Sql;
  logger: Logger;
  sender: WebhookSender;
  slots: EndpointSlots;
  /** The HMAC key of an app's sealed webhook secret. */
  signingKey: (sealed: string) => KeyObject;
  retryScheduleMs: readonly number[];
  disableAfterMs: number;
}

export interface DeliverInput {
  deliveryId: string;
  /** 0 for the first attempt of this run of the retry schedule (BullMQ's attempts made). */
  attemptIndex: number;
  /** Unique to this attempt: it names the endpoint slot the attempt holds. */
  holder: string;
  /** The delivery's app when already known (a job that found no slot before): its slot is taken first. */
  appId?: string | undefined;
}

export type DeliverResult =
  /** Not pending (already sent, cancelled, failed) or gone: nothing done. */
  | { outcome: 'skipped' }
  | { outcome: 'cancelled'; reason: string }
  | { outcome: 'succeeded' }
  | { outcome: 'retry'; delayMs: number; reason: string }
  | { outcome: 'failed'; reason: string }
  /** Every slot of the app's endpoint is taken: try again shortly, nothing was sent. */
  | { outcome: 'no_slot'; appId: string };

interface LoadedDelivery {
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

const loadDelivery = async (sql: Sql, id: string): Promise<LoadedDelivery | undefined> => {
  const [row] = await sql<LoadedDelivery[]>`
    select d.id, d.app_id, d.type, d.status, d.attempts, d.payload::text as body,
      extract(epoch from coalesce(d.event_accepted_at, d.created_at))::float8 * 1000 as accepted_ms,
      a.status as app_status, a.webhook_url, a.webhook_secret_sealed, a.webhook_status,
      extract(epoch from a.webhook_failing_since)::float8 * 1000 as failing_since_ms,
      (d.user_id is null or d.type = 'grant.revoked' or exists (
        select 1 from grants g where g.user_id = d.user_id and g.app_id = d.app_id and g.revoked_at is null
      )) as granted
    from deliveries d join apps a on a.id = d.app_id
    where d.id = ${id}`;
  return row;
};

/** Ends a pending delivery without an attempt. */
const close = (sql: Sql, id: string, status: 'cancelled' | 'failed', now: Date) => sql`
  update deliveries set status = ${status}, completed_at = ${at(now)}, next_attempt_at = null, updated_at = ${at(now)}
  where id = ${id} and status = 'pending'`;

/** A timestamp parameter: the pool's driver (drizzle's postgres.js set-up) takes them as text. */
const at = (date: Date | null) => date?.toISOString() ?? null;

/** Why a pending delivery may not be sent any more, if it may not. */
function refusal(delivery: LoadedDelivery): { status: 'cancelled' | 'failed'; reason: string } | undefined {
  // A disabled app, or a user who revoked the grant, stops everything not yet sent, at once.
  if (delivery.app_status !== 'active') return { status: 'cancelled', reason: 'the app is disabled' };
  if (!delivery.granted) return { status: 'cancelled', reason: 'the user revoked the grant' };
  if (delivery.webhook_status === 'disabled') return { status: 'failed', reason: 'the endpoint is disabled' };
  return undefined;
}

/** The headers of one attempt per Standard Webhooks: the delivery id as `webhook-id`, stable across attempts. */
function signedHeaders(key: KeyObject, delivery: LoadedDelivery): Record<string, string> {
  const timestamp = Math.floor(Date.now() / 1000);
  return {
    'content-type': 'application/json',
    'user-agent': 'cardlink-webhooks/1',
    'webhook-id': delivery.id,
    'webhook-timestamp': String(timestamp),
    'webhook-signature': signatureWith(key, delivery.id, timestamp, delivery.body),
  };
}

/**
 * Records the attempt, moves the delivery on and keeps the endpoint's state, in one statement. The app's row
 * is written only when its state changes (a failure run starts or ends, or it is disabled), not per attempt.
 */
async function recordAttempt(
  sql: Sql,
  delivery: LoadedDelivery,
  sent: SendResult & { startedAt: Date },
  verdict: AttemptVerdict,
  now: Date,
) {
  const completedAt = verdict.status === 'pending' ? null : now;
  const nextAttemptAt = verdict.status === 'pending' ? new Date(now.getTime() + verdict.delayMs) : null;
  const disable = verdict.status === 'failed' ? verdict.disable : undefined;
  const failingSince = delivery.failing_since_ms;
  const endpoint = disable
    ? sql`update apps set webhook_status = 'disabled', webhook_disabled_reason = ${disable},
          webhook_disabled_at = ${at(now)},
          webhook_failing_since = coalesce(webhook_failing_since, ${at(sent.startedAt)}), updated_at = ${at(now)}
        where id = ${delivery.app_id}`
    : verdict.status === 'succeeded' && failingSince
      ? sql`update apps set webhook_failing_since = null where id = ${delivery.app_id}`
      : verdict.status !== 'succeeded' && !failingSince
        ? sql`update apps set webhook_failing_since = ${at(sent.startedAt)}
            where id = ${delivery.app_id} and webhook_failing_since is null`
        : sql`select 1`;
  await sql`
    with attempt as (
      insert into delivery_attempts
        (delivery_id, attempt, started_at, status_code, latency_ms, error, response_excerpt)
      values (${delivery.id}, ${delivery.attempts + 1}, ${at(sent.startedAt)}, ${sent.statusCode}, ${sent.latencyMs},
        ${sent.error}, ${sent.responseExcerpt})
    ), delivery as (
      update deliveries set status = ${verdict.status}, attempts = attempts + 1,
        last_attempt_at = ${at(sent.startedAt)}, next_attempt_at = ${at(nextAttemptAt)},
        completed_at = ${at(completedAt)}, updated_at = ${at(now)}
      where id = ${delivery.id} and status = 'pending'
    )
    ${endpoint}`;
}

const describeAnswer = (sent: SendResult) =>
  sent.statusCode === null ? (sent.error ?? 'no answer') : `answered ${sent.statusCode}`;

/**
 * Makes one attempt at a pending delivery within its endpoint's concurrency cap: cancels it if its app was
 * disabled or its user revoked the grant, fails it if the endpoint is disabled, else signs and POSTs it and
 * records the attempt (succeeded, retried later per the schedule, or failed for good; a 410 or a failure run
 * longer than the limit disables the endpoint).
 */
export async function deliver(deps: DeliverDeps, input: DeliverInput): Promise<DeliverResult> {
  let heldBy: string | undefined;
  const take = async (appId: string) => {
    if (!(await deps.slots.acquire(appId, input.holder))) return false;
    heldBy = appId;
    return true;
  };
  try {
    if (input.appId && !(await take(input.appId))) return { outcome: 'no_slot', appId: input.appId };
    const delivery = await loadDelivery(deps.sql, input.deliveryId);
    if (delivery?.status !== 'pending') return { outcome: 'skipped' };
    const refused = refusal(delivery);
    if (refused) {
      await close(deps.sql, delivery.id, refused.status, new Date());
      return refused.status === 'cancelled'
        ? { outcome: 'cancelled', reason: refused.reason }
        : { outcome: 'failed', reason: refused.reason };
    }
    if (heldBy !== delivery.app_id && !(await take(delivery.app_id)))
      return { outcome: 'no_slot', appId: delivery.app_id };

    const startedAt = new Date();
    const headers = signedHeaders(deps.signingKey(delivery.webhook_secret_sealed), delivery);
    const sent = { ...(await deps.sender.post(delivery.webhook_url, headers, delivery.body)), startedAt };
    const now = new Date();
    const verdict = judgeAttempt(sent, {
      attemptIndex: input.attemptIndex,
      retryScheduleMs: deps.retryScheduleMs,
      failingSince: delivery.failing_since_ms === null ? null : new Date(delivery.failing_since_ms),
      disableAfterMs: deps.disableAfterMs,
      now,
    });
    await recordAttempt(deps.sql, delivery, sent, verdict, now);
    return observe(deps.logger, delivery, sent, verdict, now);
  } finally {
    // A slot not given back expires with its lease; a failed release must not fail (and resend) the attempt.
    if (heldBy)
      deps.slots
        .release(heldBy, input.holder)
        .catch((error: unknown) =>
          deps.logger.warn({ err: { message: String(error) }, app_id: heldBy }, 'endpoint slot not released'),
        );
  }
}

function observe(
  logger: Logger,
  delivery: LoadedDelivery,
  sent: SendResult,
  verdict: AttemptVerdict,
  now: Date,
): DeliverResult {
  if (verdict.status === 'succeeded') {
    deliveryAttempts.inc({ outcome: 'succeeded' });
    deliveryLatency.observe((now.getTime() - delivery.accepted_ms) / 1000);
    return { outcome: 'succeeded' };
  }
  deliveryFailures.inc({ app_id: delivery.app_id });
  const reason = describeAnswer(sent);
  if (verdict.status === 'pending') {
    deliveryAttempts.inc({ outcome: 'retried' });
    return { outcome: 'retry', delayMs: verdict.delayMs, reason };
  }
  deliveryAttempts.inc({ outcome: 'failed' });
  if (verdict.disable) {
    // The operator's signal: the app's endpoint receives nothing until it is enabled again (PATCH /v1/apps/{id}).
    const line = { app_id: delivery.app_id, reason: verdict.disable, delivery_id: delivery.id };
    if (sent.statusCode === 410) logger.warn(line, 'webhook endpoint disabled');
    else logger.error(line, 'webhook endpoint disabled');
  }
  return { outcome: 'failed', reason };
}

/** The signing keys of apps' sealed secrets, made once per secret and process (an HMAC key is not free). */
export function signingKeyCache(secretBox: SecretBox, capacity = 10_000): (sealed: string) => KeyObject {
  const keys = new Map<string, KeyObject>();
  return (sealed) => {
    let key = keys.get(sealed);
    if (!key) {
      if (keys.size >= capacity) keys.clear();
      key = webhookSigningKey(secretBox.open(sealed));
      keys.set(sealed, key);
    }
    return key;
  };
}
