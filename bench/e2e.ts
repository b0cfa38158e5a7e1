/**
 * `npm run bench -- e2e [--rate=100] [--duration=20] [--warm-up=5] [--apps=10] [--cards=1000] [--seed=bench]
 *   [--log-level=warn] [--keep]`
 *
 * The whole flow at a steady pace, on its own database (`cardlink_bench_e2e`): the processor simulator
 * (src/simulator, seeded) sends realistic card lifecycles — authorizations, clearings (some partial, late or
 * before their authorization), refunds, reversals, re-sent messages — in its three feeds (JSON, ISO 8583, Stripe
 * Issuing), signed, to the real API (`src/main.ts --api`); the rules engine matches them; one worker process
 * (`workers/main.ts`) performs the actions; the webhooks arrive at a local sink. `--cards` of the simulator's
 * cards are enrolled, each its own cardholder granting every app; each of `--apps` apps has a cashback (5%) and
 * a webhook trigger, each on one simulated merchant's MIDs (the least visited merchants first).
 * The set-up and the measurement are dispatch's latency run (bench/dispatch-setup.ts, dispatch-latency.ts):
 * `--rate` events per second, open loop, `--warm-up` seconds first, then `--duration` seconds measured, at a pace
 * one worker keeps up with.
 * Reports the events and webhooks per second, the latency from each event's POST to its webhook's arrival
 * (p50 / p90 / p99, and every sample for the chart) and its stages.
 */
import { simulatedCards } from '../src/simulator/cards.ts';
import { MERCHANTS } from '../src/simulator/merchants.ts';
import { type SimulationSummary, simulate } from '../src/simulator/simulate.ts';
import { type LatencyResult, measureLatency, type Traffic } from './dispatch-latency.ts';
import { latencyLines, printTable } from './dispatch-report.ts';
import { openFlow, type SceneSpec, startWorker } from './dispatch-setup.ts';
import { machineRecord, type ScenarioResult } from './report.ts';
import { gitCommit } from './server.ts';

interface Options {
  rate: number;
  duration: number;
  warmUp: number;
  apps: number;
  cards: number;
  seed: string;
  logLevel: string;
  keep: boolean;
}

function parseOptions(args: string[]): Options {
  const value = (name: string) => args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
  const known = ['rate', 'duration', 'warm-up', 'apps', 'cards', 'seed', 'log-level'];
  const unknown = args.filter((a) => a !== '--keep' && !known.some((k) => a.startsWith(`--${k}=`)));
  if (unknown.length > 0) throw new Error(`unknown flag(s): ${unknown.join(' ')}`);
  const options: Options = {
    rate: Number(value('rate') ?? 100),
    duration: Number(value('duration') ?? 20),
    warmUp: Number(value('warm-up') ?? 5),
    apps: Number(value('apps') ?? 10),
    cards: Number(value('cards') ?? 1_000),
    seed: value('seed') ?? 'bench',
    logLevel: value('log-level') ?? 'warn',
    keep: args.includes('--keep'),
  };
  for (const [name, v] of Object.entries(options)) {
    if (typeof v === 'number' && !(v >= 0 && Number.isFinite(v))) throw new Error(`--${name}: not a number`);
  }
  if (options.rate <= 0 || options.duration <= 0) throw new Error('--rate and --duration must be above 0');
  if (options.apps < 1 || options.cards < 1) throw new Error('--apps and --cards must be at least 1');
  return options;
}

/**
 * The simulated world's cards, and triggers on its merchants: app `a` rewards purchases at one merchant and asks
 * for a webhook at another, taking the least visited merchants first (the simulated world lists its busiest
 * first), so that 10 apps' triggers fire on about a tenth of the events: a busier mix would outrun one worker.
 */
function simulatedScene(options: Options): SceneSpec {
  const merchants = [...MERCHANTS].reverse();
  const merchantOf = (k: number) => merchants[k % merchants.length]!;
  const mids = (k: number) => merchantOf(k).locations.map((l) => l.mid);
  const named = new Set(Array.from({ length: 2 * options.apps }, (_, k) => merchantOf(k).key));
  return {
    pans: simulatedCards(options.seed, options.cards).map((card) => card.pan),
    triggersOf: (a) => [
      {
        name: `5% back at ${merchantOf(2 * a).name}`,
        match: { mids: mids(2 * a) },
        action: { type: 'cashback', percent_bps: 500 },
      },
      {
        name: `Tell me of ${merchantOf(2 * a + 1).name}`,
        match: { mids: mids(2 * a + 1) },
        action: { type: 'webhook' },
      },
    ],
    stripe: true,
    description: {
      apps: options.apps,
      triggers_per_app:
        "a cashback (5%) and a webhook trigger, each on one simulated merchant's MIDs; app fee 1 cent + 50 bps",
      merchants_named: [...named],
      cardholders: options.cards,
    },
  };
}

/** The simulator's feed, at the rate asked; keeps its summary. */
function simulatedTraffic(options: Options): Traffic & { summary: () => SimulationSummary | null } {
  let summary: SimulationSummary | null = null;
  return {
    description: `the simulator's lifecycles (seed ${options.seed}, ${options.cards} cards, JSON, ISO 8583 and Stripe feeds)`,
    summary: () => summary,
    send: async (ctx, rate, seconds) => {
      summary = await simulate({
        seed: options.seed,
        cards: options.cards,
        rate,
        duration: seconds,
        baseUrl: ctx.server.url,
        processor: ctx.scene.processor,
        // Enough requests in flight that sends follow the clock even when answers slow down (open loop).
        concurrency: 256,
      });
      const sent = summary.events.map((e) => ({
        sentAt: e.sentAt,
        answeredAt: e.answeredAt,
        ok: e.status !== 'rejected' && e.status !== 'failed',
        // A re-sent message answers with the first one's id: its latency is the first one's.
        eventId: e.status === 'accepted' ? e.eventId : null,
        actions: e.actions,
      }));
      // A loop, not Math.min(...sent): a long run's events would overflow the call stack. Nothing sent: now.
      let startedAtWall =
        sent.length > 0 ? Number.POSITIVE_INFINITY : performance.timeOrigin + performance.now();
      for (const e of sent) if (e.sentAt < startedAtWall) startedAtWall = e.sentAt;
      return { sent, lateSends: summary.sent.late_sends, startedAtWall };
    },
  };
}

export async function run(args: string[]): Promise<ScenarioResult> {
  const options = parseOptions(args);
  const startedAt = new Date();
  const scene = simulatedScene(options);
  const flow = await openFlow({
    label: 'e2e',
    databaseUrl: process.env.BENCH_E2E_DATABASE_URL ?? 'postgres://root@127.0.0.1:5432/cardlink_bench_e2e',
    apps: options.apps,
    scene,
    logLevel: options.logLevel,
    keep: options.keep,
  });
  const { ctx, machine, loadAtStart, knobs } = flow;
  try {
    const traffic = simulatedTraffic(options);
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
    const { events: _, ...simulation } = traffic.summary()!;
    return {
      record: {
        scenario: 'e2e',
        started_at: startedAt.toISOString(),
        commit: gitCommit(),
        machine: machineRecord(loadAtStart, machine),
        options,
        traffic: traffic.description,
        simulation,
        worker_settings: knobs,
        scene: scene.description,
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
