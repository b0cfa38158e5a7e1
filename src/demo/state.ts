// What the platform showed the demo once (processor and app secrets), kept so a re-run can use the same
// processor and apps: a git-ignored JSON file beside .env.local, readable by its owner only, per platform (its
// OAuth issuer, PUBLIC_URL: the same platform whichever address the demo reached it by).
import { chmodSync, existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import type { ProcessorCredentials } from '../simulator/sign.ts';
import type { AppKey } from './scene.ts';

export interface AppCredentials {
  id: string;
  clientId: string;
  clientSecret: string;
  webhookSecret: string;
}

export interface PlatformState {
  processor?: ProcessorCredentials;
  apps: Partial<Record<AppKey, AppCredentials>>;
}

type StateFile = Record<string, PlatformState>;

export class DemoState {
  readonly #file: string;
  readonly #platform: string;
  readonly #all: StateFile;

  constructor(file: string, platform: string) {
    this.#file = file;
    this.#platform = platform;
    this.#all = existsSync(file) ? readState(file) : {};
  }

  get platform(): PlatformState {
    this.#all[this.#platform] ??= { apps: {} };
    return this.#all[this.#platform]!;
  }

  /** Atomically (a temp file beside it renamed over it), so an interrupted save leaves the old file whole. */
  save(): void {
    const temp = `${this.#file}.${process.pid}.tmp`;
    writeFileSync(temp, `${JSON.stringify(this.#all, null, 2)}\n`, { mode: 0o600 });
    // `mode` applies only to a new file, and the umask may narrow it: set it outright.
    chmodSync(temp, 0o600);
    renameSync(temp, this.#file);
  }
}

function readState(file: string): StateFile {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as StateFile;
  } catch (error) {
    throw new Error(
      `${file} is not valid JSON (${error instanceof Error ? error.message : error}): delete it and run the ` +
        'demo again; it then creates new apps and a new processor (the old ones stay, unused)',
    );
  }
}
