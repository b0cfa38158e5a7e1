import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { databaseUrl, dropDatabase, uniqueName } from '../helpers/pg.ts';
import { freePort, type OwnRedis, startOwnRedis } from '../helpers/redis-server.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const processes: Started[] = [];
const databases: string[] = [];
const queuePrefixes: string[] = [];
// The processes get a Redis of their own, empty at the start: whatever it holds at the end, they made.
let redis: OwnRedis;

beforeAll(async () => {
  redis = await startOwnRedis();
});

/** Stops every process started here; each leads its own group, so whatever it left running goes too. */
async function stopAll() {
  for (const { child, exited } of processes) {
    try {
      if (child.pid) process.kill(-child.pid, 'SIGKILL');
    } catch {} // the group is already gone
    await exited;
  }
}

afterAll(async () => {
  await stopAll();
  for (const name of databases) await dropDatabase(name);
  await redis?.stop();
});

interface Started {
  child: ChildProcess;
  port: number;
  output: () => string;
  /** The exit code, or the signal that ended the process. */
  exited: Promise<number | NodeJS.Signals | null>;
}

/** Runs `src/main.ts` with `args`, or `npm start` (what the README tells a newcomer to run). */
async function start(database: string, args: string[] | 'npm start'): Promise<Started> {
  const port = await freePort();
  let output = '';
  const queuePrefix = uniqueName('e2e');
  queuePrefixes.push(queuePrefix);
  const [command, commandArgs] =
    args === 'npm start'
      ? ['npm', ['start', '--silent']]
      : [process.execPath, ['--import', 'tsx', 'src/main.ts', ...args]];
  const child = spawn(command, commandArgs, {
    cwd: root,
    detached: true,
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      NODE_ENV: 'production',
      PORT: String(port),
      HOST: '127.0.0.1',
      DATABASE_URL: databaseUrl(database),
      REDIS_URL: redis.url,
      ADMIN_TOKEN: 'e2e-admin-token-0123456789abcdef',
      CARD_FINGERPRINT_KEY: 'e2e-fingerprint-key-0123456789abcdef',
      SECRETS_KEY: 'e2e-secrets-key-0123456789abcdef',
      QUEUE_PREFIX: queuePrefix,
      LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.on('data', (chunk) => {
    output += chunk;
  });
  child.stderr?.on('data', (chunk) => {
    output += chunk;
  });
  const exited = new Promise<number | NodeJS.Signals | null>((resolve) =>
    child.on('exit', (code, signal) => resolve(code ?? signal)),
  );
  const result = { child, port, output: () => output, exited };
  processes.push(result);
  return result;
}

/** Resolves once /readyz answers 200; fails at once if the process exits first. */
async function waitReady(started: Started, timeoutMs = 30_000): Promise<void> {
  const ready = vi.waitFor(
    async () => {
      const res = await fetch(`http://127.0.0.1:${started.port}/readyz`);
      expect(res.status).toBe(200);
    },
    { timeout: timeoutMs, interval: 200 },
  );
  const exitedFirst = started.exited.then((code) => {
    throw new Error(`process exited early (${code})`);
  });
  // The loser settles later (the process is stopped at the end of the test): not an unhandled rejection.
  ready.catch(() => {});
  exitedFirst.catch(() => {});
  try {
    await Promise.race([ready, exitedFirst]);
  } catch (error) {
    throw new Error(`not ready: ${error instanceof Error ? error.message : error}\n${started.output()}`);
  }
}

describe('starting the platform', () => {
  it('two API processes started at once on a database that does not exist both come up', async () => {
    const database = uniqueName('cardlink_e2e');
    databases.push(database);
    const [a, b] = await Promise.all([start(database, ['--api']), start(database, ['--api'])]);
    await Promise.all([waitReady(a), waitReady(b)]);

    const sql = postgres(databaseUrl(database), { max: 1, onnotice: () => {} });
    try {
      const applied =
        await sql`select hash, count(*)::int as n from drizzle.__drizzle_migrations group by hash`;
      expect(applied.length).toBeGreaterThan(0);
      expect(applied.every((row) => row.n === 1)).toBe(true);
    } finally {
      await sql.end();
    }

    a.child.kill('SIGTERM');
    b.child.kill('SIGTERM');
    expect(await a.exited).toBe(0);
    expect(await b.exited).toBe(0);
  }, 60_000);

  it('the default start runs API and workers, prints the URLs and drains on SIGTERM', async () => {
    const database = uniqueName('cardlink_e2e');
    databases.push(database);
    const app = await start(database, []);
    await waitReady(app);
    expect(app.output()).toContain('cardlink is up (API and workers)');
    expect(app.output()).toContain(`/docs`);
    expect(app.output()).toContain(`/admin/queues`);
    expect(app.output()).toContain('Admin token: the ADMIN_TOKEN environment variable');
    app.child.kill('SIGTERM');
    expect(await app.exited).toBe(0);
  }, 60_000);

  it('`npm start` drains on SIGTERM and npm exits 0 with it', async () => {
    const database = uniqueName('cardlink_e2e');
    databases.push(database);
    const npm = await start(database, 'npm start');
    await waitReady(npm);
    npm.child.kill('SIGTERM');
    expect(await npm.exited).toBe(0);
    // The server went with npm (under `sh -c` without exec it was left running, holding the port).
    await expect(fetch(`http://127.0.0.1:${npm.port}/healthz`)).rejects.toThrow();
  }, 60_000);

  it('keeps every Redis key it makes under its QUEUE_PREFIX', async () => {
    await stopAll();
    const keys = await redis.keys();
    // The processes above did make keys (queues, workers' markers): the check below is not over nothing.
    expect(keys.length).toBeGreaterThan(0);
    const outside = keys.filter((key) => !queuePrefixes.some((prefix) => key.startsWith(`${prefix}:`)));
    expect(outside).toEqual([]);
  });
});
