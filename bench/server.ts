import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { closeSync, openSync, readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import postgres from 'postgres';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** The commit measured (short hash), `+changes` when src or workers differ from it. */
export function gitCommit(): string {
  try {
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], {
      cwd: ROOT,
      encoding: 'utf8',
    }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'src', 'workers'], {
      cwd: ROOT,
      encoding: 'utf8',
    }).trim();
    return dirty ? `${head}+changes` : head;
  } catch {
    return 'unknown';
  }
}

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

export interface RunningProcess {
  pid: number;
  /** Resolves once the process has exited; its exit code (null when killed by a signal). */
  exited: Promise<number | null>;
  /** SIGTERM, then waits for the exit (SIGKILL after `graceMs`). */
  stop: (graceMs?: number) => Promise<void>;
}

/**
 * Starts `node <nodeArgs> --import tsx <script> <args>` (one process: signals and `--cpu-prof` reach it directly),
 * its output appended to `logFile`, killed when this process exits. `ipc` opens a message channel to it.
 */
export function startNodeProcess(
  script: string,
  options: {
    args?: string[];
    env: Record<string, string>;
    logFile: string;
    nodeArgs?: string[];
    ipc?: boolean;
  },
): RunningProcess & { child: ChildProcess } {
  const log = openSync(options.logFile, 'a');
  const child = spawn(
    process.execPath,
    [...(options.nodeArgs ?? []), '--import', 'tsx', script, ...(options.args ?? [])],
    {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', ...options.env },
      stdio: options.ipc ? ['ignore', log, log, 'ipc'] : ['ignore', log, log],
    },
  );
  closeSync(log);
  let done = false;
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => {
      done = true;
      resolve(code);
    }),
  );
  const killChild = () => {
    if (!done) child.kill('SIGKILL');
  };
  process.once('exit', killChild);
  return {
    child,
    pid: child.pid ?? 0,
    exited,
    stop: async (graceMs = 15_000) => {
      if (done) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
      process.off('exit', killChild);
    },
  };
}

/**
 * Linux: CPU seconds (user + system) used so far by `pid` and its descendants, by all `postgres` processes, and
 * by the `redis-server` listening on `redisPort` (tests start others on other ports).
 */
export function cpuSeconds(
  rootPid: number,
  redisPort = 6379,
): { tree: number; postgres: number; redis: number } {
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
  let redis = 0;
  for (const p of procs) {
    if (inTree.has(p.pid)) tree += p.cpu;
    if (p.comm === 'postgres') postgres += p.cpu;
    if (p.comm === 'redis-server' && redisListensOn(p.pid, redisPort)) redis += p.cpu;
  }
  return { tree, postgres, redis };
}

/** Linux: CPU seconds (user + system) used so far by these processes (those gone meanwhile count 0). */
export function processCpuSeconds(pids: readonly number[]): number {
  let total = 0;
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      total += (Number(fields[11]) + Number(fields[12])) / 100;
    } catch {}
  }
  return total;
}

/** Whether a redis-server's title (`redis-server 127.0.0.1:6379`) names the port. */
function redisListensOn(pid: number, port: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(`:${port}`);
  } catch {
    return false;
  }
}
