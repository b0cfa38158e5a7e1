/**
 * The dispatch bench's report: summary statistics, the printed tables (the latency table is e2e's too) and the
 * scenario's result (the record bench/run.ts writes, the summary rows, the latency samples for the chart).
 */

import { percentileOf } from './charts.ts';
import type { Options } from './dispatch.ts';
import type { LatencyResult } from './dispatch-latency.ts';
import { dispatchScene } from './dispatch-setup.ts';
import type { ThroughputRepeat, WorkerRun } from './dispatch-throughput.ts';
import type { MachineCheck } from './ingest.ts';
import { machineRecord, median, type ScenarioResult, type SummaryRow } from './report.ts';
import { gitCommit } from './server.ts';

export const round = (n: number, digits = 1) => Math.round(n * 10 ** digits) / 10 ** digits;

export interface Distribution {
  count: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
}

export function distribution(values: number[]): Distribution {
  const sorted = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  const sum = sorted.reduce((total, v) => total + v, 0);
  return {
    count: sorted.length,
    p50: round(percentileOf(sorted, 50)),
    p90: round(percentileOf(sorted, 90)),
    p99: round(percentileOf(sorted, 99)),
    max: round(sorted[sorted.length - 1] ?? Number.NaN),
    mean: round(sum / Math.max(1, sorted.length)),
  };
}

export const settingsText = (settings: Record<string, string> | null) =>
  Object.entries(settings ?? {})
    .map(([name, setting]) => `${name}=${setting}`)
    .join(',');

export function printTable(title: string, header: string[], lines: string[][]) {
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => (l[i] ?? '').length)));
  const fmt = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ');
  console.log(`\n${title}\n${fmt(header)}\n${widths.map((w) => '-'.repeat(w)).join('  ')}`);
  for (const line of lines) console.log(fmt(line));
}

export const n0 = (n: number) => Math.round(n).toLocaleString('en-US');

/** The latency run's figures as rows: measure, value, target. */
export function latencyLines(latency: LatencyResult): string[][] {
  return [
    ['events sent (measured)', `${n0(latency.sent)} at ${n0(latency.achievedRate)}/s`, ''],
    ['events not taken (non-2xx) / late sends', `${latency.non2xx} / ${latency.lateSends}`, '0'],
    [
      'events firing / actions',
      `${n0(latency.matchedEvents)} (${round((latency.matchedEvents / Math.max(1, latency.sent)) * 100)}%) / ${n0(latency.actions)}`,
      '',
    ],
    ['webhooks arrived per second (settlements excepted)', String(latency.deliveriesPerSecond), ''],
    ['settlement webhooks (not timed: they follow a later event)', n0(latency.settlementDeliveries), ''],
    [
      'deliveries arrived / expected / duplicates',
      `${n0(latency.deliveriesArrived)} / ${n0(latency.deliveriesExpected)} / ${latency.duplicates}`,
      'all',
    ],
    [
      'signatures verified (standardwebhooks) / bad',
      `${latency.signatures.verified} / ${latency.signatures.bad}`,
      '0 bad',
    ],
    [
      'latency p50 / p90 / p99 / max, ms',
      `${latency.latencyMs.p50} / ${latency.latencyMs.p90} / ${latency.latencyMs.p99} / ${latency.latencyMs.max}`,
      'p50 ≤ 20, p99 ≤ 100',
    ],
    ['ingest answer p50 / p99, ms', `${latency.ingestAnswerMs.p50} / ${latency.ingestAnswerMs.p99}`, ''],
    ...Object.entries(latency.stagesMs).map(([k, d]) => [`  ${k} p50 / p99`, `${d.p50} / ${d.p99}`, '']),
    [
      'CPU s/s: api, worker, postgres, redis, sink, bench',
      Object.values(latency.cpuSecondsPerSecond).join(', '),
      '',
    ],
  ];
}

