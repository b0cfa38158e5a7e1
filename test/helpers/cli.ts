import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const BIN = `${ROOT}src/cli/bin.js`;

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs `cardlink <args>` (the package's bin, as `npx cardlink` does) in a process of its own with only `env`
 * (plus PATH and HOME) and waits for it to exit (SIGTERM after `timeoutMs`, default a minute). `cwd` defaults to a directory with no `.env.local`, so the
 * configuration is exactly `env`.
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
    });
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
    // Past its time it is asked to stop (it stops what it started), then killed: nothing outlives the test.
    const timeoutMs = options.timeoutMs ?? 60_000;
    const ask = setTimeout(() => child.kill('SIGTERM'), timeoutMs);
    const kill = setTimeout(() => child.kill('SIGKILL'), timeoutMs + 25_000);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(ask);
      clearTimeout(kill);
      resolve({ code, stdout, stderr });
    });
  });
}
