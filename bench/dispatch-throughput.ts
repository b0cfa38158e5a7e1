/**
 * The throughput run of one worker process: actions queued with no worker running, then one worker timed until
 * the last delivery arrives; and the baselines it is compared with (bench/dispatch-baseline.ts, child processes):
 * a BullMQ no-op worker, and signed POSTs to the sink.
 */
import http from 'node:http';
import { Queue } from 'bullmq';
import type { BaselineResult } from './dispatch-baseline.ts';
import {
  type Counts,
  type CpuSample,
  counts,
  cpuNow,
  diff,
  drained,
  firstArrivals,
  logProblems,
  safeRead,
  until,
  wallNow,
} from './dispatch-readings.ts';
import { round } from './dispatch-report.ts';
import { postPrepared, prepareRequests, results } from './dispatch-send.ts';
import type { Context } from './dispatch-setup.ts';
import { cpuSeconds, startNodeProcess } from './server.ts';

const BASELINE_CONCURRENCY = 100;
const PRELOAD_BATCH = 500;

export interface WorkerRun {
  actions: number;
  seconds: number;
  deliveriesPerSecond: number;
  /** Start-up included: from the worker's spawn to the last arrival. */
  secondsFromSpawn: number;
  counts: Counts;
  arrived: number;
  duplicates: number;
  cpuUsPerDelivery: { worker: number; postgres: number; redis: number; sink: number };
  workerLogProblems: Record<string, number>;
}

/** Ingests `n` purchases that each fire one trigger, with no worker running: their actions wait in the queue. */
async function preload(ctx: Context, n: number): Promise<void> {
  const { scene, server, sql } = ctx;
  const requests = prepareRequests(scene, Math.ceil(n / PRELOAD_BATCH), PRELOAD_BATCH, 1);
  const agent = new http.Agent({ keepAlive: true });
  const url = new URL(`${server.url}/v1/events`);
  let next = 0;
  let actions = 0;
  const queuedBefore = (await counts(sql)).actionsQueued;
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      while (next < requests.length) {
        const answer = await postPrepared(agent, url, requests[next++]!);
        if (answer.status !== 200) throw new Error(`preload: ${answer.status} ${answer.body.slice(0, 500)}`);
        for (const r of results(answer.body)) actions += r.actions;
      }
    }),
  );
  agent.destroy();
  const want = requests.length * PRELOAD_BATCH;
  if (actions !== want) throw new Error(`preload: ${actions} actions from ${want} purchases, not one each`);
  await until(
    `${want} actions queued in Postgres and Redis`,
    async () =>
      (await counts(sql)).actionsQueued - queuedBefore === want &&
      (await ctx.actionsQueue.getWaitingCount()) >= want,
    60_000,
    100,
  );
}

export async function measureWorker(
  ctx: Context,
  n: number,
  settings: Record<string, string> = {},
): Promise<WorkerRun> {
  const { sql, sink } = ctx;
  await preload(ctx, n);
  await sink.take();
  const before = await counts(sql);
  const sinkBefore = (await sink.count()).distinct;
  const logFrom = safeRead(ctx.workerLog).length;
  const spawnedAt = wallNow();
  const nodeArgs = process.env.BENCH_WORKER_NODE_ARGS?.split(' ').filter(Boolean) ?? [];
  const worker = startNodeProcess('workers/main.ts', {
    env: { ...ctx.workerEnv, ...settings },
    logFile: ctx.workerLog,
    nodeArgs,
  });
  try {
    // Timed from the first job the worker takes (start-up is tsx compiling and connecting, not dispatch).
    let startedAt = 0;
    let cpuStart: CpuSample | undefined;
    await until(
      'the worker to take its first job',
      async () => {
        if ((await ctx.actionsQueue.getWaitingCount()) < n) {
          startedAt = wallNow();
          cpuStart = await cpuNow(ctx, worker.pid);
          return true;
        }
        return false;
      },
      120_000,
      5,
    );
    await until(
      `${n} deliveries at the sink`,
      async () => (await sink.count()).distinct - sinkBefore >= n,
      600_000,
      20,
    );
    const cpuEnd = await cpuNow(ctx, worker.pid);
    const arrivals = await sink.take();
    const { first, duplicates } = firstArrivals(arrivals);
    const lastAt = Math.max(...arrivals.map((a) => a.at));
    const firstAt = Math.min(...arrivals.map((a) => a.at));
    const start = Math.min(startedAt, firstAt);
    await drained(sql, sink, 60_000);
    const after = await counts(sql);
    const seconds = (lastAt - start) / 1000;
    const per = (k: keyof CpuSample) => Math.round(((cpuEnd[k] - cpuStart![k]) * 1e6) / n);
    return {
      actions: n,
      seconds: round(seconds, 3),
      deliveriesPerSecond: Math.round(n / seconds),
      secondsFromSpawn: round((lastAt - spawnedAt) / 1000, 3),
      counts: diff(after, before),
      arrived: first.size,
      duplicates,
      cpuUsPerDelivery: {
        worker: per('worker'),
        postgres: per('postgres'),
        redis: per('redis'),
        sink: per('sink'),
      },
      workerLogProblems: logProblems(ctx.workerLog, logFrom),
    };
  } finally {
    await worker.stop();
  }
}

