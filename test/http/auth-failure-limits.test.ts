import { describe, expect, it } from 'vitest';
import { createRedis } from '../../src/redis.ts';
import { usePlatform } from '../helpers/platform.ts';
import { authorization, createTestProcessor, postEvents, signedHeaders } from '../ingest/fixtures.ts';
import { registerApp } from '../oauth/support.ts';

const LIMIT = 3;
const platform = usePlatform({
  env: { CLIENT_SECRET_FAILURES_PER_IP: String(LIMIT), API_KEY_FAILURES_PER_IP: String(LIMIT) },
});

const countedKeys = async (pattern: string) => {
  const redis = createRedis(platform.config.redisUrl, platform.deps.logger, 'queue');
  try {
    return await redis.keys(`${platform.config.queuePrefix}:rl:${pattern}`);
  } finally {
    redis.disconnect();
  }
};

describe('failed client-secret checks per client address', () => {
  it(`answer 429 after ${LIMIT}, counted in Redis, while the right secret still gets a token`, async () => {
    const app = await registerApp(platform);
    const token = (secret: string) =>
      platform.request('POST', '/oauth/token', {
        raw: new URLSearchParams({
          grant_type: 'client_credentials',
          client_id: app.client_id,
          client_secret: secret,
        }).toString(),
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
      });
    expect((await token(app.client_secret)).status).toBe(200);
    for (let i = 0; i < LIMIT; i++) {
      const wrong = await token(`cls_wrong_${i}`);
      expect(wrong.status).toBe(401);
      expect(wrong.body.error).toBe('invalid_client');
    }
    const limited = await token('cls_wrong_again');
    expect(limited.status).toBe(429);
    expect(limited.body.error).toBe('invalid_client');
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(await countedKeys('client-secret:*')).toHaveLength(1);

    const right = await token(app.client_secret);
    expect(right.status).toBe(200);
    expect(right.body.access_token).toBeTruthy();
  });
});

describe('failed api-key checks per client address', () => {
  it(`answer 429 after ${LIMIT}, over the production server, while the right key is still accepted`, async () => {
    const processor = await createTestProcessor(platform);
    const body = JSON.stringify(authorization({ pan: '4000000000000002' }));
    const withKey = (apiKey: string) =>
      platform.http('POST', '/v1/events', {
        raw: body,
        token: apiKey,
        headers: signedHeaders(processor, body),
      });
    for (let i = 0; i < LIMIT; i++) {
      const wrong = await withKey(`clk_wrong_${i}`);
      expect(wrong.status).toBe(401);
      expect(wrong.body.code).toBe('unauthorized');
    }
    const limited = await withKey('clk_wrong_again');
    expect(limited.status).toBe(429);
    expect(limited.body.code).toBe('rate_limited');
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(await countedKeys('api-key:*')).toHaveLength(1);

    const right = await postEvents(platform, processor, JSON.parse(body));
    expect(right.status).toBe(200);
    expect(right.body.results[0].status).not.toBe('rejected');
  });
});
