/**
 * `npm run bench -- dispatch [--duration=20] [--rate=500] [--warm-up=5] [--actions=20000] [--repeat=3]
 *   [--apps=10] [--share=0.3] [--only=latency|throughput|baselines] [--log-level=warn] [--keep]`
 *
 * Dispatch end to end, on its own database (`cardlink_bench_dispatch`, dropped first) and its own queue prefix:
 * the API (`src/main.ts --api`) and one worker process (`workers/main.ts`) run as separate child processes,
 * with ALLOW_PRIVATE_WEBHOOKS=true and every app's webhook_url on a local sink (bench/dispatch-sink.ts, its own
 * process, 204 to everything). `--apps` apps (a fee each: 1 cent + 50 bps), each with a cashback trigger and a
 * webhook trigger on MIDs of their own; 1,000 cardholders granting every app (written in SQL).
 *   1. Latency: signed single-event POST /v1/events at a steady `--rate` per second, open loop (sends follow the
 *      clock, not the answers), `--share` of the purchases at a MID with a trigger (half cashback, half webhook);
 *      `--warm-up` seconds first, then `--duration` seconds measured. Latency = the webhook's arrival at the sink
 *      − its event's POST send time (joined by the ingest answer's `event_id` and the body's `data.event.id`);
 *      the database's timestamps split it into stages.
 *   2. Throughput of one worker process, `--repeat` times: with no worker running, `--actions` purchases that
 *      each fire one trigger are ingested through the API (their actions and jobs queued), then ONE worker
 *      process is started and timed from its first job taken to the last delivery's arrival; the counts of
 *      actions done, deliveries, attempts and ledger entries are checked afterwards. In each repeat, the
 *      baselines (bench/dispatch-baseline.ts, child processes too): a BullMQ no-op worker at concurrency 100
 *      draining as many jobs, and as many signed POSTs to the sink at concurrency 100.
 * The worker's tunables pass through from this environment (ACTIONS_*, DELIVERY_*, DISPATCH_*, WEBHOOK_*).
 * `BENCH_WORKER_NODE_ARGS` (e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`) goes to the worker's node, as
 * `BENCH_SERVER_NODE_ARGS` to the API's. Prints tables; `npm run bench` writes the results. The set-up and the
 * latency run are shared with the end-to-end flow (bench/e2e.ts). Targets are reported, never asserted.
 * This file holds the options and the order of the runs; the parts: dispatch-setup.ts (database, processes,
 * scene), dispatch-send.ts (signed event requests), dispatch-latency.ts, dispatch-throughput.ts (with the
 * baselines), dispatch-readings.ts (counts, arrivals, CPU, logs), dispatch-report.ts (statistics, tables, result).
 */
import { authorizations, type LatencyResult, measureLatency } from './dispatch-latency.ts';
import { dispatchResult, n0, settingsText } from './dispatch-report.ts';
import { dispatchScene, openFlow, startWorker, WORKER_ENV } from './dispatch-setup.ts';
import {
  measureNoop,
  measurePosts,
  measureWorker,
  type ThroughputRepeat,
  type WorkerRun,
} from './dispatch-throughput.ts';
import type { ScenarioResult } from './report.ts';

export interface Options {
  duration: number;
  rate: number;
  warmUp: number;
  actions: number;
  repeat: number;
  apps: number;
  share: number;
  /** One part only: the latency run, the throughput runs, or only their baselines (no worker). */
  only: 'latency' | 'throughput' | 'baselines' | null;
  logLevel: string;
  /** Keep the database afterwards, for a look at what the run left. */
  keep: boolean;
  /** `--compare=NAME=VALUE,…`: each throughput repeat also runs the worker with these settings, in turn. */
  compare: Record<string, string> | null;
}

