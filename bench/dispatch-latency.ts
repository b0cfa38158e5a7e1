/**
 * The latency run: steady signed single-event pushes while one worker runs, each webhook timed from its event's
 * POST to its arrival at the sink, and split into stages by the database's timestamps. Shared with bench/e2e.ts.
 */
import {
  type CpuSample,
  cpuNow,
  drained,
  firstArrivals,
  logProblems,
  safeRead,
  verifySample,
} from './dispatch-readings.ts';
import { type Distribution, distribution, round } from './dispatch-report.ts';
import { openLoop, prepareRequests, type SentLoop } from './dispatch-send.ts';
import type { Context } from './dispatch-setup.ts';
import type { RunningProcess } from './server.ts';

export interface LatencyResult {
  rate: number;
  durationSeconds: number;
  warmUpSeconds: number;
  sent: number;
  achievedRate: number;
  lateSends: number;
  non2xx: number;
  matchedEvents: number;
  actions: number;
  /** Webhooks of the measured events' actions (a settlement's excepted). */
  deliveriesExpected: number;
  deliveriesArrived: number;
  /** Webhooks of settlements (points or cashback made available or reversed by a later event of the purchase). */
  settlementDeliveries: number;
  duplicates: number;
  missing: number;
  signatures: { verified: number; bad: number };
  /** Deliveries that arrived per second of the measured sends. */
  deliveriesPerSecond: number;
  /** Webhook arrival at the sink − the event's POST send time, ms. */
  latencyMs: Distribution;
  /** Every such latency, ms (0.1 ms steps), ascending: the whole distribution. */
  samplesMs: number[];
  /** POST sent → ingest answer received, ms (every measured event). */
  ingestAnswerMs: Distribution;
  /** The same latency split by the database's timestamps (server clocks, ms). */
  stagesMs: Record<string, Distribution>;
  cpuSecondsPerSecond: {
    api: number;
    worker: number;
    postgres: number;
    redis: number;
    sink: number;
    bench: number;
  };
  workerLogProblems: Record<string, number>;
}

/** The webhook types a settlement sends: a reward made available or reversed by a later event of its purchase. */
const SETTLEMENT_TYPE = /\.(available|reversed)$/;

/** The steady stream of the latency run, and what describes it in the log. */
export interface Traffic {
  /** Sends events at `rate` per second for `seconds` to the API, open loop; what became of each. */
  send(ctx: Context, rate: number, seconds: number): Promise<SentLoop>;
  description: string;
}

/** Dispatch's own traffic: authorizations, `share` of them at a MID one of the triggers names. */
export const authorizations = (share: number): Traffic => ({
  send: (ctx, rate, seconds) =>
    openLoop(ctx.server.url, prepareRequests(ctx.scene, Math.round(rate * seconds), 1, share), rate),
  description: `single authorizations, ${Math.round(share * 100)}% at a triggered MID`,
});

/**
 * Sends `traffic` at `rate` events per second for `warmUp` + `duration` seconds to the API while `worker` runs,
 * and times every webhook of the events sent after the warm-up from its event's POST to its arrival at the sink.
 */
