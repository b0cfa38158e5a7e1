import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/helpers/global-setup.ts'],
    pool: 'forks',
    // Test files mostly wait on Postgres, Redis, Chromium and child processes, so running more files than
    // cores pays off: on 2 cores, 3 at a time took about half the time of vitest's default (cores - 1).
    maxWorkers: Math.max(3, availableParallelism() - 1),
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Conditions are waited for, not times: a loaded machine (CI shares its cores) may take longer than the
    // 1 s default to reach one. vi.waitFor has no global option: its calls pass the same timeout.
    expect: { poll: { timeout: 10_000 } },
    env: { NODE_ENV: 'test' },
  },
});
