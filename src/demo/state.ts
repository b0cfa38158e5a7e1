// What the platform showed the demo once (processor and app secrets), kept so a re-run can use the same
// processor and apps: a git-ignored JSON file beside .env.local, readable by its owner only, per platform URL.
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
  readonly #baseUrl: string;
  readonly #all: StateFile;

  constructor(file: string, baseUrl: string) {
    this.#file = file;
    this.#baseUrl = baseUrl;
    this.#all = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as StateFile) : {};
  }

  get platform(): PlatformState {
    this.#all[this.#baseUrl] ??= { apps: {} };
    return this.#all[this.#baseUrl]!;
  }

  save(): void {
    writeFileSync(this.#file, `${JSON.stringify(this.#all, null, 2)}\n`, { mode: 0o600 });
  }
}
