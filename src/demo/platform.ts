// The platform the demo talks to: the one `npm start` runs, or, when nothing answers, `npm start`'s own entry
// started here as a child process (and stopped at the end).
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
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

async function waitReady(baseUrl: string, timeoutMs: number, child?: ChildProcess): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child && child.exitCode !== null)
      throw new Error(`the platform exited (${child.exitCode}) while starting`);
    if (await answers(`${baseUrl}/readyz`, 200)) return;
    await sleep(250);
  }
  throw new Error(`${baseUrl}/readyz did not answer 200 within ${timeoutMs / 1000} s`);
}

/** Uses the platform at `baseUrl`, or starts `src/main.ts` (what `npm start` runs) when nothing answers there. */
export async function findOrStartPlatform(baseUrl: string, log: (line: string) => void): Promise<Platform> {
  if (await answers(`${baseUrl}/healthz`, 200)) {
    await waitReady(baseUrl, 30_000);
    return { baseUrl, started: false, stop: async () => {} };
  }
  const url = new URL(baseUrl);
  if (!LOCAL_HOSTS.has(url.hostname))
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
    detached: true,
  });
  closeSync(out);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    await waitReady(baseUrl, 120_000, child);
  } catch (error) {
    child.kill('SIGKILL');
    const tail = readFileSync(logFile, 'utf8').split('\n').slice(-15).join('\n');
    throw new Error(`${error instanceof Error ? error.message : error}\n${tail}`);
  }
  return {
    baseUrl,
    started: true,
    logFile,
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM'); // drains: requests in flight and jobs in progress finish
      const drained = await Promise.race([exited.then(() => true), sleep(20_000).then(() => false)]);
      if (!drained && child.pid) {
        try {
          process.kill(-child.pid, 'SIGKILL');
        } catch {}
        await exited;
      }
    },
  };
}
