// One attempt at one webhook: re-check that it may still go, sign it, send it, record what the app answered.
import type { KeyObject } from 'node:crypto';
import { signatureWith, webhookSigningKey } from '../ingest/signature.ts';
import type { SecretBox } from '../lib/secrets.ts';
import type { Logger } from '../logger.ts';
import type { EndpointSlots, Lease } from './endpoint-slots.ts';
import { deliveryAttempts, deliveryFailures, deliveryLatency } from './metrics.ts';
import { type AttemptVerdict, judgeAttempt } from './schedule.ts';
import type { SendResult, WebhookSender } from './send.ts';
import type { DeliveryStore, EndpointChange, LoadedDelivery } from './store.ts';

export interface DeliverDeps {
  store: DeliveryStore;
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
 * What the verdict changes of the endpoint's state, given its state before the attempt: failing or disabled. A
 * success that ends a run of failures is written with the attempt's record (`endsFailingOf`).
 */
function endpointChange(
  delivery: LoadedDelivery,
  verdict: AttemptVerdict,
  startedAt: Date,
): EndpointChange | undefined {
  const appId = delivery.app_id;
  const failing = delivery.failing_since_ms !== null;
  if (verdict.status === 'failed' && verdict.disable)
    return { appId, kind: 'disabled', reason: verdict.disable, since: startedAt };
  if (verdict.status === 'succeeded' || failing) return undefined;
  return { appId, kind: 'failing', since: startedAt };
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
  let lease: Lease | null = null;
  try {
    if (input.appId) {
      lease = await deps.slots.acquire(input.appId, input.holder);
      if (!lease) return { outcome: 'no_slot', appId: input.appId };
    }
    const delivery = await deps.store.load(input.deliveryId);
    if (delivery?.status !== 'pending') return { outcome: 'skipped' };
    const refused = refusal(delivery);
    if (refused) {
      await deps.store.close(delivery.id, refused.status);
      return refused.status === 'cancelled'
        ? { outcome: 'cancelled', reason: refused.reason }
        : { outcome: 'failed', reason: refused.reason };
    }
    if (lease?.appId !== delivery.app_id) {
      if (lease) deps.slots.release(lease);
      lease = await deps.slots.acquire(delivery.app_id, input.holder);
      if (!lease) return { outcome: 'no_slot', appId: delivery.app_id };
    }

    const startedAt = new Date();
    const headers = signedHeaders(deps.signingKey(delivery.webhook_secret_sealed), delivery);
    const sent = await deps.sender.post(delivery.webhook_url, headers, delivery.body);
    // The endpoint is free for the next attempt as soon as it has answered.
    deps.slots.release(lease);
    lease = null;
    const now = new Date();
    const verdict = judgeAttempt(sent, {
      attemptIndex: input.attemptIndex,
      retryScheduleMs: deps.retryScheduleMs,
      failingSince: delivery.failing_since_ms === null ? null : new Date(delivery.failing_since_ms),
      disableAfterMs: deps.disableAfterMs,
      now,
    });
    const change = endpointChange(delivery, verdict, startedAt);
    // The endpoint's new state is written before the attempt's record, so whoever sees the delivery settled
    // also sees the endpoint failing or disabled. A change is rare (a transition), so this costs little. Should
    // that write fail, the attempt is recorded all the same (else the job's retry would send it again): a lost
    // `failing` starts the run's clock one attempt later, a lost `disabled` is found again by the next attempt.
    if (change) {
      await deps.store.changeEndpoint(change).catch((error: unknown) => {
        deps.logger.error(
          {
            app_id: delivery.app_id,
            err: { message: error instanceof Error ? error.message : String(error) },
          },
          'webhook endpoint state not saved',
        );
      });
    }
    await deps.store.record({
      deliveryId: delivery.id,
      attempt: delivery.attempts + 1,
      startedAt,
      statusCode: sent.statusCode,
      latencyMs: sent.latencyMs,
      error: sent.error,
      responseExcerpt: sent.responseExcerpt,
      status: verdict.status,
      nextAttemptAt: verdict.status === 'pending' ? new Date(now.getTime() + verdict.delayMs) : null,
      endsFailingOf:
        verdict.status === 'succeeded' && delivery.failing_since_ms !== null ? delivery.app_id : null,
    });
    return observe(deps.logger, delivery, sent, verdict, now);
  } finally {
    if (lease) deps.slots.release(lease);
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
