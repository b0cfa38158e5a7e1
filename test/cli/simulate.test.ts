import { beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.ts';
import { usePlatform } from '../helpers/platform.ts';

const platform = usePlatform();
let url: string;

beforeAll(async () => {
  url = await platform.listen();
});

/** `cardlink simulate` against the running platform: 30 cards, this seed, rate and duration, `--json`. */
const simulateOn = (
  feed: { seed: string; rate: number; duration: number },
  interrupt?: NonNullable<Parameters<typeof runCli>[1]>['interrupt'],
) =>
  runCli(
    [
      'simulate',
      '--url',
      url,
      '--cards',
      '30',
      '--rate',
      String(feed.rate),
      '--duration',
      String(feed.duration),
      '--seed',
      feed.seed,
      '--json',
    ],
    { env: platform.env, ...(interrupt ? { interrupt } : {}) },
  );

describe('cardlink simulate', () => {
  it('prints the same requests for the same seed and start, other ones for another seed', async () => {
    const args = [
      'simulate',
      '--plan',
      '--cards',
      '30',
      '--rate',
      '20',
      '--duration',
      '3',
      '--start',
      '2026-11-23T16:00:00Z',
    ];
    const [first, second, other] = await Promise.all([
      runCli([...args, '--seed', 'same']),
      runCli([...args, '--seed', 'same']),
      runCli([...args, '--seed', 'other']),
    ]);
    expect(first.code).toBe(0);
    expect(first.stdout.length).toBeGreaterThan(0);
    expect(second.stdout).toBe(first.stdout);
    expect(other.stdout).not.toBe(first.stdout);
    const lines = first.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(lines[0]).toMatchObject({ seq: 0, method: 'POST' });
    expect(new Set(lines.map((l) => l.path))).toEqual(
      new Set(['/v1/card_tokens', '/v1/events', '/v1/events/iso8583', '/v1/events/stripe/prc_simulated']),
    );
  });

  it('registers a processor, sends the feed to the running platform and sums it up', async () => {
    const run = await simulateOn({ seed: 'cli', rate: 30, duration: 2 });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toMatch(/registered processor prc_\w+ for this run/);
    const summary = JSON.parse(run.stdout);
    expect(summary.seed).toBe('cli');
    expect(summary.sent.events).toBe(summary.plan.events);
    expect(summary.answers).toMatchObject({ rejected: 0, failed: 0, duplicate: summary.plan.duplicates });
    expect(summary.answers.accepted).toBe(summary.plan.events - summary.plan.duplicates);
    const processors = await platform.admin('GET', '/v1/processors');
    expect(processors.body.data.map((p: { name: string }) => p.name)).toContain('Simulator (seed cli)');
  });

  it('stops sending when interrupted, sums up what went, and exits as a shell expects (130 on Ctrl-C)', async () => {
    const run = await simulateOn(
      { seed: 'cli-stop', rate: 5, duration: 600 },
      { when: (_stdout, stderr) => stderr.includes('registered processor'), signal: 'SIGINT' },
    );
    expect(run.code, run.stderr).toBe(130);
    const summary = JSON.parse(run.stdout);
    expect(summary.sent.events).toBeLessThan(summary.plan.events);
  });

  it('refuses --processor without its credentials, naming what is missing', async () => {
    const run = await runCli(['simulate', '--url', url, '--processor', 'prc_x'], { env: platform.env });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('--processor needs its --api-key and --signing-secret');
  });
});
