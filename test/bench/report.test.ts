import { describe, expect, it } from 'vitest';
import {
  type BenchReport,
  CHART_FILES,
  chartFiles,
  fileStamp,
  jsonReport,
  loadText,
  markdownReport,
  mergeFlags,
  type ScenarioRun,
} from '../../bench/report.ts';
import { parseSvg, textsOf } from './svg.ts';

const rules: ScenarioRun = {
  name: 'rules',
  args: ['--seconds=0.3'],
  seconds: 61.23,
  load: [1.2, 2.4, 1.8],
  result: {
    record: { scenario: 'rules', evaluate: [{ triggers: 10 }] },
    summary: [
      { measure: 'events per CPU-second at 100,000 triggers', value: '364,800', target: '≥ 1,000,000' },
      { measure: 'a | b', value: 'x\ny', target: '' },
    ],
    charts: {
      throughput: [
        {
          name: 'rules engine alone',
          points: [
            { triggers: 10, eventsPerSecond: 700_000 },
            { triggers: 100_000, eventsPerSecond: 360_000 },
          ],
        },
      ],
    },
  },
  error: null,
};

const e2e: ScenarioRun = {
  name: 'e2e',
  args: ['--rate=100'],
  seconds: 50,
  load: [3],
  result: {
    record: { scenario: 'e2e' },
    summary: [{ measure: 'latency p50 / p90 / p99 / max, ms', value: '21 / 40 / 90 / 120', target: '' }],
    charts: { latencyMs: [10, 20, 21, 22, 30, 90] },
  },
  error: null,
};

const failed: ScenarioRun = {
  name: 'ingest',
  args: [],
  seconds: 3,
  load: [],
  result: null,
  error: 'Error: the server exited during startup\n    at startServer',
};

const report = (scenarios: ScenarioRun[]): BenchReport => ({
  startedAt: '2026-12-01T10:20:30.456Z',
  commit: 'abc1234',
  machine: { cpus: 2, cpuModel: 'AMD EPYC', memoryGb: 23, node: 'v20.20.0', os: 'Linux 6.1' },
  scenarios,
});

/** The rows of the markdown table whose header starts with `first`. */
function tableRows(markdown: string, first: string): string[][] {
  const lines = markdown.split('\n');
  const start = lines.findIndex((l) => l.startsWith(`| ${first} |`));
  const rows: string[][] = [];
  for (const line of lines.slice(start + 2)) {
    if (!line.startsWith('|')) break;
    rows.push(
      line
        .slice(2, -2)
        .split(/(?<!\\) \| /)
        .map((c) => c.replace(/\\\|/g, '|')),
    );
  }
  return rows;
}

describe('the markdown report', () => {
  it('tells the commit, the machine and its load, and every headline figure by scenario', () => {
    const markdown = markdownReport(report([rules, e2e]));
    expect(markdown).toContain('# cardlink benchmarks, 2026-12-01T10:20:30.456Z');
    expect(markdown).toContain('Commit abc1234; Node v20.20.0 on Linux 6.1, 2 × AMD EPYC, 23 GB');
    expect(markdown).toContain('load average during the run: 1.2–3.0 (mean 2.1)');
    expect(tableRows(markdown, 'scenario | flags')).toEqual([
      ['rules', '`--seconds=0.3`', '61.2', '1.2–2.4 (mean 1.8)', 'ok'],
      ['e2e', '`--rate=100`', '50', '3.0–3.0 (mean 3.0)', 'ok'],
    ]);
    expect(tableRows(markdown, 'scenario | measure')).toEqual([
      ['rules', 'events per CPU-second at 100,000 triggers', '364,800', '≥ 1,000,000'],
      ['rules', 'a | b', 'x y', ''],
      ['e2e', 'latency p50 / p90 / p99 / max, ms', '21 / 40 / 90 / 120', ''],
    ]);
  });

  it('names a failed scenario with the first line of its error, and goes on', () => {
    const markdown = markdownReport(report([failed, rules]));
    expect(tableRows(markdown, 'scenario | flags')[0]).toEqual([
      'ingest',
      '(defaults)',
      '3',
      '?',
      'failed: Error: the server exited during startup',
    ]);
    expect(tableRows(markdown, 'scenario | measure').map((r) => r[0])).toEqual(['rules', 'rules']);
  });
});

describe('the JSON report', () => {
  it('holds each scenario by name with its flags, time, load, summary and full record', () => {
    const json = jsonReport(report([rules, failed]));
    expect(json).toMatchObject({
      started_at: '2026-12-01T10:20:30.456Z',
      commit: 'abc1234',
      machine: { cpus: 2, node: 'v20.20.0' },
      scenarios: {
        rules: {
          args: ['--seconds=0.3'],
          seconds: 61.2,
          load_average_1m: { samples: [1.2, 2.4, 1.8] },
          error: null,
          summary: rules.result!.summary,
          result: rules.result!.record,
        },
        ingest: { error: expect.stringContaining('server exited'), result: null, summary: [] },
      },
    });
    expect(JSON.parse(JSON.stringify(json))).toEqual(json);
  });
});

describe('the charts of a run', () => {
  it('draws throughput from every scenario that swept triggers, and the latency of the end-to-end flow', () => {
    const files = chartFiles(report([rules, e2e]));
    expect(files.map((f) => f.file)).toEqual([CHART_FILES.throughput, CHART_FILES.latency]);
    const throughput = textsOf(parseSvg(files[0]!.svg));
    expect(throughput).toContain('rules engine alone');
    expect(throughput.some((t) => t.includes('commit abc1234') && t.includes('load average'))).toBe(true);
    const latency = textsOf(parseSvg(files[1]!.svg));
    expect(latency).toContain('Latency from event to webhook (e2e, 100 events/s)');
    expect(latency).toContain('6 samples');
  });

  it('leaves a chart alone when the run did not measure it', () => {
    expect(chartFiles(report([e2e])).map((f) => f.file)).toEqual([CHART_FILES.latency]);
    expect(chartFiles(report([failed]))).toEqual([]);
  });
});

describe('flags and names', () => {
  it("replaces a scenario's short flags by name and adds the others", () => {
    expect(mergeFlags(['--duration=5', '--repeat=1'], ['--repeat=3', '--large'])).toEqual([
      '--duration=5',
      '--repeat=3',
      '--large',
    ]);
  });

  it('stamps files with the ISO date in characters any file system takes', () => {
    expect(fileStamp(new Date('2026-12-01T10:20:30.456Z'))).toBe('2026-12-01T10-20-30-456Z');
    expect(loadText([])).toBe('?');
  });
});
