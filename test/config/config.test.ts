import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, parseConfig } from '../../src/config.ts';

const secrets = {
  ADMIN_TOKEN: 'a'.repeat(32),
  CARD_FINGERPRINT_KEY: 'b'.repeat(32),
  SECRETS_KEY: 'c'.repeat(32),
};

function problemsOf(env: Record<string, string | undefined>): string[] {
  try {
    parseConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
}

// Directories the tests write .env.local into (generated secrets): removed after each test.
const dirs: string[] = [];
const tempDir = () => {
  const dir = mkdtempSync(join(tmpdir(), 'cardlink-cfg-'));
  dirs.push(dir);
  return dir;
};
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('configuration', () => {
  it('has defaults that work on a fresh machine', () => {
    const config = parseConfig(secrets);
    expect(config).toMatchObject({
      port: 3000,
      databaseUrl: 'postgres://127.0.0.1:5432/cardlink',
      redisUrl: 'redis://127.0.0.1:6379',
      publicUrl: 'http://localhost:3000',
      allowPrivateWebhooks: false,
      nodeEnv: 'development',
    });
    expect(parseConfig({ ...secrets, PORT: '8080' }).publicUrl).toBe('http://localhost:8080');
    expect(parseConfig({ ...secrets, PUBLIC_URL: 'https://cl.example.com/' }).publicUrl).toBe(
      'https://cl.example.com',
    );
  });

  it('tunes the ingest micro-batcher from optional variables, with the measured defaults', () => {
    expect(parseConfig(secrets).ingestBatcher).toEqual({
      maxInFlight: 4,
      maxEvents: 5000,
      parallelFrom: 6,
      maxWaitMs: 5,
    });
    expect(
      parseConfig({ ...secrets, INGEST_MAX_IN_FLIGHT: '2', INGEST_MAX_WAIT_MS: '0' }).ingestBatcher,
    ).toMatchObject({ maxInFlight: 2, maxWaitMs: 0 });
    const problems = problemsOf({ ...secrets, INGEST_MAX_IN_FLIGHT: '9', INGEST_PARALLEL_FROM: '0' });
    expect(problems.map((p) => p.split(':')[0]).sort()).toEqual([
      'INGEST_MAX_IN_FLIGHT',
      'INGEST_PARALLEL_FROM',
    ]);
  });

  it('caps the backtests a process runs at once, 2 unless told', () => {
    expect(parseConfig(secrets).backtestMaxConcurrent).toBe(2);
    expect(parseConfig({ ...secrets, BACKTEST_MAX_CONCURRENT: '1' }).backtestMaxConcurrent).toBe(1);
    for (const value of ['0', '9', 'two'])
      expect(problemsOf({ ...secrets, BACKTEST_MAX_CONCURRENT: value }).map((p) => p.split(':')[0])).toEqual([
        'BACKTEST_MAX_CONCURRENT',
      ]);
  });

  it('names every bad or missing variable at once', () => {
    const problems = problemsOf({
      NODE_ENV: 'production',
      PORT: 'eighty',
      DATABASE_URL: 'mysql://x',
      ALLOW_PRIVATE_WEBHOOKS: 'yes',
      ADMIN_TOKEN: 'short',
    });
    const named = problems.map((p) => p.split(':')[0]);
    expect(named).toEqual(
      expect.arrayContaining([
        'PORT',
        'DATABASE_URL',
        'ALLOW_PRIVATE_WEBHOOKS',
        'ADMIN_TOKEN',
        'CARD_FINGERPRINT_KEY',
        'SECRETS_KEY',
      ]),
    );
    expect(problems.join('\n')).toContain('CARD_FINGERPRINT_KEY: is required in production');
  });

  it('requires the secrets in production and never writes a file there', () => {
    const dir = tempDir();
    expect(() => loadConfig({ env: { NODE_ENV: 'production' }, cwd: dir })).toThrow(ConfigError);
    expect(() => statSync(join(dir, '.env.local'))).toThrow();
  });

  it('generates development secrets once into .env.local and reuses them on restart', () => {
    const dir = tempDir();
    const first = loadConfig({ env: {}, cwd: dir });
    expect(first.generated).toEqual(['ADMIN_TOKEN', 'CARD_FINGERPRINT_KEY', 'SECRETS_KEY']);
    expect(first.config.allowPrivateWebhooks).toBe(true);
    const file = join(dir, '.env.local');
    expect(statSync(file).mode & 0o777).toBe(0o600);

    const second = loadConfig({ env: {}, cwd: dir });
    expect(second.generated).toEqual([]);
    expect(second.config.adminToken).toBe(first.config.adminToken);
    expect(second.config.secretsKey).toBe(first.config.secretsKey);
    expect(readFileSync(file, 'utf8').match(/ADMIN_TOKEN=/g)).toHaveLength(1);

    const overridden = loadConfig({ env: { ADMIN_TOKEN: 'from-the-environment-0123456789' }, cwd: dir });
    expect(overridden.config.adminToken).toBe('from-the-environment-0123456789');
  });
});
