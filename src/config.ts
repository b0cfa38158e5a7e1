import { randomBytes } from 'node:crypto';
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseEnv } from 'node:util';
import { z } from 'zod';
import { parseDurations } from './lib/durations.ts';

/** Secrets that development generates once (into .env.local) and production must be given. */
const GENERATED_SECRETS = ['ADMIN_TOKEN', 'CARD_FINGERPRINT_KEY', 'SECRETS_KEY'] as const;

const booleanString = z
  .enum(['true', 'false', '1', '0'], { message: 'must be "true" or "false"' })
  .transform((value) => value === 'true' || value === '1');

const secret = (minLength: number) =>
  z
    .string({ message: 'is required in production' })
    .min(minLength, `must be at least ${minLength} characters`);

const configSchema = z
  .object({
    NODE_ENV: z.enum(['development', 'test', 'production']).default('development'),
    PORT: z.coerce.number().int().min(0).max(65535).default(3000),
    HOST: z.string().min(1).default('0.0.0.0'),
    DATABASE_URL: z
      .string()
      .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL')
      .default('postgres://127.0.0.1:5432/cardlink'),
    // Drizzle's statements prepared once per connection (parsed and planned once, one round trip each), as
    // postgres.js's own tagged templates are. Off: every statement parsed, described and planned on every run.
    // Measurements: bench/README.md (Dispatch).
    DATABASE_PREPARE_STATEMENTS: booleanString.default(true),
    REDIS_URL: z
      .string()
      .regex(/^rediss?:\/\//, 'must be a redis:// URL')
      .default('redis://127.0.0.1:6379'),
    PUBLIC_URL: z.url({ message: 'must be an absolute URL' }).optional(),
    ADMIN_TOKEN: secret(24),
    CARD_FINGERPRINT_KEY: secret(32),
    SECRETS_KEY: secret(32),
    ALLOW_PRIVATE_WEBHOOKS: booleanString.default(false),
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    QUEUE_PREFIX: z
      .string()
      .regex(/^[a-z0-9_-]+$/i, 'letters, digits, "_" and "-" only')
      .default('cardlink'),
    SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().min(0).default(10_000),
    CLIENT_SECRET_FAILURES_PER_IP: z.coerce.number().int().min(1).default(50),
    API_KEY_FAILURES_PER_IP: z.coerce.number().int().min(1).default(50),
    AUTH_FAILURE_WINDOW_SECONDS: z.coerce
      .number()
      .int()
      .min(1)
      .default(15 * 60),
    // How long a client secret or api key that passed its check lets its holder past those two limits.
    AUTH_KNOWN_CREDENTIAL_DAYS: z.coerce.number().int().min(1).default(30),
    LOGIN_FAILURES_PER_EMAIL: z.coerce.number().int().min(1).default(5),
    LOGIN_FAILURES_PER_IP: z.coerce.number().int().min(1).default(100),
    LOGIN_FAILURE_WINDOW_SECONDS: z.coerce
      .number()
      .int()
      .min(1)
      .default(15 * 60),
    ENROLLMENTS_PER_USER_PER_HOUR: z.coerce.number().int().min(1).default(20),
    ENROLL_REFUSALS_PER_USER_PER_DAY: z.coerce.number().int().min(1).default(10),
    SIGNUP_REFUSALS_PER_IP_PER_HOUR: z.coerce.number().int().min(1).default(20),
    // The ingest micro-batcher (src/ingest/batcher.ts): a few transactions overlap so Postgres works while one
    // waits for its commit, but a second opens only once enough events wait, so single-event requests share
    // transactions. At most 8 of the pool's 10 connections. Measurements: bench/README.md.
    INGEST_MAX_IN_FLIGHT: z.coerce.number().int().min(1).max(8).default(4),
    INGEST_MAX_EVENTS: z.coerce.number().int().min(1).default(5000),
    INGEST_PARALLEL_FROM: z.coerce.number().int().min(1).default(6),
    INGEST_MAX_WAIT_MS: z.coerce.number().int().min(0).default(5),
    // How long one trigger backtest may scan before it answers with what it scanned (it holds a pool connection).
    BACKTEST_TIME_LIMIT_MS: z.coerce.number().int().min(1).max(60_000).default(5_000),
    // Backtests one process runs at once: each holds a pool connection (10 in all) for up to the time limit.
    BACKTEST_MAX_CONCURRENT: z.coerce.number().int().min(1).max(8).default(2),
    // Webhook delivery (src/deliveries): the waits between attempts (Svix's schedule; tests compress it), jittered
    // ±20%; after the last, the delivery is failed.
    DELIVERY_RETRY_SCHEDULE: z
      .string()
      .default('5s,5m,30m,2h,5h,10h,10h')
      .transform((text, ctx) => {
        const parsed = parseDurations(text);
        if (parsed.ok) return parsed.ms;
        ctx.addIssue({
          code: 'custom',
          message: `"${parsed.bad}" is not a duration like 5s, 5m, 2h or 50ms`,
        });
        return z.NEVER;
      }),
    DELIVERY_TIMEOUT_MS: z.coerce.number().int().min(1).default(10_000),
    // Deliveries one worker process sends at once, and at most this many to any one app's endpoint (across
    // every worker), so a slow endpoint holds a few slots, never all of them.
    DELIVERY_CONCURRENCY: z.coerce.number().int().min(1).default(100),
    DELIVERY_PER_ENDPOINT_CONCURRENCY: z.coerce.number().int().min(1).default(10),
    // An endpoint failing every attempt for this long is disabled until the operator enables it again.
    WEBHOOK_DISABLE_AFTER_DAYS: z.coerce.number().int().min(1).default(5),
    // Actions one worker process performs at once: each holds a pool connection for its transaction.
    ACTIONS_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(8),
    // How often the relay looks for work Redis lost, and how old work must be before it counts as lost.
    DISPATCH_RELAY_INTERVAL_MS: z.coerce.number().int().min(10).default(1000),
    DISPATCH_RELAY_GRACE_MS: z.coerce.number().int().min(0).default(5000),
    // A job a dispatch worker took is its own while the worker renews this lock; a dead worker's jobs are taken up
    // again within about twice this (BullMQ's stalled-job check).
    DISPATCH_JOB_LOCK_MS: z.coerce.number().int().min(1000).default(30_000),
    // An authorization that never clears: its pending points and cashback expire this many days after it arrived.
    REWARD_AUTHORIZATION_EXPIRY_DAYS: z.coerce.number().int().min(1).max(365).default(30),
  })
  .transform((env) => ({
    nodeEnv: env.NODE_ENV,
    port: env.PORT,
    host: env.HOST,
    databaseUrl: env.DATABASE_URL,
    databasePrepareStatements: env.DATABASE_PREPARE_STATEMENTS,
    redisUrl: env.REDIS_URL,
    publicUrl: (env.PUBLIC_URL ?? `http://localhost:${env.PORT}`).replace(/\/+$/, ''),
    adminToken: env.ADMIN_TOKEN,
    cardFingerprintKey: env.CARD_FINGERPRINT_KEY,
    secretsKey: env.SECRETS_KEY,
    allowPrivateWebhooks: env.ALLOW_PRIVATE_WEBHOOKS,
    logLevel: env.LOG_LEVEL,
    queuePrefix: env.QUEUE_PREFIX,
    shutdownTimeoutMs: env.SHUTDOWN_TIMEOUT_MS,
    limits: {
      clientSecretFailuresPerIp: env.CLIENT_SECRET_FAILURES_PER_IP,
      apiKeyFailuresPerIp: env.API_KEY_FAILURES_PER_IP,
      authFailureWindowSeconds: env.AUTH_FAILURE_WINDOW_SECONDS,
      knownCredentialSeconds: env.AUTH_KNOWN_CREDENTIAL_DAYS * 24 * 60 * 60,
      loginFailuresPerEmail: env.LOGIN_FAILURES_PER_EMAIL,
      loginFailuresPerIp: env.LOGIN_FAILURES_PER_IP,
      loginFailureWindowSeconds: env.LOGIN_FAILURE_WINDOW_SECONDS,
      enrollmentsPerUserPerHour: env.ENROLLMENTS_PER_USER_PER_HOUR,
      enrollRefusalsPerUserPerDay: env.ENROLL_REFUSALS_PER_USER_PER_DAY,
      signupRefusalsPerIpPerHour: env.SIGNUP_REFUSALS_PER_IP_PER_HOUR,
    },
    ingestBatcher: {
      maxInFlight: env.INGEST_MAX_IN_FLIGHT,
      maxEvents: env.INGEST_MAX_EVENTS,
      parallelFrom: env.INGEST_PARALLEL_FROM,
      maxWaitMs: env.INGEST_MAX_WAIT_MS,
    },
    backtestTimeLimitMs: env.BACKTEST_TIME_LIMIT_MS,
    backtestMaxConcurrent: env.BACKTEST_MAX_CONCURRENT,
    deliveries: {
      retryScheduleMs: env.DELIVERY_RETRY_SCHEDULE,
      timeoutMs: env.DELIVERY_TIMEOUT_MS,
      concurrency: env.DELIVERY_CONCURRENCY,
      perEndpointConcurrency: env.DELIVERY_PER_ENDPOINT_CONCURRENCY,
      disableAfterMs: env.WEBHOOK_DISABLE_AFTER_DAYS * 24 * 60 * 60 * 1000,
    },
    dispatch: {
      actionsConcurrency: env.ACTIONS_CONCURRENCY,
      relayIntervalMs: env.DISPATCH_RELAY_INTERVAL_MS,
      relayGraceMs: env.DISPATCH_RELAY_GRACE_MS,
      jobLockMs: env.DISPATCH_JOB_LOCK_MS,
    },
    ledger: { authorizationExpiryDays: env.REWARD_AUTHORIZATION_EXPIRY_DAYS },
  }));

export type Config = z.output<typeof configSchema>;
type Env = Record<string, string | undefined>;

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** Parses an environment into a Config; throws a ConfigError naming every bad or missing variable. */
export function parseConfig(env: Env): Config {
  const cleaned = Object.fromEntries(
    Object.entries(env).filter(([, value]) => value !== undefined && value !== ''),
  );
  const result = configSchema.safeParse(cleaned);
  if (!result.success) {
    throw new ConfigError(
      result.error.issues.map((issue) => `${issue.path.join('.') || 'env'}: ${issue.message}`),
    );
  }
  return result.data;
}

export interface LoadedConfig {
  config: Config;
  /** Where generated development secrets live, when they came from a file. */
  envFile?: string;
  generated: string[];
}

/**
 * Reads process.env (the only place that does), plus `.env.local` outside production, generating the
 * development secrets that are missing and keeping them in `.env.local` so restarts reuse them.
 */
export function loadConfig(options: { env?: Env; cwd?: string } = {}): LoadedConfig {
  const env: Env = { ...(options.env ?? process.env) };
  if (env.NODE_ENV === 'production') return { config: parseConfig(env), generated: [] };

  const envFile = resolve(options.cwd ?? process.cwd(), '.env.local');
  const fromFile = existsSync(envFile) ? parseEnv(readFileSync(envFile, 'utf8')) : {};
  const merged: Env = { ...fromFile, ...Object.fromEntries(Object.entries(env).filter(([, v]) => v)) };

  const generated: string[] = [];
  const lines: string[] = [];
  for (const name of GENERATED_SECRETS) {
    if (merged[name]) continue;
    merged[name] = randomBytes(32).toString('base64url');
    lines.push(`${name}=${merged[name]}`);
    generated.push(name);
  }
  if (merged.ALLOW_PRIVATE_WEBHOOKS === undefined && !existsSync(envFile)) {
    // Local development delivers to webhook sinks on localhost; production never gets this line.
    merged.ALLOW_PRIVATE_WEBHOOKS = 'true';
    lines.push('ALLOW_PRIVATE_WEBHOOKS=true');
  }
  if (lines.length > 0) {
    const header = existsSync(envFile)
      ? ''
      : '# Generated by cardlink for local development. Never commit this file.\n';
    appendFileSync(envFile, `${header}${lines.join('\n')}\n`, { mode: 0o600 });
  }
  return { config: parseConfig(merged), envFile, generated };
}
