import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { usePlatform } from '../helpers/platform.ts';
import { createTestProcessor } from '../ingest/fixtures.ts';

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
    .filter((line) => !/^API_KEY=.*SECRET=/.test(line)) // the placeholders; the test sets both
    .join('\n');
}

describe("the README's examples", () => {
  it('push an event, then link a card token, signed as the README shows', async () => {
    const base = await platform.listen();
    const processor = await createTestProcessor(platform, 'Readme Processor');
    const script = [
      'set -euo pipefail',
      block('/v1/events -H', base),
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
});