export async function measureLatency(
  ctx: Context,
  worker: RunningProcess,
  options: { rate: number; duration: number; warmUp: number },
  traffic: Traffic,
): Promise<LatencyResult> {
  const { sql, sink, scene } = ctx;
  await sink.take();
  const logFrom = safeRead(ctx.workerLog).length;
  const total = options.warmUp + options.duration;
  console.log(
    `latency: ${options.rate} events/s for ${total} s (${options.warmUp} s warm-up), ${traffic.description}…`,
  );
  const cpuBefore = await cpuNow(ctx, worker.pid);
  const loop = await traffic.send(ctx, options.rate, total);
  const cpuAfter = await cpuNow(ctx, worker.pid);
  await drained(sql, sink, 120_000);
  const arrivals = await sink.take();
  const { first, duplicates } = firstArrivals(arrivals);

  const measuredFrom = loop.startedAtWall + options.warmUp * 1000;
  const measured = loop.sent.filter((s) => s.sentAt >= measuredFrom);
  const byEvent = new Map(measured.filter((s) => s.eventId).map((s) => [s.eventId!, s]));
  const latencies: number[] = [];
  const measuredDeliveries: string[] = [];
  let settlements = 0;
  for (const arrival of first.values()) {
    const sent = byEvent.get(arrival.parsed.data?.event?.id ?? '');
    if (!sent) continue;
    // A settlement's webhook names the purchase but follows a later clearing, refund or reversal: timed from
    // the purchase it would count the lifecycle's own delay, so it is counted apart.
    if (SETTLEMENT_TYPE.test(arrival.parsed.type ?? '')) {
      settlements++;
      continue;
    }
    latencies.push(arrival.at - sent.sentAt);
    measuredDeliveries.push(arrival.webhookId);
  }
  const eventIds = [...byEvent.keys()];
  const [expected] = await sql<{ n: string }[]>`
    select count(*) as n from deliveries d join actions a on a.id = d.action_id
    where a.purchase_id = any(${eventIds}::text[]) and d.type !~ ${SETTLEMENT_TYPE.source}`;

  // Stages, from the database's timestamps (wall-clock ms as floats).
  const stages = await sql<
    { id: string; accepted: number; done: number; started: number; completed: number }[]
  >`
    select d.id,
      extract(epoch from d.event_accepted_at) * 1000 as accepted,
      extract(epoch from a.done_at) * 1000 as done,
      extract(epoch from t.started_at) * 1000 as started,
      extract(epoch from d.completed_at) * 1000 as completed
    from deliveries d
    join actions a on a.id = d.action_id
    left join lateral (
      select started_at from delivery_attempts where delivery_id = d.id order by attempt limit 1
    ) t on true
    where d.id = any(${measuredDeliveries}::text[])`;
  // done_at is when the worker began performing the action (the perform's clock, also the delivery's created_at).
  const split: Record<string, number[]> = {
    'POST sent → event received (ingest batch time)': [],
    'event received → action job started (done_at)': [],
    'action job started → first attempt started': [],
    'attempt started → arrival at the sink': [],
    'arrival at the sink → delivery completed': [],
  };
  const bucket = Object.values(split);
  for (const row of stages) {
    const arrival = first.get(row.id)!;
    const sent = byEvent.get(arrival.parsed.data?.event?.id ?? '')!;
    const points = [sent.sentAt, row.accepted, row.done, row.started, arrival.at, row.completed];
    for (let i = 0; i < bucket.length; i++) bucket[i]!.push(Number(points[i + 1]) - Number(points[i]));
  }
  const seconds = (cpuAfter.wall - cpuBefore.wall) / 1000;
  const perSecond = (k: keyof CpuSample) => round((cpuAfter[k] - cpuBefore[k]) / seconds, 2);
  return {
    rate: options.rate,
    durationSeconds: options.duration,
    warmUpSeconds: options.warmUp,
    sent: measured.length,
    // Sends within the measured seconds (a feed's end-of-run settlement batch comes after them).
    achievedRate: Math.round(
      measured.filter((s) => s.sentAt < measuredFrom + options.duration * 1000).length / options.duration,
    ),
    lateSends: loop.lateSends,
    non2xx: measured.filter((s) => !s.ok).length,
    matchedEvents: measured.filter((s) => s.actions > 0).length,
    actions: measured.reduce((total, s) => total + s.actions, 0),
    deliveriesExpected: Number(expected!.n),
    deliveriesArrived: latencies.length,
    settlementDeliveries: settlements,
    duplicates,
    missing: Number(expected!.n) - latencies.length,
    signatures: await verifySample(arrivals, scene, 500),
    deliveriesPerSecond: round(latencies.length / Math.max(1, options.duration)),
    latencyMs: distribution(latencies),
    samplesMs: latencies.map((ms) => round(ms)).sort((x, y) => x - y),
    ingestAnswerMs: distribution(measured.map((s) => s.answeredAt - s.sentAt)),
    stagesMs: Object.fromEntries(Object.entries(split).map(([k, v]) => [k, distribution(v)])),
    cpuSecondsPerSecond: {
      api: perSecond('api'),
      worker: perSecond('worker'),
      postgres: perSecond('postgres'),
      redis: perSecond('redis'),
      sink: perSecond('sink'),
      bench: perSecond('bench'),
    },
    workerLogProblems: logProblems(ctx.workerLog, logFrom),
  };
}