/** Prints the tables and returns the scenario's result. */
export function dispatchResult(input: {
  startedAt: Date;
  options: Options;
  machine: MachineCheck;
  loadAtStart: number[];
  knobs: Record<string, string>;
  latency: LatencyResult | null;
  runs: ThroughputRepeat[];
}): ScenarioResult {
  const { startedAt, options, machine, loadAtStart, knobs, latency, runs } = input;
  const summary: SummaryRow[] = [];
  if (latency) {
    const lines = latencyLines(latency);
    summary.push(
      ...lines.map(([measure, value, target]) => ({ measure: measure!, value: value!, target: target! })),
    );
    printTable(`1. Latency at ${options.rate} events/s`, ['measure', 'value', 'target'], lines);
  }
  let throughput: Record<string, unknown> | null = null;
  if (runs.length > 0) {
    const med = (pick: (r: (typeof runs)[number]) => number) => median(runs.map(pick));
    const samples = (pick: (r: (typeof runs)[number]) => number) => runs.map((r) => n0(pick(r))).join(', ');
    const workerRuns = runs.flatMap((r) => (r.worker ? [{ ...r, worker: r.worker }] : []));
    const wmed = (pick: (w: WorkerRun) => number) => median(workerRuns.map((r) => pick(r.worker)));
    const wsamples = (pick: (w: WorkerRun) => number) => workerRuns.map((r) => n0(pick(r.worker))).join(', ');
    const ratios = workerRuns.map((r) => r.worker.deliveriesPerSecond / r.noop.perSecond);
    throughput = {
      deliveriesPerSecond: workerRuns.length > 0 ? wmed((w) => w.deliveriesPerSecond) : null,
      noopJobsPerSecond: med((r) => r.noop.perSecond),
      signedPostsPerSecond: med((r) => r.posts.perSecond),
      workerOverNoop: workerRuns.length > 0 ? round(median(ratios), 3) : null,
      compare: options.compare,
      comparedDeliveriesPerSecond: options.compare
        ? median(runs.flatMap((r) => (r.compared ? [r.compared.deliveriesPerSecond] : [])))
        : null,
      runs,
    };
    const lines = [
      [
        'BullMQ no-op worker, concurrency 100: jobs/s',
        n0(med((r) => r.noop.perSecond)),
        samples((r) => r.noop.perSecond),
        '8,000–9,800 here',
      ],
      [
        'signed POSTs to the sink, concurrency 100: /s',
        n0(med((r) => r.posts.perSecond)),
        samples((r) => r.posts.perSecond),
        '12,000–14,500 here',
      ],
      [
        'CPU µs per job: no-op worker + redis; per POST: client + sink',
        `${med((r) => r.noop.cpuUs.process)} + ${med((r) => r.noop.cpuUs.other)}; ` +
          `${med((r) => r.posts.cpuUs.process)} + ${med((r) => r.posts.cpuUs.other)}`,
        '',
        '',
      ],
    ];
    if (workerRuns.length > 0) {
      const last = workerRuns.at(-1)!.worker.counts;
      const problems = workerRuns.flatMap((r) =>
        Object.entries(r.worker.workerLogProblems).map(([k, v]) => `${k} ×${v}`),
      );
      const cpu = (k: keyof WorkerRun['cpuUsPerDelivery']) => wmed((w) => w.cpuUsPerDelivery[k]);
      lines.unshift(
        [
          'worker: deliveries/s',
          n0(wmed((w) => w.deliveriesPerSecond)),
          wsamples((w) => w.deliveriesPerSecond),
          '≥ 3,000',
        ],
        [
          'worker ÷ no-op',
          `${round(median(ratios) * 100)}%`,
          ratios.map((x) => `${round(x * 100)}%`).join(', '),
          '≥ 40%',
        ],
      );
      const comparedRuns = runs.flatMap((r) =>
        r.compared ? [{ compared: r.compared, noop: r.noop, worker: r.worker! }] : [],
      );
      if (comparedRuns.length > 0) {
        const cmed = (pick: (w: WorkerRun) => number) => median(comparedRuns.map((r) => pick(r.compared)));
        const against = comparedRuns.map(
          (r) => r.compared.deliveriesPerSecond / r.worker.deliveriesPerSecond,
        );
        const label = settingsText(options.compare);
        lines.splice(
          2,
          0,
          [
            `worker with ${label}: deliveries/s`,
            n0(cmed((w) => w.deliveriesPerSecond)),
            comparedRuns.map((r) => n0(r.compared.deliveriesPerSecond)).join(', '),
            '',
          ],
          [
            `  ÷ the worker as configured (same repeat)`,
            `${round(median(against) * 100)}%`,
            against.map((x) => `${round(x * 100)}%`).join(', '),
            '',
          ],
          [
            `  CPU µs/delivery: worker, postgres`,
            `${cmed((w) => w.cpuUsPerDelivery.worker)}, ${cmed((w) => w.cpuUsPerDelivery.postgres)}`,
            '',
            '',
          ],
        );
      }
      lines.push(
        [
          'worker from its spawn (start-up included): s',
          String(wmed((w) => w.secondsFromSpawn)),
          workerRuns.map((r) => String(r.worker.secondsFromSpawn)).join(', '),
          '',
        ],
        [
          'CPU µs/delivery: worker, postgres, redis, sink',
          `${cpu('worker')}, ${cpu('postgres')}, ${cpu('redis')}, ${cpu('sink')}`,
          '',
          '',
        ],
        [
          'last run: actions done, deliveries ok, attempts, ledger entries, rewards',
          `${last.actionsDone}, ${last.deliveriesSucceeded}, ${last.attempts}, ${last.ledgerEntries}, ${last.rewards}`,
          '',
          '',
        ],
        [
          'deliveries arrived / duplicates',
          '',
          workerRuns.map((r) => `${r.worker.arrived} / ${r.worker.duplicates}`).join(', '),
          '',
        ],
        ['worker log warnings', problems.join('; ') || 'none', '', ''],
      );
    }
    printTable(
      `2. Throughput (${n0(options.actions)} per run; medians of ${runs.length})`,
      ['measure', 'median', 'runs', 'target'],
      lines,
    );
    summary.push(
      ...lines.map(([measure, value, samples, target]) => ({
        measure: measure!,
        value: !samples || samples === value ? value! : value ? `${value} (runs: ${samples})` : samples,
        target: target!,
      })),
    );
  }

  return {
    record: {
      scenario: 'dispatch',
      started_at: startedAt.toISOString(),
      commit: gitCommit(),
      machine: machineRecord(loadAtStart, machine),
      options,
      worker_settings: knobs,
      scene: dispatchScene(options.apps).description,
      latency,
      throughput,
    },
    summary,
    charts: latency ? { latencyMs: latency.samplesMs } : {},
  };
}
