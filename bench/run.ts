/**
 * `npm run bench`: every scenario in turn, short (a few minutes in all), then one report in bench/results/:
 * `<date>.json` (commit, machine, load, every scenario's figures), `<date>.md` (the table, also printed), and the
 * README's charts, `throughput-vs-triggers.svg` and `latency.svg` (overwritten by each full run).
 *   `npm run bench -- [--only=ingest,e2e] [--full] [--<scenario>="<flags>"] [--results=<dir>]`
 * `--<scenario>="<flags>"` adds to (or replaces, flag by flag) that scenario's short flags, e.g.
 * `--ingest="--duration=15 --repeat=3"`; `--full` runs each scenario with its own, longer defaults.
 *
 * `npm run bench -- <scenario> [flags]` runs one scenario with its own defaults and writes
 * `bench/results/<scenario>-<date>.json`. Scenarios:
 *   ingest (flags: --large, --duration=<s>, --repeat=<n>, --warm-up=<s>, --sweep=<trigger counts>, --only=a|b, …),
 *     signed event pushes to the real server, with and without 100,000 triggers;
 *   rules (flags: --seconds=<s>, --repeat=<n>, --peer-seconds=<s>), the pure rules engine, no server;
 *   dispatch (flags: --duration=<s>, --rate=<events/s>, --actions=<n>, --repeat=<n>, --apps=<n>,
 *     --only=latency|throughput|baselines), event to webhook through the API and a worker process;
 *   e2e (flags: --rate=<events/s>, --duration=<s>, --warm-up=<s>), the whole flow at a steady pace, with the
 *     latency from each event to its webhook.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, totalmem, type } from 'node:os';
import { fileURLToPath } from 'node:url';
import {
  type BenchReport,
  chartFiles,
  fileStamp,
  jsonReport,
  markdownReport,
  mergeFlags,
  type ScenarioResult,
  type ScenarioRun,
} from './report.ts';
import { gitCommit } from './server.ts';

const scenarios: Record<string, () => Promise<{ run: (args: string[]) => Promise<ScenarioResult> }>> = {
  ingest: () => import('./ingest.ts'),
  rules: () => import('./rules.ts'),
  dispatch: () => import('./dispatch.ts'),
  e2e: () => import('./e2e.ts'),
};

/**
 * The short flags of `npm run bench`: about a minute each on 2 shared cores. Ingest sweeps the trigger counts for
 * the chart; dispatch measures the worker's throughput only, since e2e measures the latency.
 */
const SHORT: Record<string, string[]> = {
  ingest: ['--duration=5', '--repeat=1', '--warm-up=3', '--sweep=1000,10000'],
  rules: ['--seconds=0.3', '--repeat=3', '--peer-seconds=0.5'],
  dispatch: ['--only=throughput', '--repeat=1', '--actions=1000'],
  e2e: ['--rate=100', '--duration=20', '--warm-up=5'],
};
/** With --full, each scenario's own defaults, and what the report needs. */
const FULL: Record<string, string[]> = { ingest: ['--sweep=1000,10000'], rules: [], dispatch: [], e2e: [] };

const DEFAULT_RESULTS = fileURLToPath(new URL('./results/', import.meta.url));
const LOAD_SAMPLE_MS = 5_000;

interface AllOptions {
  names: string[];
  argsOf: Record<string, string[]>;
  resultsDir: string;
}

function parseAll(args: string[]): AllOptions {
  const value = (name: string) => args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
  const known = ['only', 'results', ...Object.keys(scenarios)];
  const unknown = args.filter((a) => a !== '--full' && !known.some((k) => a.startsWith(`--${k}=`)));
  if (unknown.length > 0) throw new Error(`unknown flag(s): ${unknown.join(' ')}`);
  const names = value('only')?.split(',').filter(Boolean) ?? Object.keys(scenarios);
  const strange = names.filter((n) => !(n in scenarios));
  if (strange.length > 0) throw new Error(`--only: no scenario ${strange.join(', ')}`);
  const base = args.includes('--full') ? FULL : SHORT;
  const argsOf = Object.fromEntries(
    names.map((n) => [n, mergeFlags(base[n]!, (value(n) ?? '').split(/\s+/).filter(Boolean))]),
  );
  return { names, argsOf, resultsDir: value('results') ?? DEFAULT_RESULTS };
}

