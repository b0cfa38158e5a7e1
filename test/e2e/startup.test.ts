import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import postgres from 'postgres';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { databaseUrl, dropDatabase, TEST_REDIS_URL, uniqueName } from '../helpers/pg.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const children: ChildProcess[] = [];
const databases: string[] = [];

afterAll(async () => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  for (const name of databases) await dropDatabase(name);
});

const freePort = () =>
  new Promise<number>((resolve) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });

interface Started {
  child: ChildProcess;
  port: number;
  output: () => string;
  exited: Promise<number | null>;
}

async function start(database: string, args: string[]): Promise<Started> {
  const port = await freePort();
  let output = '';
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', ...args], {
    cwd: root,
    env: {
      PATH: process.env.PATH,
      NODE_ENV: 'production',
      PORT: String(port),
      HOST: '127.0.0.1',
      DATABASE_URL: databaseUrl(database),
      REDIS_URL: TEST_REDIS_URL,
      ADMIN_TOKEN: 'e2e-admin-token-0123456789abcdef',
      CARD_FINGERPRINT_KEY: 'e2e-fingerprint-key-0123456789abcdef',
      SECRETS_KEY: 'e2e-secrets-key-0123456789abcdef',
      QUEUE_PREFIX: uniqueName('e2e'),
      LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  child.stdout?.on('data', (chunk) => {
    output += chunk;
  });
  child.stderr?.on('data', (chunk) => {
    output += chunk;
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, port, output: () => output, exited };
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
    const started = await start(database, []);
    await waitReady(started);
    expect(started.output()).toContain('cardlink is up (API and workers)');
    expect(started.output()).toContain(`/docs`);
    expect(started.output()).toContain(`/admin/queues`);
    expect(started.output()).toContain('Admin token: the ADMIN_TOKEN environment variable');
    started.child.kill('SIGTERM');
    expect(await started.exited).toBe(0);
  }, 60_000);
});
