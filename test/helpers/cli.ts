import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll } from 'vitest';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const BIN = `${ROOT}src/cli/bin.js`;

// Whatever is still running when the test file ends (it ignored its SIGTERM) is killed: nothing outlives it.
const running = new Set<ChildProcess>();
afterAll(() => {
  for (const child of running) child.kill('SIGKILL');
});

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs `cardlink <args>` (the package's bin, as `npx cardlink` does) in a process of its own with only `env`
 * (plus PATH and HOME) and waits for it to exit (Node sends it SIGTERM after `timeoutMs`, default a minute, and
 * it stops what it started). `cwd` defaults to a directory with no `.env.local`, so the configuration is
 * exactly `env`.
 */
export function runCli(
  args: string[],
  options: {
    env?: Record<string, string>;
    cwd?: string;
    command?: string[];
    timeoutMs?: number;
    /** Sends it `signal` once what it printed satisfies `when` (an interruption, as a user would). */
    interrupt?: { when: (stdout: string, stderr: string) => boolean; signal: NodeJS.Signals };
  } = {},
): Promise<CliRun> {
  const [command, ...prefix] = options.command ?? [process.execPath, BIN];
  return new Promise((resolve, reject) => {
    const child = spawn(command!, [...prefix, ...args], {
      cwd: options.cwd ?? '/tmp',
      env: { PATH: process.env.PATH, HOME: process.env.HOME, ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: options.timeoutMs ?? 60_000,
      killSignal: 'SIGTERM',
    });
    running.add(child);
    let stdout = '';
    let stderr = '';
    let interrupted = false;
    const interrupt = () => {
      if (options.interrupt && !interrupted && options.interrupt.when(stdout, stderr)) {
        interrupted = true;
        child.kill(options.interrupt.signal);
      }
    };
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
      interrupt();
    });
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
      interrupt();
    });
    child.on('error', reject);
    child.on('exit', (code) => {
      running.delete(child);
      resolve({ code, stdout, stderr });
    });
  });
}