export interface BaselineRun {
  perSecond: number;
  seconds: number;
  /** CPU per job or POST, µs: the baseline's process, and Redis (no-op) or the sink (POSTs) over its run. */
  cpuUs: { process: number; other: number };
}

export async function measureNoop(ctx: Context, n: number, round_: number): Promise<BaselineRun> {
  const name = `noop-baseline-${round_}`;
  const queue = new Queue(name, { connection: ctx.redis, prefix: ctx.queuePrefix });
  for (let at = 0; at < n; at += 1000) {
    await queue.addBulk(
      Array.from({ length: Math.min(1000, n - at) }, (_, i) => ({
        name: 'noop',
        data: { n: at + i },
        opts: { removeOnComplete: true, removeOnFail: true },
      })),
    );
  }
  const redisBefore = cpuSeconds(ctx.sink.pid, ctx.redisPort).redis;
  const result = await runBaseline(
    'noop',
    name,
    n,
    { REDIS_URL: ctx.redisUrl, QUEUE_PREFIX: ctx.queuePrefix },
    ctx.workerLog,
  );
  const redis = cpuSeconds(ctx.sink.pid, ctx.redisPort).redis - redisBefore;
  await queue.obliterate({ force: true });
  await queue.close();
  if (result.done !== n) throw new Error(`noop baseline: ${result.done} of ${n} jobs completed`);
  return {
    perSecond: Math.round(n / result.seconds),
    seconds: round(result.seconds, 3),
    cpuUs: { process: Math.round((result.cpuSeconds * 1e6) / n), other: Math.round((redis * 1e6) / n) },
  };
}

export async function measurePosts(ctx: Context, n: number): Promise<BaselineRun> {
  const sinkBefore = cpuSeconds(ctx.sink.pid).tree;
  const result = await runBaseline(
    'post',
    `${ctx.sink.url}/baseline`,
    n,
    { WEBHOOK_SECRET: ctx.scene.apps[0]!.webhookSecret },
    ctx.workerLog,
  );
  const sink = cpuSeconds(ctx.sink.pid).tree - sinkBefore;
  await ctx.sink.take();
  if (result.done !== n) throw new Error(`post baseline: ${result.done} of ${n} answered 2xx`);
  return {
    perSecond: Math.round(n / result.seconds),
    seconds: round(result.seconds, 3),
    cpuUs: { process: Math.round((result.cpuSeconds * 1e6) / n), other: Math.round((sink * 1e6) / n) },
  };
}

async function runBaseline(
  mode: 'noop' | 'post',
  target: string,
  count: number,
  env: Record<string, string>,
  logFile: string,
): Promise<BaselineResult> {
  const child = startNodeProcess('bench/dispatch-baseline.ts', {
    args: [mode, target, String(count), String(BASELINE_CONCURRENCY)],
    env,
    logFile,
    ipc: true,
  });
  try {
    return await Promise.race([
      new Promise<BaselineResult>((resolve) => child.child.once('message', resolve)),
      child.exited.then((code): never => {
        throw new Error(`the ${mode} baseline exited (${code}); see ${logFile}`);
      }),
    ]);
  } finally {
    await child.stop(5_000);
  }
}

/** One throughput repeat: the worker, and the baselines measured beside it. */
export interface ThroughputRepeat {
  worker: WorkerRun | null;
  /** With --compare: the worker with those settings, measured in the same repeat. */
  compared: WorkerRun | null;
  noop: BaselineRun;
  posts: BaselineRun;
}
