/**
 * `npm run bench -- e2e [--rate=100] [--duration=20] [--warm-up=5] [--apps=10] [--share=0.3] [--log-level=warn]
 *   [--keep]`
 *
 * The whole flow at a steady pace, on its own database (`cardlink_bench_e2e`): processor events signed and sent
 * to the real API (`src/main.ts --api`), stored and matched by the rules engine, their actions performed by one
 * worker process (`workers/main.ts`), and the webhooks delivered to a local sink. The set-up (apps on the sink,
 * their triggers, the cardholders) and the measurement are dispatch's latency run (bench/dispatch.ts), at a rate
 * one worker keeps up with: `--rate` single-event requests per second, open loop, `--warm-up` seconds first,
 * then `--duration` seconds measured. Reports the events and webhooks per second, the latency from each event's
 * POST to its webhook's arrival (p50 / p90 / p99, and every sample for the chart) and its stages.
 */
import { cpus, loadavg } from 'node:os';
import {
  authorizations,
  type LatencyResult,
  latencyLines,
  measureLatency,
  openFlow,
  printTable,
  sceneRecord,
  startWorker,
} from './dispatch.ts';
import type { ScenarioResult } from './report.ts';
import { gitCommit } from './server.ts';

interface Options {
  rate: number;
  duration: number;
  warmUp: number;
  apps: number;
  share: number;
  logLevel: string;
  keep: boolean;
}

function parseOptions(args: string[]): Options {
  const value = (name: string) => args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
  const known = ['rate', 'duration', 'warm-up', 'apps', 'share', 'log-level'];
  const unknown = args.filter((a) => a !== '--keep' && !known.some((k) => a.startsWith(`--${k}=`)));
  if (unknown.length > 0) throw new Error(`unknown flag(s): ${unknown.join(' ')}`);
  const options: Options = {
    rate: Number(value('rate') ?? 100),
    duration: Number(value('duration') ?? 20),
    warmUp: Number(value('warm-up') ?? 5),
    apps: Number(value('apps') ?? 10),
    share: Number(value('share') ?? 0.3),
    logLevel: value('log-level') ?? 'warn',
    keep: args.includes('--keep'),
  };
  for (const [name, v] of Object.entries(options)) {
    if (typeof v === 'number' && !(v >= 0 && Number.isFinite(v))) throw new Error(`--${name}: not a number`);
  }
  if (options.rate <= 0 || options.duration <= 0) throw new Error('--rate and --duration must be above 0');
  if (options.apps < 1 || options.share > 1) throw new Error('--apps ≥ 1 and --share ≤ 1');
  return options;
}

export async function run(args: string[]): Promise<ScenarioResult> {
  const options = parseOptions(args);
  const startedAt = new Date();
  const flow = await openFlow({
    label: 'e2e',
    databaseUrl: process.env.BENCH_E2E_DATABASE_URL ?? 'postgres://root@127.0.0.1:5432/cardlink_bench_e2e',
    apps: options.apps,
    logLevel: options.logLevel,
    keep: options.keep,
  });
  const { ctx, machine, loadAtStart, knobs } = flow;
  try {
    const traffic = authorizations(options.share);
    const worker = await startWorker(ctx);
    let latency: LatencyResult;
    try {
      latency = await measureLatency(ctx, worker, options, traffic);
    } finally {
      await worker.stop();
    }
    const lines = latencyLines(latency);
    printTable(
      `End to end at ${options.rate} events/s (${traffic.description})`,
      ['measure', 'value', 'target'],
      lines,
    );
    const { samplesMs, ...figures } = latency;
    return {
      record: {
        scenario: 'e2e',
        started_at: startedAt.toISOString(),
        commit: gitCommit(),
        machine: {
          cpus: cpus().length,
          cpu_model: cpus()[0]?.model,
          load_average_at_start: loadAtStart,
          check: machine,
          load_average_at_end: loadavg(),
        },
        options,
        traffic: traffic.description,
        worker_settings: knobs,
        scene: sceneRecord(options.apps),
        latency: figures,
        latency_samples_ms: samplesMs,
      },
      summary: lines.map(([measure, value, target]) => ({
        measure: measure!,
        value: value!,
        target: target!,
      })),
      charts: { latencyMs: samplesMs },
    };
  } finally {
    await flow.close();
  }
}
