/**
 * What a bench scenario hands back, and the report of a whole `npm run bench` (every scenario in one run): its
 * JSON record, its markdown table and its charts. Pure: the runner (bench/run.ts) does the writing.
 */
import { cpus, loadavg } from 'node:os';
import { histogramSvg, lineChartSvg } from './charts.ts';

/** One headline figure of a scenario, as a row of the markdown table. */
export interface SummaryRow {
  measure: string;
  value: string;
  /** The issue's target beside it ('' for none): reported, never asserted. */
  target: string;
}

/** Events per second at a number of triggers loaded: one point of the throughput chart. */
export interface ThroughputPoint {
  triggers: number;
  eventsPerSecond: number;
}

export interface ThroughputSeries {
  name: string;
  points: ThroughputPoint[];
  /** The same measure with no trigger at all (a log axis has no 0): drawn as a level line. */
  withoutTriggers?: number;
}

export interface ScenarioResult {
  /** Everything the scenario measured and how: its JSON record. */
  record: Record<string, unknown>;
  /** Its headline figures. */
  summary: SummaryRow[];
  /** What the charts draw, when the scenario measured it. */
  charts?: {
    throughput?: ThroughputSeries[];
    /** Every event → webhook latency measured, ms. */
    latencyMs?: number[];
  };
}

/** A scenario's part of the report: its flags, its time and the machine's load around it. */
export interface ScenarioRun {
  name: string;
  args: string[];
  seconds: number;
  /** 1-minute load averages sampled during the scenario (every few seconds, start and end included). */
  load: number[];
  result: ScenarioResult | null;
  /** Why it stopped, when it failed (the run goes on with the next scenario). */
  error: string | null;
}

export interface Machine {
  cpus: number;
  cpuModel: string;
  memoryGb: number;
  node: string;
  os: string;
}

export interface BenchReport {
  startedAt: string;
  commit: string;
  machine: Machine;
  scenarios: ScenarioRun[];
}

/** `base` with `extra` applied: a flag of `extra` replaces the one of the same name in `base`. */
export function mergeFlags(base: readonly string[], extra: readonly string[]): string[] {
  const name = (flag: string) => flag.split('=')[0]!;
  const replaced = new Set(extra.map(name));
  return [...base.filter((flag) => !replaced.has(name(flag))), ...extra];
}

/** `2026-12-01T10-20-30-456Z`: an ISO date that is a file name everywhere. */
/** The median of the values (the mean of the middle two when there is an even count). */
export const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

export const fileStamp = (date: Date) => date.toISOString().replace(/[:.]/g, '-');

const round1 = (n: number) => Math.round(n * 10) / 10;

/** `min–max (mean m)` of the load samples, or '?' without any. */
export function loadText(samples: readonly number[]): string {
  if (samples.length === 0) return '?';
  const min = Math.min(...samples);
  const max = Math.max(...samples);
  const mean = samples.reduce((sum, s) => sum + s, 0) / samples.length;
  return `${min.toFixed(1)}–${max.toFixed(1)} (mean ${mean.toFixed(1)})`;
}

/** A table cell: pipes escaped, line breaks flattened, so a value never breaks the table. */
const cell = (text: string) => text.replace(/\|/g, '\\|').replace(/\s*\n\s*/g, ' ');

function table(header: string[], rows: string[][]): string {
  const lines = [header, header.map(() => '---'), ...rows].map((row) => `| ${row.map(cell).join(' | ')} |`);
  return lines.join('\n');
}

/** The markdown report: the machine and its load, how long each scenario ran, then every headline figure. */
export function markdownReport(report: BenchReport): string {
  const { machine } = report;
  const allLoad = report.scenarios.flatMap((s) => s.load);
  const total = report.scenarios.reduce((sum, s) => sum + s.seconds, 0);
  const parts = [
    `# cardlink benchmarks, ${report.startedAt}`,
    '',
    `Commit ${report.commit}; Node ${machine.node} on ${machine.os}, ${machine.cpus} × ${machine.cpuModel}, ` +
      `${machine.memoryGb} GB. 1-minute load average during the run: ${loadText(allLoad)} ` +
      `(the cores are shared: other work ran beside the bench whenever the load exceeds about 1–2). ` +
      `${round1(total)} s in all.`,
    '',
    table(
      ['scenario', 'flags', 'seconds', 'load average', 'outcome'],
      report.scenarios.map((s) => [
        s.name,
        s.args.length > 0 ? `\`${s.args.join(' ')}\`` : '(defaults)',
        String(round1(s.seconds)),
        loadText(s.load),
        s.error ? `failed: ${s.error.split('\n')[0]!.slice(0, 200)}` : 'ok',
      ]),
    ),
    '',
    table(
      ['scenario', 'measure', 'value', 'target'],
      report.scenarios.flatMap((s) =>
        (s.result?.summary ?? []).map((row) => [s.name, row.measure, row.value, row.target]),
      ),
    ),
    '',
  ];
  return parts.join('\n');
}

