import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.ts';
import { usePlatform } from '../helpers/platform.ts';
import { freePort } from '../helpers/redis-server.ts';

// The workers run in this process: they perform the demo's actions and deliver its webhooks. Few sign-up
// refusals are allowed per address, so the re-run meets the limit and signs the rest in.
const platform = usePlatform({ workers: true, env: { SIGNUP_REFUSALS_PER_IP_PER_HOUR: '5' } });
let dir: string;
let state: string;
const SIZE = ['--cardholders', '12', '--duration', '4', '--rate', '15', '--concurrency', '4'];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cardlink-demo-test-'));
  state = join(dir, 'state.json');
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const demo = (url: string) =>
  runCli(['demo', ...SIZE, '--url', url, '--state', state], {
    env: { ...platform.env, LOG_LEVEL: 'warn' },
    timeoutMs: 150_000,
  });

/** Processes of this user whose environment says `PORT=<port>`: a platform started to listen there. */
async function listeningOn(port: string): Promise<number[]> {
  const found: number[] = [];
  for (const pid of (await readdir('/proc')).filter((name) => /^\d+$/.test(name))) {
    const environ = await readFile(`/proc/${pid}/environ`, 'utf8').catch(() => '');
    if (environ.split('\0').includes(`PORT=${port}`)) found.push(Number(pid));
  }
  return found;
}

/** The webhook lines the local app printed: verified (✓) action webhooks, by type. */
const webhookLines = (stdout: string) =>
  stdout.split('\n').filter((line) => /✓ {2}\S.*(points|cashback|receipt|coupon)\.\w+/.test(line));

describe('npm run demo, small', () => {
  it('starts the platform when nothing answers, shows verified webhooks and the summary, then stops it', async () => {
    const url = `http://127.0.0.1:${await freePort()}`;
    const run = await demo(url);
    expect(run.code, `${run.stdout}\n${run.stderr}`).toBe(0);
    expect(run.stdout).toContain(`nothing answers at ${url}: starting the platform`);
    expect(webhookLines(run.stdout).length).toBeGreaterThan(0);
    expect(run.stdout).not.toContain('BAD SIGNATURE');
    expect(run.stdout).toMatch(/cardlink demo — seed "demo"/);
    expect(run.stdout).toMatch(/scene +4 apps · 50 merchants · 12 cardholders/);
    expect(run.stdout).toMatch(
      /seeded through the API in [\d.]+ s: 1 processors?, 4 apps, 6 triggers, 50 merchants, 12 users/,
    );
    expect(run.stdout).toMatch(/events +\d+ sent .*: \d+ accepted · \d+ duplicates? · 0 rejected/);
    expect(run.stdout).toMatch(/actions +[1-9]\d* fired by the feed; performed: .*\(usage API\)/);
    expect(run.stdout).toMatch(
      /deliveries +[1-9]\d* delivered, received and verified by the app \(0 bad signatures/,
    );
    // Each cardholder connecting an app is announced to it, and the app shows it.
    expect(run.stdout).toMatch(/✓ {2}\S.*grant\.created/);
    expect(run.stdout).toMatch(/latency +event sent → first webhook received, ms: p50 [\d.]+ · p90/);
    expect(run.stdout).toContain(`${url}/account`);
    // The account it names is one whose purchases earned something, so its page has something to show.
    const account = /sign in as (cardholder\.\d{4}@demo\.example\.com) with password (\S+)/.exec(run.stdout);
    expect(account, run.stdout).not.toBeNull();
    const session = await platform.request('POST', '/v1/sessions', {
      body: { email: account![1], password: account![2] },
    });
    expect(session.status).toBe(200);
    const activity = await platform.request('GET', '/v1/me/activity', { token: session.body.token });
    expect(activity.body.data.some((event: { fired: unknown[] }) => event.fired.length > 0)).toBe(true);
    expect(run.stdout).toContain(`${url}/admin/queues`);
    expect(run.stdout).toContain(`${url}/docs`);
    // What it started, it stopped.
    await expect(fetch(`${url}/healthz`)).rejects.toThrow();
  }, 180_000);

  it('stops the platform it started when interrupted before that is ready, and exits 143 on SIGTERM', async () => {
    const url = `http://127.0.0.1:${await freePort()}`;
    const run = await runCli(['demo', ...SIZE, '--url', url, '--state', state], {
      env: { ...platform.env, LOG_LEVEL: 'warn' },
      timeoutMs: 60_000,
      interrupt: { when: (stdout) => stdout.includes('starting the platform'), signal: 'SIGTERM' },
    });
    expect(run.code, `${run.stdout}\n${run.stderr}`).toBe(143);
    expect(await listeningOn(new URL(url).port)).toEqual([]);
    const log = /its log: (\S+)/.exec(run.stdout)![1]!;
    await expect(readFile(log)).rejects.toThrow(/ENOENT/);
    await expect(fetch(`${url}/healthz`)).rejects.toThrow();
  }, 90_000);

  it('runs again against a running platform, reusing everything it made', async () => {
    const url = await platform.listen();
    const run = await demo(url);
    expect(run.code, `${run.stdout}\n${run.stderr}`).toBe(0);
    expect(run.stdout).not.toContain('starting the platform');
    expect(run.stdout).toContain(`using the platform that answers at ${url}`);
    expect(run.stdout).toMatch(
      /seeded through the API in [\d.]+ s: nothing new created; 12 cardholders were there already/,
    );
    expect(webhookLines(run.stdout).length).toBeGreaterThan(0);
    const sql = platform.deps.sql;
    const [counts] = await sql<
      { users: number; apps: number; processors: number; merchants: number; triggers: number }[]
    >`
      select (select count(*)::int from users) as users, (select count(*)::int from apps) as apps,
        (select count(*)::int from processors) as processors, (select count(*)::int from merchants) as merchants,
        (select count(*)::int from triggers) as triggers`;
    expect(counts).toEqual({ users: 12, apps: 4, processors: 1, merchants: 50, triggers: 6 });
    // It met the limit on sign-ups for registered emails (5 here) and signed the rest in.
    expect(await platform.deps.limiters.signupRefusals.refusal('127.0.0.1')).toMatchObject({
      code: 'rate_limited',
    });
  }, 180_000);
});
