import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** `npm run bench -- <args>` as the npm script runs it; its exit code and output. */
function bench(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--expose-gc', '--import', 'tsx', 'bench/run.ts', ...args],
      { cwd: ROOT, env: { PATH: process.env.PATH ?? '' }, timeout: 60_000 },
      (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

let dir: string | null = null;
afterEach(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
  dir = null;
});

describe('npm run bench', () => {
  it('records a scenario that fails, writes the report anyway, and exits 1', async () => {
    dir = await mkdtemp(join(tmpdir(), 'cardlink-bench-run-'));
    const result = await bench(['--only=dispatch', '--dispatch=--no-such-flag', `--results=${dir}`]);
    expect(result.code).toBe(1);
    const files = (await readdir(dir)).sort();
    expect(files).toHaveLength(2);
    expect(files[0]).toMatch(/^\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d-\d{3}Z\.json$/);
    expect(files[1]).toBe(files[0]!.replace(/json$/, 'md'));
    const json = JSON.parse(await readFile(join(dir, files[0]!), 'utf8'));
    expect(json.scenarios.dispatch).toMatchObject({
      args: ['--only=throughput', '--repeat=1', '--actions=1000', '--no-such-flag'],
      error: expect.stringContaining('unknown flag(s): --no-such-flag'),
      result: null,
    });
    expect(json.machine.cpus).toBeGreaterThan(0);
    expect(json.machine.node).toBe(process.version);
    const markdown = await readFile(join(dir, files[1]!), 'utf8');
    expect(markdown).toContain('| dispatch |');
    expect(markdown).toContain('failed: Error: unknown flag(s): --no-such-flag');
    expect(result.stdout).toContain(markdown.split('\n')[0]);
  });

  it('names the scenarios when asked for one that does not exist', async () => {
    const result = await bench(['nonsense']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('npm run bench -- <ingest|rules|dispatch|e2e> [flags]');
    const unknown = await bench(['--only=nonsense']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('--only: no scenario nonsense');
  });
});
