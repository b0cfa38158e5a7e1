import { Writable } from 'node:stream';
import type { OpenAPIHono } from '@hono/zod-openapi';
import { afterAll, beforeAll, inject } from 'vitest';
import { type Config, parseConfig } from '../../src/config.ts';
import { createDeps, type OwnedDeps } from '../../src/deps.ts';
import { createApp } from '../../src/http/app.ts';
import type { AppEnv } from '../../src/http/env.ts';
import { createHttpServer } from '../../src/http/server.ts';
import { createLogger } from '../../src/logger.ts';
import { createRedis } from '../../src/redis.ts';
import { type RunningWorkers, startWorkers } from '../../workers/main.ts';
import { databaseUrl, dropDatabase, TEST_REDIS_URL, uniqueName, withAdmin } from './pg.ts';

export const ADMIN_TOKEN = 'test-admin-token-0123456789abcdef';

export interface PlatformOptions {
  /** Extra environment, or a function read when the platform starts (for values known only then). */
  env?: Record<string, string> | (() => Record<string, string>);
  workers?: boolean;
}

export interface ApiResponse<T = any> {
  status: number;
  headers: Headers;
  body: T;
  text: string;
}

export interface RequestOptions {
  body?: unknown;
  /** Sent verbatim instead of JSON-encoding `body`. */
  raw?: string;
  token?: string;
  headers?: Record<string, string>;
}

export interface TestPlatform {
  config: Config;
  /** The environment the config was parsed from (to start another process of the same platform). */
  env: Record<string, string>;
  deps: OwnedDeps;
  app: OpenAPIHono<AppEnv>;
  /** Every log line written during the file, for scanning. */
  logs: string[];
  databaseName: string;
  /** Through the app in-process (`app.request`). */
  request: <T = any>(method: string, path: string, options?: RequestOptions) => Promise<ApiResponse<T>>;
  /** Over a real socket to the server as it runs in production (`createHttpServer`: the app and its fast path). */
  http: <T = any>(method: string, path: string, options?: RequestOptions) => Promise<ApiResponse<T>>;
  /** `request` with the operator token. */
  admin: <T = any>(method: string, path: string, options?: RequestOptions) => Promise<ApiResponse<T>>;
  /** Serves the production server (`createHttpServer`) on a real port (any free one by default); closed after the file. */
  listen: (port?: number) => Promise<string>;
}

/**
 * Gives the test file its own database (cloned from the migrated template), its own BullMQ prefix and a
 * real app over real Postgres and Redis; everything is removed after the file.
 */
export function usePlatform(options: PlatformOptions = {}): TestPlatform {
  const platform = {} as TestPlatform;
  let workers: RunningWorkers | undefined;
  const servers: { close: (cb: () => void) => void }[] = [];

  beforeAll(async () => {
    const databaseName = uniqueName('cardlink_t');
    const template = inject('templateDatabase');
    await withAdmin((sql) => sql.unsafe(`create database "${databaseName}" template "${template}"`));
    const queuePrefix = uniqueName('t');
    const env: Record<string, string> = {
      NODE_ENV: 'test',
      DATABASE_URL: databaseUrl(databaseName),
      REDIS_URL: TEST_REDIS_URL,
      PUBLIC_URL: 'http://cardlink.test',
      ADMIN_TOKEN,
      CARD_FINGERPRINT_KEY: 'test-fingerprint-key-0123456789abcdef',
      SECRETS_KEY: 'test-secrets-key-0123456789abcdef0123',
      ALLOW_PRIVATE_WEBHOOKS: 'true',
      QUEUE_PREFIX: queuePrefix,
      LOG_LEVEL: 'debug',
      ...(typeof options.env === 'function' ? options.env() : options.env),
    };
    const config = parseConfig(env);
    const logs: string[] = [];
    const sink = new Writable({
      write(chunk, _encoding, done) {
        logs.push(String(chunk));
        done();
      },
    });
    const deps = createDeps(config, { logger: createLogger(config.logLevel, sink) });
    // The limiters' fail-fast connection: until it is ready their counts go to the in-memory stand-in.
    if (deps.redisProbe.status !== 'ready')
      await new Promise((resolve) => deps.redisProbe.once('ready', resolve));
    const app = createApp(deps);
    if (options.workers) workers = await startWorkers(deps);

    const listen = (port = 0) =>
      new Promise<string>((resolve) => {
        const { server } = createHttpServer(deps, { hostname: '127.0.0.1' });
        server.listen(port, '127.0.0.1', () => {
          const address = server.address() as { port: number };
          resolve(`http://127.0.0.1:${address.port}`);
        });
        servers.push(server);
      });
    let served: Promise<string> | undefined;
    const servedUrl = () => {
      served ??= listen();
      return served;
    };

    const send = async (over: 'app' | 'http', method: string, path: string, req: RequestOptions) => {
      const headers: Record<string, string> = { ...req.headers };
      if (req.token) headers.authorization = `Bearer ${req.token}`;
      let body: string | undefined = req.raw;
      if (body === undefined && req.body !== undefined) body = JSON.stringify(req.body);
      if (body !== undefined && !Object.keys(headers).some((h) => h.toLowerCase() === 'content-type')) {
        headers['content-type'] = 'application/json';
      }
      const res =
        over === 'app'
          ? await app.request(path, { method, headers, body })
          : await fetch(`${await servedUrl()}${path}`, { method, headers, body });
      const text = await res.text();
      let parsed: unknown = text;
      try {
        parsed = text ? JSON.parse(text) : undefined;
      } catch {}
      return { status: res.status, headers: res.headers, body: parsed as any, text };
    };

    Object.assign(platform, {
      config,
      env,
      deps,
      app,
      logs,
      databaseName,
      request: (method: string, path: string, req: RequestOptions = {}) => send('app', method, path, req),
      http: (method: string, path: string, req: RequestOptions = {}) => send('http', method, path, req),
      admin: (method: string, path: string, req: RequestOptions = {}) =>
        send('app', method, path, { ...req, token: req.token ?? ADMIN_TOKEN }),
      listen,
    } satisfies TestPlatform);
  });

  afterAll(async () => {
    if (!platform.deps) return;
    await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
    await workers?.close();
    const cleaner = createRedis(platform.config.redisUrl, platform.deps.logger, 'queue');
    await platform.deps.close();
    const keys = await cleaner.keys(`${platform.config.queuePrefix}:*`);
    if (keys.length > 0) await cleaner.del(...keys);
    cleaner.disconnect();
    await dropDatabase(platform.databaseName);
  });

  return platform;
}
