// The README's webhook receiver, run as the README shows it, receives and verifies a real delivery.
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, expect, it, vi } from 'vitest';
import { rewardsScene } from '../actions/support.ts';
import { usePlatform } from '../helpers/platform.ts';
import { freePort } from '../helpers/redis-server.ts';
import { authorization } from '../ingest/fixtures.ts';

const platform = usePlatform({ workers: true });
const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
let receiver: ChildProcess | undefined;

afterAll(async () => {
  if (receiver && receiver.exitCode === null) {
    const exited = new Promise((resolve) => receiver!.once('exit', resolve));
    receiver.kill('SIGKILL');
    await exited;
  }
});

it("the README's receiver verifies the webhook of a purchase, as an app would run it", async () => {
  const blocks = [...readme.matchAll(/```js\n([\s\S]*?)```/g)].map((match) => match[1] ?? '');
  const code = blocks.find((text) => text.includes("from 'standardwebhooks'"));
  expect(code, 'a js block using standardwebhooks').toBeDefined();
  const port = await freePort();
  expect(code).toContain('.listen(4000)');

  const scene = await rewardsScene(platform, { webhookUrl: `http://127.0.0.1:${port}/hooks` });
  let output = '';
  receiver = spawn(
    process.execPath,
    ['--input-type=module', '-e', code!.replace('.listen(4000)', `.listen(${port})`)],
    {
      cwd: fileURLToPath(new URL('../..', import.meta.url)),
      env: { PATH: process.env.PATH, WEBHOOK_SECRET: scene.app.webhook_secret },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  receiver.stdout?.on('data', (chunk) => {
    output += chunk;
  });
  receiver.stderr?.on('data', (chunk) => {
    output += chunk;
  });

  await scene.createTrigger({ name: 'Cashback', action: { type: 'cashback', percent_bps: 1000 } });
  const holder = await scene.cardholder();
  const [result] = await scene.send(authorization({ pan: holder.pan, amount: 2_500 }));
  expect(result!.actions).toBe(1);
  await vi.waitFor(() => expect(output).toMatch(/^dlv_\S+ cashback\.pending /m), { timeout: 20_000 });
  // The delivery succeeded: the receiver answered 204 after verifying it.
  await vi.waitFor(async () => {
    const list = await platform.request('GET', '/v1/deliveries?status=succeeded', { token: scene.token });
    expect(list.body.data.map((d: { type: string }) => d.type)).toContain('cashback.pending');
  });
});
