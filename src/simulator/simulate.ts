/**
 * `simulate(options, onProgress) → summary`: plans a processor feed from a seed, renders it, sends it to a
 * running platform and sums up what was sent and what the platform answered. The plan is a pure function of
 * (seed, cards, rate, duration, formats); the bytes sent add the start time and run name (event times and
 * ids), so a run given the same `startMs` and `run` sends exactly the same requests.
 */
import { createHash } from 'node:crypto';
import { type Plan, type PlanCounts, type PlanOptions, planTraffic } from './plan.ts';
import { defaultRun, renderPlan, type WireRequest } from './render.ts';
import { type SendProgress, type SentEvent, sendRequests } from './sender.ts';
import type { ProcessorCredentials } from './sign.ts';
import { type Distribution, distribution } from './stats.ts';

export interface SimulateOptions extends PlanOptions {
  /** The platform, e.g. http://localhost:3000. */
  baseUrl: string;
  processor: ProcessorCredentials;
  /** The simulated clock's start (epoch ms); default now. */
  startMs?: number;
  /** Names this run's events (default: from the start, so a later run's events are new ones). */
  run?: string;
  /** Requests in flight at most (default 32). */
  concurrency?: number;
  signal?: AbortSignal;
}

export interface SimulationSummary {
  seed: string;
  run: string;
  started_at: string;
  /** sha256 of the plan (identical for the same seed and options) and of the bytes sent (same start and run too). */
  digests: { plan: string; requests: string };
  plan: PlanCounts;
  sent: {
    requests: number;
    events: number;
    attempts: number;
    card_tokens_linked: number;
    card_token_failures: number;
    late_sends: number;
    http_errors: Record<string, number>;
    network_errors: number;
  };
  answers: {
    accepted: number;
    duplicate: number;
    rejected: number;
    ignored: number;
    failed: number;
    actions: number;
    /** Re-sends the plan made that the platform answered `duplicate`, of those planned. */
    duplicates_recognised: number;
  };
  timing: { seconds: number; events_per_second: number; answer_ms: Distribution };
  problems: string[];
  /** Every event sent, with its answer and times (for joins such as event → webhook latency). */
  events: SentEvent[];
}

export type { SendProgress };

const sha256 = (parts: Iterable<string>) => {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(part).update('\n');
  return hash.digest('hex');
};

/** A digest of a plan: equal plans, equal digests. */
export const planDigest = (plan: Plan) =>
  sha256(plan.requests.map((r) => JSON.stringify([r.atMs, r.format, r.kind, r.card ?? null, r.events])));

/** A digest of the requests' paths and bodies, in order. */
export const requestsDigest = (requests: WireRequest[]) => sha256(requests.map((r) => `${r.path} ${r.body}`));

/** Plans, sends and sums up one run. */
export async function simulate(
  options: SimulateOptions,
  onProgress?: (progress: SendProgress) => void,
): Promise<SimulationSummary> {
  const startMs = options.startMs ?? Date.now();
  const run = options.run ?? defaultRun(startMs);
  const plan = planTraffic(options);
  const requests = renderPlan(plan, { startMs, run, processorId: options.processor.id });
  const sent = await sendRequests(requests, {
    baseUrl: options.baseUrl,
    processor: options.processor,
    messagePrefix: `${plan.options.seed.replace(/[^A-Za-z0-9]/g, '').slice(0, 16)}_${run}`,
    ...(options.concurrency ? { concurrency: options.concurrency } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
    ...(onProgress ? { onProgress } : {}),
  });
  const count = (status: SentEvent['status']) => sent.events.filter((e) => e.status === status).length;
  const seconds = sent.elapsedMs / 1000;
  return {
    seed: plan.options.seed,
    run,
    started_at: new Date(startMs).toISOString(),
    digests: { plan: planDigest(plan), requests: requestsDigest(requests) },
    plan: plan.counts,
    sent: {
      requests: sent.requests,
      events: sent.events.length,
      attempts: sent.attempts,
      card_tokens_linked: sent.linked,
      card_token_failures: sent.linkFailures,
      late_sends: sent.lateSends,
      http_errors: sent.httpErrors,
      network_errors: sent.networkErrors,
    },
    answers: {
      accepted: count('accepted'),
      duplicate: count('duplicate'),
      rejected: count('rejected'),
      ignored: count('ignored'),
      failed: count('failed'),
      actions: sent.events.reduce((n, e) => n + e.actions, 0),
      duplicates_recognised: sent.events.filter((e) => e.duplicatePlanned && e.status === 'duplicate').length,
    },
    timing: {
      seconds: Math.round(seconds * 10) / 10,
      events_per_second: Math.round(sent.events.length / Math.max(seconds, 0.001)),
      answer_ms: distribution(sent.answerMs),
    },
    problems: sent.problems,
    events: sent.events,
  };
}
