import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, openSync, readdirSync, readFileSync } from 'node:fs';
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
  /** The process started (the server runs in it or in its descendants). */
  pid: number;
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
    pid: child.pid ?? 0,
    stop: () =>
      new Promise<void>((resolve) => {
        if (exited) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

/** Linux: CPU seconds (user + system) used so far by `pid` and its descendants, and by all `postgres` processes. */
export function cpuSeconds(rootPid: number): { tree: number; postgres: number } {
  const ticks = 100; // USER_HZ: 100 on every Linux architecture Node runs on
  const procs: { pid: number; ppid: number; comm: string; cpu: number }[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^[0-9]+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // exited meanwhile
    }
    const close = stat.lastIndexOf(')');
    const comm = stat.slice(stat.indexOf('(') + 1, close);
    const fields = stat.slice(close + 2).split(' '); // fields[0] is field 3 (state)
    procs.push({
      pid: Number(entry),
      ppid: Number(fields[1]),
      comm,
      cpu: (Number(fields[11]) + Number(fields[12])) / ticks,
    });
  }
  const inTree = new Set([rootPid]);
  for (let grew = true; grew; ) {
    grew = false;
    for (const p of procs) {
      if (!inTree.has(p.pid) && inTree.has(p.ppid)) {
        inTree.add(p.pid);
        grew = true;
      }
    }
  }
  let tree = 0;
  let postgres = 0;
  for (const p of procs) {
    if (inTree.has(p.pid)) tree += p.cpu;
    if (p.comm === 'postgres') postgres += p.cpu;
  }
  return { tree, postgres };
}
