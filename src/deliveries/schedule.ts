// When a webhook is tried again, and when it is given up: a pure reading of one attempt's answer.
import type { BackoffStrategy, JobsOptions } from 'bullmq';

/** The BullMQ backoff type of delivery jobs; the deliveries worker's `settings.backoffStrategy` serves it. */
export const DELIVERY_BACKOFF = 'delivery-schedule';

/** A `Retry-After` longer than this is read as this: an app cannot park a delivery for weeks. */
export const RETRY_AFTER_MAX_MS = 24 * 60 * 60 * 1000;

const JITTER = 0.2;

/**
 * What every delivery job carries: one attempt, then one per step of the schedule. The delay of each retry is
 * the worker's to say (`DeliveryRetry`), so BullMQ and `deliveries.next_attempt_at` agree.
 */
export function deliveryJobOptions(retryScheduleMs: readonly number[]): JobsOptions {
  return { attempts: retryScheduleMs.length + 1, backoff: { type: DELIVERY_BACKOFF } };
}

/** A step of the schedule, ±20%. */
export function jittered(ms: number, random: () => number = Math.random): number {
  return Math.round(ms * (1 - JITTER + 2 * JITTER * random()));
}

/** `Retry-After` (seconds or an HTTP date) in milliseconds from `now`, bounded; undefined when unreadable. */
export function retryAfterMs(value: string | undefined, now: number): number | undefined {
  if (!value) return undefined;
  const text = value.trim();
  const ms = /^\d+$/.test(text) ? Number(text) * 1000 : Date.parse(text) - now;
  if (!Number.isFinite(ms)) return undefined;
  return Math.min(Math.max(ms, 0), RETRY_AFTER_MAX_MS);
}

/** Thrown by the processor for an attempt to be retried after `delayMs` (already written to the delivery). */
export class DeliveryRetry extends Error {
  override readonly name = 'DeliveryRetry';
  constructor(
    message: string,
    readonly delayMs: number,
  ) {
    super(message);
  }
}

/**
 * The worker's backoff: the delay the processor decided, or, for any other error (Postgres away while
 * recording…), the schedule's step for this attempt.
 */
export function deliveryBackoff(retryScheduleMs: readonly number[]): BackoffStrategy {
  return (attemptsMade, _type, error) => {
    if (error instanceof DeliveryRetry) return error.delayMs;
    const step = retryScheduleMs[Math.min(attemptsMade, retryScheduleMs.length) - 1] ?? 0;
    return jittered(step);
  };
}

export interface AttemptAnswer {
  /** Null when no answer came (timeout, refused connection or address). */
  statusCode: number | null;
  retryAfter?: string | undefined;
}

export interface AttemptContext {
  /** 0 for the first attempt of this run of the schedule. */
  attemptIndex: number;
  retryScheduleMs: readonly number[];
  /** When the endpoint's current run of failures began, before this attempt (null: it was answering). */
  failingSince: Date | null;
  disableAfterMs: number;
  now: Date;
  random?: () => number;
}

export type AttemptVerdict =
  | { status: 'succeeded' }
  | { status: 'pending'; delayMs: number }
  /** Given up; `disable` says why the endpoint is disabled with it, if it is. */
  | { status: 'failed'; disable?: string };

const isSuccess = (code: number | null) => code !== null && code >= 200 && code < 300;

/** What an attempt's answer means for the delivery and its endpoint. */
export function judgeAttempt(answer: AttemptAnswer, context: AttemptContext): AttemptVerdict {
  const { statusCode } = answer;
  if (isSuccess(statusCode)) return { status: 'succeeded' };
  if (statusCode === 410) return { status: 'failed', disable: 'The endpoint answered 410 Gone.' };
  const { failingSince, now, disableAfterMs } = context;
  if (failingSince && now.getTime() - failingSince.getTime() >= disableAfterMs) {
    const days = Math.round(disableAfterMs / 86_400_000);
    return {
      status: 'failed',
      disable: `Every attempt failed since ${failingSince.toISOString()} (more than ${days} days).`,
    };
  }
  const step = context.retryScheduleMs[context.attemptIndex];
  if (step === undefined) return { status: 'failed' };
  let delayMs = jittered(step, context.random);
  if (statusCode === 429 || statusCode === 503) {
    delayMs = Math.max(delayMs, retryAfterMs(answer.retryAfter, now.getTime()) ?? 0);
  }
  return { status: 'pending', delayMs };
}
