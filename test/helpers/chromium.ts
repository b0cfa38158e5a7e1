import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BrowserContext, type BrowserContextOptions, chromium } from 'playwright-core';

/** Debian's Chromium (`.ci/run` installs it); never a browser downloaded by Playwright. */
export const CHROMIUM_PATH = '/usr/bin/chromium';

const ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);

export interface OpenBrowser {
  context: BrowserContext;
  /** Every URL a page asked for; any not on loopback was refused before it left the machine. */
  requested: string[];
  /** The requested URLs whose host is not loopback. */
  outside: () => string[];
  close: () => Promise<void>;
}

const isLoopback = (url: string) => {
  if (url.startsWith('data:') || url.startsWith('blob:') || url === 'about:blank') return true;
  try {
    return LOOPBACK_HOSTS.has(new URL(url).hostname);
  } catch {
    return false;
  }
};

/**
 * Headless Chromium with a fresh profile (removed on close). Requests to anywhere but loopback are
 * recorded and aborted, so a page that reaches outside is seen by the test and never sends traffic.
 */
export async function openBrowser(options: BrowserContextOptions = {}): Promise<OpenBrowser> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(
      `No Chromium at ${CHROMIUM_PATH}: install Debian's (apt-get install chromium), as .ci/run does.`,
    );
  }
  const profile = await mkdtemp(join(tmpdir(), 'cardlink-chromium-'));
  let context: BrowserContext;
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM_PATH,
      headless: true,
      args: ARGS,
      ...options,
    });
  } catch (error) {
    await rm(profile, { recursive: true, force: true });
    throw error;
  }
  const requested: string[] = [];
  await context.route('**/*', (route) => {
    const url = route.request().url();
    requested.push(url);
    return isLoopback(url) ? route.continue() : route.abort('blockedbyclient');
  });
  return {
    context,
    requested,
    outside: () => requested.filter((url) => !isLoopback(url)),
    close: async () => {
      await context.close();
      await rm(profile, { recursive: true, force: true });
    },
  };
}