/** The JSON record of the run: the report with each scenario's full record in place of its result. */
export function jsonReport(report: BenchReport): Record<string, unknown> {
  return {
    started_at: report.startedAt,
    commit: report.commit,
    machine: report.machine,
    scenarios: Object.fromEntries(
      report.scenarios.map((s) => [
        s.name,
        {
          args: s.args,
          seconds: round1(s.seconds),
          load_average_1m: { samples: s.load.map(round1), summary: loadText(s.load) },
          error: s.error,
          summary: s.result?.summary ?? [],
          result: s.result?.record ?? null,
        },
      ]),
    ),
  };
}

/** The chart files the README links to. */
export const CHART_FILES = { throughput: 'throughput-vs-triggers.svg', latency: 'latency.svg' } as const;

/** The scenario whose latency samples the chart draws: the end-to-end flow's, else dispatch's. */
const LATENCY_SOURCES = ['e2e', 'dispatch'];

/**
 * The charts this run has the figures for (a run of some scenarios leaves the other chart as it was): events per
 * second against the number of triggers, and the distribution of event → webhook latencies.
 */
export function chartFiles(report: BenchReport): { file: string; svg: string }[] {
  const when = `${report.startedAt.slice(0, 16).replace('T', ' ')} UTC, commit ${report.commit}`;
  const machine = `${report.machine.cpus} shared cores (${report.machine.cpuModel})`;
  const files: { file: string; svg: string }[] = [];
  const throughput = report.scenarios.flatMap((s) =>
    (s.result?.charts?.throughput ?? []).map((series) => ({ series, load: s.load })),
  );
  if (throughput.length > 0) {
    const load = loadText(throughput.flatMap((t) => t.load));
    files.push({
      file: CHART_FILES.throughput,
      svg: lineChartSvg({
        title: 'Throughput against the number of triggers',
        xLabel: 'triggers loaded (log scale)',
        yLabel: 'events per second (log scale)',
        series: throughput.map(({ series }) => ({
          name: series.name,
          points: series.points.map((p) => ({ x: p.triggers, y: p.eventsPerSecond })),
          ...(series.withoutTriggers === undefined
            ? {}
            : { level: { y: series.withoutTriggers, label: 'no trigger' } }),
        })),
        note: `npm run bench, ${when}; ${machine}, load average ${load}`,
      }),
    });
  }
  const source = LATENCY_SOURCES.map((name) => report.scenarios.find((s) => s.name === name)).find(
    (s) => (s?.result?.charts?.latencyMs?.length ?? 0) > 0,
  );
  if (source) {
    const rate = source.args.find((a) => a.startsWith('--rate='))?.slice('--rate='.length);
    files.push({
      file: CHART_FILES.latency,
      svg: histogramSvg({
        title: `Latency from event to webhook (${source.name}${rate ? `, ${rate} events/s` : ''})`,
        xLabel: "ms from the event's POST to its webhook's arrival at the sink (log scale)",
        values: source.result!.charts!.latencyMs!,
        unit: 'ms',
        note: `npm run bench, ${when}; ${machine}, load average ${loadText(source.load)}`,
      }),
    });
  }
  return files;
}

/** The machine a scenario ran on, as each result records it: its cores, its load before and after, its check. */
export const machineRecord = (loadAtStart: number[], check: unknown) => ({
  cpus: cpus().length,
  cpu_model: cpus()[0]?.model,
  load_average_at_start: loadAtStart,
  check,
  load_average_at_end: loadavg(),
});
