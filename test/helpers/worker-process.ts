import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll } from 'vitest';
import type { TestPlatform } from './platform.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));

export interface WorkerProcess {
  child: ChildProcess;
  output: () => string;
  /** The exit code, or the signal that ended it. */
  exited: Promise<number | NodeJS.Signals | null>;
  /** SIGKILL: no drain, jobs in progress are cut off. */
  kill: () => Promise<void>;
}

/**
 * Runs `workers/main.ts` as a process of its own over the platform's database, Redis and queue prefix (its
 * environment, plus `env`); every one started is killed after the file.
 */
export function useWorkerProcesses(platform: TestPlatform) {
  const started: WorkerProcess[] = [];
  afterAll(async () => {
    await Promise.all(started.map((worker) => worker.kill()));
  });
  return {
    start(env: Record<string, string> = {}): WorkerProcess {
      let output = '';
      const child = spawn(process.execPath, ['--import', 'tsx', 'workers/main.ts'], {
        cwd: root,
        env: { PATH: process.env.PATH, HOME: process.env.HOME, ...platform.env, LOG_LEVEL: 'warn', ...env },
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
      const worker: WorkerProcess = {
        child,
        output: () => output,
        exited,
        kill: async () => {
          if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
          await exited;
        },
      };
      started.push(worker);
      return worker;
    },
  };
}
