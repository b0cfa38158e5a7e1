import { describe, expect, it } from 'vitest';
import { hashToken } from '../../src/lib/secrets.ts';
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

const storedEvents = async (processorId: string) => {
  const [row] = await platform.deps.sql`
    select (select count(*)::int from events where processor_id = ${processorId}) as events,
           (select count(*)::int from event_keys where processor_id = ${processorId}) as event_keys`;
  return row;
};

describe('failed client-secret checks per client address', () => {
  it(`answer 429 after ${LIMIT}, counted in Redis; past it only a secret that worked before is checked`, async () => {
    const known = await registerApp(platform);
    const unused = await registerApp(platform);
    const token = (app: { client_id: string }, secret: string) =>
      platform.request('POST', '/oauth/token', {
        raw: new URLSearchParams({
          grant_type: 'client_credentials',
          client_id: app.client_id,
          client_secret: secret,
        }).toString(),
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
      });
    expect((await token(known, known.client_secret)).status).toBe(200);
    for (let i = 0; i < LIMIT; i++) {
      const wrong = await token(unused, `cls_wrong_${i}`);
      expect(wrong.status).toBe(401);
      expect(wrong.body.error).toBe('invalid_client');
    }
    const limited = await token(unused, 'cls_wrong_again');
    expect(limited.status).toBe(429);
    expect(limited.body.error).toBe('invalid_client');
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(await countedKeys('client-secret:*')).toHaveLength(1);

    // A right guess from this address is not confirmed: the secret is not checked at all.
    const guessed = await token(unused, unused.client_secret);
    expect(guessed.status).toBe(429);
    expect(guessed.body.error).toBe('invalid_client');
    // A secret that worked before is checked, and accepted, so the app is not locked out by the failures.
    const right = await token(known, known.client_secret);
    expect(right.status).toBe(200);
    expect(right.body.access_token).toBeTruthy();
    // It vouches for its own client only.
    const vouched = await token(unused, known.client_secret);
    expect(vouched.status).toBe(429);
    expect(vouched.body.error).toBe('invalid_client');
  });
});

describe('failed api-key checks per client address', () => {
  it(`answer 429 after ${LIMIT}, over the production server; past it only a key that worked before is looked up`, async () => {
    const known = await createTestProcessor(platform, 'Known');
    const unused = await createTestProcessor(platform, 'Unused');
    const body = JSON.stringify(authorization({ pan: '4000000000000002' }));
    const withKey = (apiKey: string) =>
      platform.http('POST', '/v1/events', {
        raw: body,
        token: apiKey,
        headers: signedHeaders(known, body),
      });
    expect((await postEvents(platform, known, JSON.parse(body))).status).toBe(200);
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
    // The key was not looked up (every look-up, found or not, is cached by its hash).
    expect(platform.deps.processorCache.has(hashToken('clk_wrong_again'))).toBe(false);

    // A right guess from this address is not confirmed.
    const guessed = await postEvents(platform, unused, JSON.parse(body));
    expect(guessed.status).toBe(429);
    expect(guessed.body.code).toBe('rate_limited');
    expect(await storedEvents(unused.id)).toEqual({ events: 0, event_keys: 0 });
    // A key that worked before is accepted, also by a process that has not seen it (known in Redis).
    platform.deps.processorCache.clear();
    const right = await postEvents(platform, known, JSON.parse(body));
    expect(right.status).toBe(200);
    expect(right.body.results[0].status).not.toBe('rejected');
  });
});
