import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DemoState } from '../../src/demo/state.ts';

describe('the demo state file', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'cardlink-demo-state-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('is kept readable by its owner only, even over a file others could read, and read back', () => {
    const file = join(dir, '.demo.local.json');
    writeFileSync(file, '{}\n', { mode: 0o644 });
    const state = new DemoState(file, 'http://localhost:3000');
    const processor = {
      id: 'prc_1',
      apiKey: 'key',
      signingSecret: 'whsec_x',
      stripeEndpointSecret: 'whsec_y',
    };
    state.platform.processor = processor;
    state.save();
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readdirSync(dir)).toEqual(['.demo.local.json']);
    expect(new DemoState(file, 'http://localhost:3000').platform.processor).toEqual(processor);
    expect(new DemoState(file, 'http://elsewhere').platform).toEqual({ apps: {} });
  });

  it('names the file and the way out when it is not JSON', () => {
    const file = join(dir, 'broken.json');
    writeFileSync(file, '{"http://localhost:3000": {', { mode: 0o600 });
    expect(() => new DemoState(file, 'http://localhost:3000')).toThrow(
      new RegExp(`${file.replace(/[.]/g, '\\.')} is not valid JSON.*delete it`),
    );
  });
});
