import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import postgres from 'postgres';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** A free TCP port on loopback (the OS picks it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Drops the bench database so every run starts from empty tables (the app creates and migrates it). */
export async function dropDatabase(url: string): Promise<void> {
  const name = decodeURIComponent(new URL(url).pathname.slice(1));
  if (!/^cardlink_bench[a-z0-9_]*$/.test(name))
    throw new Error(`refusing to drop ${name}: not a bench database`);
  const admin = new URL(url);
  admin.pathname = '/postgres';
  const sql = postgres(admin.toString(), { max: 1, onnotice: () => {} });
  try {
    await sql.unsafe(`drop database if exists "${name}" with (force)`);
  } finally {
    await sql.end({ timeout: 5 });
  }
}

export interface RunningServer {
  url: string;
  stop: () => Promise<void>;
}

/** Starts `tsx src/main.ts --api` as a child process and waits until /readyz answers 200. */
export async function startServer(env: Record<string, string>, logFile: string): Promise<RunningServer> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  // The server writes its log straight to the file (not piped through this process, which would spend the
  // shared cores copying a line per request).
  const log = openSync(logFile, 'a');
  // BENCH_SERVER_NODE_ARGS (e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`) runs the same thing as
  // `node <args> --import tsx src/main.ts --api`, for flags NODE_OPTIONS does not allow.
  const nodeArgs = process.env.BENCH_SERVER_NODE_ARGS?.split(' ').filter(Boolean) ?? [];
  const [command, args] =
    nodeArgs.length > 0
      ? [process.execPath, [...nodeArgs, '--import', 'tsx', 'src/main.ts', '--api']]
      : [`${ROOT}node_modules/.bin/tsx`, ['src/main.ts', '--api']];
  const child: ChildProcess = spawn(command, args, {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      ...env,
      PORT: String(port),
      HOST: '127.0.0.1',
      PUBLIC_URL: url,
    },
    stdio: ['ignore', log, log],
  });
  closeSync(log);
  let exited = false;
  child.once('exit', () => {
    exited = true;
  });
  // Never leave the server behind when the bench itself is stopped.
  const killChild = () => {
    if (!exited) child.kill('SIGTERM');
  };
  process.once('exit', killChild);

  const deadline = Date.now() + 120_000;
  for (;;) {
    if (exited) throw new Error(`the server exited during startup; see ${logFile}`);
    if (Date.now() > deadline) throw new Error(`the server was not ready within 120 s; see ${logFile}`);
    try {
      const res = await fetch(`${url}/readyz`);
      if (res.status === 200) break;
    } catch {}
    await new Promise((resolve) => setTimeout(resolve, 250));
  }

  return {
    url,
    stop: () =>
      new Promise<void>((resolve) => {
        if (exited) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}
