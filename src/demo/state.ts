// What the platform showed the demo once (processor and app secrets), kept so a re-run can use the same
// processor and apps: a git-ignored JSON file beside .env.local, readable by its owner only, per platform (its
// OAuth issuer, PUBLIC_URL: the same platform whichever address the demo reached it by).
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
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
    this.#all = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as StateFile) : {};
  }

  get platform(): PlatformState {
    this.#all[this.#platform] ??= { apps: {} };
    return this.#all[this.#platform]!;
  }

  save(): void {
    writeFileSync(this.#file, `${JSON.stringify(this.#all, null, 2)}\n`, { mode: 0o600 });
  }
}
