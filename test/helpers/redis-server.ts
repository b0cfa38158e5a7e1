import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { vi } from 'vitest';

export interface OwnRedis {
  url: string;
  /** Every key the server holds. */
  keys: () => Promise<string[]>;
  /** Stops the server and starts a new one on the same port: every key is gone, as after a crash. */
  restart: () => Promise<void>;
  /** Stops the server; it keeps nothing (no snapshot, no append-only file). */
  stop: () => Promise<void>;
}

/** A TCP port on the loopback that nothing listens on right now. */
export const freePort = () =>
  new Promise<number>((resolve) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });

/**
 * A Redis of the test's own on a free loopback port, for a test that must see every key its processes make
 * (the machine's Redis is shared by every test file running at once), or that restarts it.
 */
export async function startOwnRedis(): Promise<OwnRedis> {
  const port = await freePort();
  const dir = await mkdtemp(join(tmpdir(), 'cardlink-redis-'));
  const url = `redis://127.0.0.1:${port}`;
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => 100 });
  client.on('error', () => {}); // refused until the server listens: the waits below retry
  let server: ChildProcess;
  let exited: Promise<void>;
  const spawnServer = async () => {
    server = spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir],
      { stdio: 'ignore' },
    );
    exited = new Promise<void>((resolve) => server.once('exit', () => resolve()));
    await vi.waitFor(() => client.ping(), { timeout: 10_000, interval: 50 });
  };
  const kill = async () => {
    server.kill('SIGKILL');
    await exited;
  };
  await spawnServer();
  return {
    url,
    keys: () => client.keys('*'),
    restart: async () => {
      await kill();
      await spawnServer();
    },
    stop: async () => {
      client.disconnect();
      await kill();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
