import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));

describe('installing', () => {
  it('every dependency with an install script is settled in allowScripts, so npm ci warns of none', async () => {
    const { stdout } = await promisify(execFile)('npm', ['install-scripts', 'ls', '--json'], { cwd: root });
    expect(JSON.parse(stdout)).toEqual({ allowScripts: [] });
  });

  it('msgpackr keeps its native decoder without msgpackr-extract install script (prebuilt package)', async () => {
    const msgpackr = await import('msgpackr');
    msgpackr.unpack(msgpackr.pack({ name: 'maintenance' }));
    expect(msgpackr.isNativeAccelerationEnabled).toBe(true);
  });
});
