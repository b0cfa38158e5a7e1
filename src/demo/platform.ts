// The platform the demo talks to: the one `npm start` runs, or, when nothing answers, `npm start`'s own entry
// started here as a child process (and stopped at the end).
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const LOCAL_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]', '::1']);

export interface Platform {
  baseUrl: string;
  /** Started by the demo (else it was already running). */
  started: boolean;
  logFile?: string;
  stop(): Promise<void>;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function answers(url: string, expect: number): Promise<boolean> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
    await res.body?.cancel();
    return res.status === expect;
  } catch {
    return false;
  }
}

async function waitReady(
  baseUrl: string,
  timeoutMs: number,
  child?: ChildProcess,
  signal?: AbortSignal,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (signal?.aborted) throw new Error('interrupted while waiting for the platform');
    if (child && child.exitCode !== null)
      throw new Error(`the platform exited (${child.exitCode}) while starting`);
    if (await answers(`${baseUrl}/readyz`, 200)) return;
    await sleep(250);
  }
  throw new Error(`${baseUrl}/readyz did not answer 200 within ${timeoutMs / 1000} s`);
}

/**
 * Uses the platform at `baseUrl`, or (when `start` and the address is this machine's) starts `src/main.ts`,
 * what `npm start` runs, when nothing answers there.
 */
export async function findOrStartPlatform(
  baseUrl: string,
  log: (line: string) => void,
  options: {
    /** Start the platform when nothing answers (default), or fail. */
    start?: boolean;
    signal?: AbortSignal;
    /** Called as soon as the child is spawned, before it is ready, so an interruption can stop it. */
    onSpawn?: (stop: () => Promise<void>) => void;
  } = {},
): Promise<Platform> {
  const { start = true, signal, onSpawn } = options;
  if (await answers(`${baseUrl}/healthz`, 200)) {
    await waitReady(baseUrl, 30_000, undefined, signal);
    log(`using the platform that answers at ${baseUrl}`);
    return { baseUrl, started: false, stop: async () => {} };
  }
  const url = new URL(baseUrl);
  if (!start || !LOCAL_HOSTS.has(url.hostname))
    throw new Error(`nothing answers at ${baseUrl}/healthz (start the platform there, or give --url)`);
  const logFile = join(tmpdir(), `cardlink-demo-platform-${Date.now()}.log`);
  log(
    `nothing answers at ${baseUrl}: starting the platform (src/main.ts, as npm start does); its log: ${logFile}`,
  );
  const out = openSync(logFile, 'a');
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: ROOT,
    env: { ...process.env, ...(url.port ? { PORT: url.port } : {}) },
    stdio: ['ignore', out, out],
  });
  closeSync(out);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let stopping: Promise<void> | undefined;
  // Once, however many ask (an interruption and the demo's own ending may both).
  const stop = () => {
    stopping ??= (async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM'); // drains: requests in flight and jobs in progress finish
      const drained = await Promise.race([exited.then(() => true), sleep(20_000).then(() => false)]);
      if (!drained) {
        child.kill('SIGKILL');
        await exited;
      }
      // A clean stop (or one asked for before it set up its own) leaves nothing behind; after trouble the log
      // stays for a look.
      if (drained && (child.exitCode === 0 || child.signalCode === 'SIGTERM'))
        rmSync(logFile, { force: true });
    })();
    return stopping;
  };
  onSpawn?.(stop);
  try {
    await waitReady(baseUrl, 120_000, child, signal);
  } catch (error) {
    if (signal?.aborted) {
      await stop();
      throw error;
    }
    child.kill('SIGKILL');
    const tail = readFileSync(logFile, 'utf8').split('\n').slice(-15).join('\n');
    throw new Error(`${error instanceof Error ? error.message : error}\n${tail}`);
  }
  return { baseUrl, started: true, logFile, stop };
}
