import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { usePlatform } from '../helpers/platform.ts';
import { createTestProcessor } from '../ingest/fixtures.ts';
import { appToken, registerApp } from '../oauth/support.ts';

const platform = usePlatform();
const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
const shellBlocks = [...readme.matchAll(/```sh\n([\s\S]*?)```/g)].map((match) => match[1] ?? '');

/** The README's shell block that contains `marker`, pointed at `base` instead of localhost:3000. */
function block(marker: string, base: string): string {
  const found = shellBlocks.filter((text) => text.includes(marker));
  expect(found, `one README block with ${marker}`).toHaveLength(1);
  return (found[0] ?? '')
    .replaceAll('localhost:3000', base.replace('http://', ''))
    .split('\n')
    .filter((line) => !/^API_KEY=.*SECRET=/.test(line) && !/^APP_ID=/.test(line)) // placeholders the test sets
    .join('\n');
}

describe("the README's examples", () => {
  it('push an event, then link a card token, signed as the README shows', async () => {
    const base = await platform.listen();
    const processor = await createTestProcessor(platform, 'Readme Processor');
    const script = [
      'set -euo pipefail',
      block('"id":"auth-0001"', base),
      'echo',
      block('/v1/card_tokens', base),
    ].join('\n');
    const { stdout } = await promisify(execFile)('bash', ['-c', script], {
      env: { PATH: process.env.PATH, API_KEY: processor.apiKey, SECRET: processor.signingSecret },
    });
    const [events, cardToken] = stdout.trim().split('\n');
    expect(JSON.parse(events ?? '')).toMatchObject({ results: [{ id: 'auth-0001', status: 'accepted' }] });
    expect(JSON.parse(cardToken ?? '')).toMatchObject({ object: 'card_token', token: 'ic_1Nx4pQ2eZvKYlo2C' });
  });

  it('a cardholder connects the app and a purchase fires its trigger, as the end-to-end example shows', async () => {
    const base = await platform.listen();
    const processor = await createTestProcessor(platform, 'Readme Processor 2');
    const app = await registerApp(platform, { name: 'Readme Rewards', scopes: ['transactions', 'cashback'] });
    const script = [
      'set -euo pipefail',
      block('"id":"auth-0001"', base),
      // Each answer on a line of its own (curl prints none after it).
      block('auth-0002', base).replace(/^curl -s/gm, 'echo; curl -s'),
    ].join('\n');
    const { stdout } = await promisify(execFile)('bash', ['-c', script], {
      env: {
        PATH: process.env.PATH,
        API_KEY: processor.apiKey,
        SECRET: processor.signingSecret,
        APP_ID: app.id,
        TOKEN: await appToken(platform, app),
      },
    });
    const lines = stdout
      .trim()
      .split('\n')
      .filter((line) => line.startsWith('{'));
    const pushed = lines
      .map((line) => JSON.parse(line))
      .find((body) => body.results?.[0]?.id === 'auth-0002');
    expect(pushed).toMatchObject({ results: [{ id: 'auth-0002', status: 'accepted', actions: 1 }] });
    const [stats, backtest, activity] = lines.slice(-3).map((line) => JSON.parse(line));
    expect(stats).toMatchObject({ fires: 1, reward: { amount: 47, currency: 'USD' } });
    expect(backtest).toMatchObject({ would_fire: 1 });
    expect(activity.data[0]).toMatchObject({ fired: [{ action: 'cashback' }] });
  });
});
