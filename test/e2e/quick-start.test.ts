// The README's "Quick start for app developers", followed as written: its shell steps run in bash against a
// real server and worker, its receiver runs as `node receiver.mjs` would, and the first webhooks arrive verified.
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, expect, it, vi } from 'vitest';
import { ADMIN_TOKEN, usePlatform } from '../helpers/platform.ts';
import { freePort } from '../helpers/redis-server.ts';

const platform = usePlatform({ workers: true });
const repository = fileURLToPath(new URL('../..', import.meta.url));
const readme = readFileSync(join(repository, 'README.md'), 'utf8');
const children: ChildProcess[] = [];
let folder: string | undefined;

afterAll(async () => {
  for (const child of children) {
    if (child.exitCode !== null || child.signalCode !== null) continue;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  }
  if (folder) await rm(folder, { recursive: true, force: true });
});

/** The quick start's code blocks, in order: the set-up shell, the receiver, the cardholder and purchase shell. */
function quickStart() {
  const start = readme.indexOf('## Quick start for app developers');
  expect(start, 'a quick start section').toBeGreaterThan(0);
  const section = readme.slice(start, readme.indexOf('\n## ', start + 1));
  const blocks = [...section.matchAll(/```(sh|js)\n([\s\S]*?)```/g)].map((match) => ({
    lang: match[1],
    code: match[2] ?? '',
  }));
  expect(blocks.map((block) => block.lang)).toEqual(['sh', 'js', 'sh']);
  return { setUp: blocks[0]!.code, receiver: blocks[1]!.code, purchase: blocks[2]!.code };
}

/** Collects a child's output as it comes. */
function output(child: ChildProcess): { text: () => string } {
  let text = '';
  child.stdout?.on('data', (chunk) => {
    text += chunk;
  });
  child.stderr?.on('data', (chunk) => {
    text += chunk;
  });
  return { text: () => text };
}

const listening = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });

it("the README's quick start brings the app its first verified webhooks", async () => {
  const steps = quickStart();
  const api = (await platform.listen()).replace('http://', '');
  const port = await freePort();
  const pointed = (code: string) =>
    code.replaceAll('localhost:3000', api).replaceAll('localhost:4000', `127.0.0.1:${port}`);

  // A folder like the reader's checkout: the `.env.local` npm start generated (with the operator's token) and
  // the installed packages.
  folder = await mkdtemp(join(tmpdir(), 'cardlink-quick-start-'));
  await writeFile(join(folder, '.env.local'), `ADMIN_TOKEN=${ADMIN_TOKEN}\n`);
  await symlink(join(repository, 'node_modules'), join(folder, 'node_modules'), 'dir');

  // Steps 1–3 and 5 share one shell, as in the reader's second terminal; it waits while the receiver starts.
  const shell = spawn(
    'bash',
    ['-c', `set -euo pipefail\n${pointed(steps.setUp)}\nread -r _\n${pointed(steps.purchase)}`],
    {
      cwd: folder,
      env: { PATH: process.env.PATH, HOME: folder },
      stdio: ['pipe', 'pipe', 'pipe'],
    },
  );
  children.push(shell);
  const terminal = output(shell);
  const exited = new Promise<number | null>((resolve) => shell.once('exit', resolve));

  const secret = await vi.waitFor(
    () => {
      const found = /^WEBHOOK_SECRET=(whsec_\S+)$/m.exec(terminal.text());
      if (!found) throw new Error(`no WEBHOOK_SECRET yet:\n${terminal.text()}`);
      // Step 3's answer: the trigger is live.
      expect(terminal.text()).toMatch(/"object":"trigger".*"status":"active"/);
      return found[1]!;
    },
    { timeout: 30_000, interval: 100 },
  );

  // Step 4: the receiver, saved as receiver.mjs in the checkout.
  await writeFile(join(folder, 'receiver.mjs'), steps.receiver.replace('.listen(4000)', `.listen(${port})`));
  const receiver = spawn(process.execPath, ['receiver.mjs'], {
    cwd: folder,
    env: { PATH: process.env.PATH, WEBHOOK_SECRET: secret },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(receiver);
  const printed = output(receiver);
  await vi.waitFor(async () => expect(await listening(port)).toBe(true), { timeout: 15_000 });

  shell.stdin?.end('go\n');
  expect(await exited, terminal.text()).toBe(0);
  expect(terminal.text()).toMatch(/"status":"accepted","actions":1/);

  await vi.waitFor(
    () => {
      expect(printed.text()).toMatch(/^dlv_\S+ grant\.created /m);
      expect(printed.text()).toMatch(/^dlv_\S+ cashback\.pending .*"amount":47/m);
    },
    { timeout: 30_000, interval: 100 },
  );
  // In the order the section tells: the connection first, then the purchase.
  expect(printed.text().indexOf(' grant.created ')).toBeLessThan(
    printed.text().indexOf(' cashback.pending '),
  );
});