const describeError = (error: unknown) => {
  // Query errors carry whole statements and their parameters: keep the report readable.
  const text = error instanceof Error ? (error.stack ?? error.message) : String(error);
  return text.length > 2000 ? `${text.slice(0, 1000)} … ${text.slice(-1000)}` : text;
};

/** Runs the scenarios in turn (a failure is recorded and the next one runs), then writes the report. */
async function runAll(options: AllOptions): Promise<boolean> {
  const startedAt = new Date();
  const runs: ScenarioRun[] = [];
  let sampling: number[] = [];
  const sampler = setInterval(() => sampling.push(loadavg()[0]!), LOAD_SAMPLE_MS);
  sampler.unref();
  for (const name of options.names) {
    const args = options.argsOf[name]!;
    console.log(`\n=== ${name} ${args.join(' ')}`);
    sampling = [loadavg()[0]!];
    const started = performance.now();
    let result: ScenarioResult | null = null;
    let error: string | null = null;
    try {
      result = await (await scenarios[name]!()).run(args);
    } catch (failure) {
      error = describeError(failure);
      console.error(`${name} failed: ${error}`);
    }
    sampling.push(loadavg()[0]!);
    runs.push({ name, args, seconds: (performance.now() - started) / 1000, load: sampling, result, error });
  }
  clearInterval(sampler);
  const cpu = cpus();
  const report: BenchReport = {
    startedAt: startedAt.toISOString(),
    commit: gitCommit(),
    machine: {
      cpus: cpu.length,
      cpuModel: cpu[0]?.model.trim() ?? 'unknown',
      memoryGb: Math.round(totalmem() / 2 ** 30),
      node: process.version,
      os: `${type()} ${release()}`,
    },
    scenarios: runs,
  };
  const dir = options.resultsDir.endsWith('/') ? options.resultsDir : `${options.resultsDir}/`;
  mkdirSync(dir, { recursive: true });
  const stamp = fileStamp(startedAt);
  const markdown = markdownReport(report);
  writeFileSync(`${dir}${stamp}.json`, `${JSON.stringify(jsonReport(report), null, 2)}\n`);
  writeFileSync(`${dir}${stamp}.md`, markdown);
  const written = [`${dir}${stamp}.json`, `${dir}${stamp}.md`];
  for (const chart of chartFiles(report)) {
    writeFileSync(`${dir}${chart.file}`, chart.svg);
    written.push(`${dir}${chart.file}`);
  }
  console.log(`\n${markdown}\nwritten ${written.join(', ')}`);
  return runs.every((r) => r.error === null);
}

async function runOne(name: string, args: string[]): Promise<boolean> {
  const load = scenarios[name];
  if (!load) throw new Error(`no scenario ${name}`);
  const startedAt = new Date();
  const result = await (await load()).run(args);
  mkdirSync(DEFAULT_RESULTS, { recursive: true });
  const file = `${DEFAULT_RESULTS}${name}-${fileStamp(startedAt)}.json`;
  writeFileSync(file, `${JSON.stringify(result.record, null, 2)}\n`);
  console.log(`\nwritten ${file}`);
  return true;
}

const [first, ...rest] = process.argv.slice(2);
if (first !== undefined && !first.startsWith('--') && !(first in scenarios)) {
  console.error(
    `usage: npm run bench [-- --only=<scenarios> --full --<scenario>="<flags>"]\n` +
      `       npm run bench -- <${Object.keys(scenarios).join('|')}> [flags]`,
  );
  process.exit(2);
}
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(130));

(first === undefined || first.startsWith('--')
  ? runAll(parseAll(process.argv.slice(2)))
  : runOne(first, rest)
)
  .then((ok) => process.exit(ok ? 0 : 1))
  .catch((error: unknown) => {
    console.error(describeError(error));
    process.exit(1);
  });