function parseOptions(args: string[]): Options {
  const value = (name: string) => args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
  const known = [
    'duration',
    'rate',
    'warm-up',
    'actions',
    'repeat',
    'apps',
    'share',
    'only',
    'log-level',
    'compare',
  ];
  const unknown = args.filter((a) => a !== '--keep' && !known.some((k) => a.startsWith(`--${k}=`)));
  if (unknown.length > 0) throw new Error(`unknown flag(s): ${unknown.join(' ')}`);
  const only = value('only');
  if (only !== undefined && only !== 'latency' && only !== 'throughput' && only !== 'baselines')
    throw new Error(`--only takes latency, throughput or baselines, not ${only}`);
  const options: Options = {
    duration: Number(value('duration') ?? 20),
    rate: Number(value('rate') ?? 500),
    warmUp: Number(value('warm-up') ?? 5),
    actions: Number(value('actions') ?? 20_000),
    repeat: Number(value('repeat') ?? 3),
    apps: Number(value('apps') ?? 10),
    share: Number(value('share') ?? 0.3),
    only: only ?? null,
    logLevel: value('log-level') ?? 'warn',
    keep: args.includes('--keep'),
    compare: compareOption(value('compare')),
  };
  for (const [name, v] of Object.entries(options)) {
    if (typeof v === 'number' && !(v >= 0 && Number.isFinite(v))) throw new Error(`--${name}: not a number`);
  }
  if (options.apps < 1 || options.share > 1) throw new Error('--apps ≥ 1 and --share ≤ 1');
  return options;
}

function compareOption(value: string | undefined): Options['compare'] {
  if (value === undefined) return null;
  const settings = Object.fromEntries(value.split(',').map((pair) => pair.split('=') as [string, string]));
  for (const [name, setting] of Object.entries(settings)) {
    if (!WORKER_ENV.test(name) || setting === undefined)
      throw new Error(`--compare takes NAME=VALUE pairs of the worker's settings, not ${name}`);
  }
  return settings;
}

export async function run(args: string[]): Promise<ScenarioResult> {
  const options = parseOptions(args);
  const startedAt = new Date();
  const flow = await openFlow({
    label: 'dispatch',
    databaseUrl:
      process.env.BENCH_DISPATCH_DATABASE_URL ?? 'postgres://root@127.0.0.1:5432/cardlink_bench_dispatch',
    apps: options.apps,
    scene: dispatchScene(options.apps),
    logLevel: options.logLevel,
    keep: options.keep,
  });
  const { ctx, machine, loadAtStart, knobs } = flow;
  try {
    let latency: LatencyResult | null = null;
    if (options.only === null || options.only === 'latency') {
      const worker = await startWorker(ctx);
      try {
        latency = await measureLatency(ctx, worker, options, authorizations(options.share));
      } finally {
        await worker.stop();
      }
    }

    const runs: ThroughputRepeat[] = [];
    if (options.only !== 'latency' && options.repeat > 0) {
      for (let r = 0; r < options.repeat; r++) {
        console.log(
          `throughput ${r + 1}/${options.repeat}: ${n0(options.actions)} actions, no-op worker, signed POSTs…`,
        );
        let worker: WorkerRun | null = null;
        let compared: WorkerRun | null = null;
        if (options.only !== 'baselines') {
          // In turn, so that neither setting always runs on the emptier database.
          if (options.compare && r % 2 === 1)
            compared = await measureWorker(ctx, options.actions, options.compare);
          worker = await measureWorker(ctx, options.actions);
          if (options.compare && r % 2 === 0)
            compared = await measureWorker(ctx, options.actions, options.compare);
        }
        const noop = await measureNoop(ctx, options.actions, r);
        const posts = await measurePosts(ctx, options.actions);
        console.log(
          `  ${worker ? `worker ${n0(worker.deliveriesPerSecond)} deliveries/s (${worker.seconds} s), ` : ''}` +
            `${compared ? `with ${settingsText(options.compare)}: ${n0(compared.deliveriesPerSecond)}/s, ` : ''}` +
            `no-op ${n0(noop.perSecond)} jobs/s, signed POSTs ${n0(posts.perSecond)}/s`,
        );
        runs.push({ worker, compared, noop, posts });
      }
    }

    return dispatchResult({ startedAt, options, machine, loadAtStart, knobs, latency, runs });
  } finally {
    await flow.close();
  }
}
