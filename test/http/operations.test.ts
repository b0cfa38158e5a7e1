import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { usePlatform } from '../helpers/platform.ts';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.ts';

let redisProxy: TcpProxy;
beforeAll(async () => {
  redisProxy = await startTcpProxy(6379);
});
afterAll(async () => {
  await redisProxy.close();
});

const platform = usePlatform({ env: () => ({ REDIS_URL: `redis://127.0.0.1:${redisProxy.port}` }) });

/** The readiness answer once it has `status` (polled: Redis reconnects on its own schedule). */
const readyzOnce = (status: number) =>
  vi.waitFor(
    async () => {
      const res = await platform.request('GET', '/readyz');
      expect(res.status).toBe(status);
      return res;
    },
    { timeout: 15_000, interval: 200 },
  );

describe('operations endpoints', () => {
  it('healthz is 200 with a request id', async () => {
    const res = await platform.request('GET', '/healthz');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: 'ok' });
    expect(res.headers.get('x-request-id')).toMatch(/^req_/);
  });

  it('keeps a sane incoming x-request-id', async () => {
    const res = await platform.request('GET', '/healthz', { headers: { 'x-request-id': 'lb-1234' } });
    expect(res.headers.get('x-request-id')).toBe('lb-1234');
  });

  it('readyz is 200, then 503 naming Redis while it is down, then 200 again when it is back', async () => {
    const ready = await readyzOnce(200);
    expect(ready.status).toBe(200);
    expect(ready.body).toEqual({
      status: 'ready',
      checks: { postgres: 'ok', redis: 'ok', migrations: 'ok' },
    });

    await redisProxy.stop();
    const down = await readyzOnce(503);
    expect(down.status).toBe(503);
    expect(down.headers.get('content-type')).toBe('application/problem+json');
    expect(down.body.code).toBe('service_unavailable');
    expect(down.body.detail).toMatch(/redis/);
    expect(down.body.checks.postgres).toBe('ok');
    expect(down.body.checks.redis).not.toBe('ok');
    // The operator API keeps working on Postgres alone.
    expect((await platform.admin('GET', '/v1/apps')).status).toBe(200);

    await redisProxy.start();
    const back = await readyzOnce(200);
    expect(back.status).toBe(200);
  });

  it('readyz reports pending migrations', async () => {
    await platform.deps.sql`update drizzle.__drizzle_migrations set created_at = 0`;
    try {
      const res = await platform.request('GET', '/readyz');
      expect(res.status).toBe(503);
      expect(res.body.checks.migrations).toBe('pending migrations');
    } finally {
      await platform.deps.sql`delete from drizzle.__drizzle_migrations`;
    }
  });

  it('exposes Prometheus metrics per route pattern', async () => {
    await platform.admin('GET', '/v1/apps/app_unknown');
    const res = await platform.request('GET', '/metrics');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/plain');
    expect(res.text).toMatch(
      /cardlink_http_requests_total\{method="GET",route="\/v1\/apps\/:id",status="404"\} \d+/,
    );
    expect(res.text).toContain('cardlink_http_request_duration_seconds_bucket');
    expect(res.text).not.toContain('app_unknown');
  });

  it('publishes an OpenAPI 3.1 document covering the operator API', async () => {
    const res = await platform.request('GET', '/openapi.json');
    expect(res.status).toBe(200);
    expect(res.body.openapi).toBe('3.1.0');
    const paths = Object.keys(res.body.paths);
    for (const path of [
      '/v1/processors',
      '/v1/processors/{id}',
      '/v1/processors/{id}/rotate_secret',
      '/v1/apps',
      '/v1/apps/{id}',
      '/v1/merchants',
      '/v1/merchants/{id}',
      '/healthz',
      '/readyz',
    ]) {
      expect(paths).toContain(path);
    }
    expect(res.body.components.securitySchemes.adminToken).toMatchObject({ type: 'http', scheme: 'bearer' });
    expect(res.body.paths['/v1/apps'].post.responses['422']).toBeDefined();
  });

  it('serves the interactive reference at /docs', async () => {
    const res = await platform.request('GET', '/docs');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/html');
    expect(res.text).toContain('/openapi.json');
  });

  it('leads from the root, the first URL npm start prints, to the reference', async () => {
    const res = await platform.request('GET', '/');
    expect(res.status).toBe(302);
    expect(res.headers.get('location')).toBe('/docs');
  });

  it('guards the queue dashboard with the operator token (bearer or basic)', async () => {
    expect((await platform.request('GET', '/admin/queues')).status).toBe(401);
    const basic = Buffer.from(`operator:${platform.config.adminToken}`).toString('base64');
    const res = await platform.request('GET', '/admin/queues', {
      headers: { authorization: `Basic ${basic}` },
    });
    expect(res.status).toBe(200);
    expect(res.text).toContain('<html');
    const api = await platform.admin('GET', '/admin/queues/api/queues');
    expect(api.status).toBe(200);
    expect(JSON.stringify(api.body)).toContain('maintenance');
  });

  it('describes each problem type at its type URI', async () => {
    const res = await platform.request('GET', '/problems/validation_failed');
    expect(res.body).toEqual({ code: 'validation_failed', title: 'Validation failed', status: 422 });
  });
});
