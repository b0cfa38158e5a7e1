import { Webhook } from 'standardwebhooks';
import { describe, expect, test } from 'vitest';
import { signStandardWebhook, verifyStandardWebhook, webhookSigningKey } from '../../src/ingest/signature.ts';
import { usePlatform } from '../helpers/platform.ts';
import {
  authorization,
  createTestProcessor,
  enrollCard,
  postEvents,
  signedHeaders,
  type TestProcessor,
  testPan,
} from './fixtures.ts';

const platform = usePlatform();

async function storedCounts() {
  const [row] = await platform.deps.sql<{ events: number; keys: number; tokens: number }[]>`
    select (select count(*) from events)::int as events,
           (select count(*) from event_keys)::int as keys,
           (select count(*) from card_tokens)::int as tokens`;
  return row!;
}

function send(
  processor: TestProcessor,
  body: string,
  headers: Record<string, string>,
  token = processor.apiKey,
) {
  return platform.request('POST', '/v1/events', { raw: body, token, headers });
}

describe('processor authentication on POST /v1/events', () => {
  test('every bad credential is refused with a problem and nothing is stored', async () => {
    const processor = await createTestProcessor(platform);
    const other = await createTestProcessor(platform, 'Other');
    const pan = testPan(11);
    await enrollCard(platform, pan);
    const body = JSON.stringify(authorization({ pan }));
    const good = signedHeaders(processor, body);
    const sixMinutesAgo = new Date(Date.now() - 6 * 60 * 1000);

    const cases: {
      name: string;
      headers: Record<string, string>;
      token?: string;
      raw?: string;
      code: string;
    }[] = [
      { name: 'no api key', headers: good, token: '', code: 'unauthorized' },
      { name: 'unknown api key', headers: good, token: 'clk_not-a-key', code: 'unauthorized' },
      {
        name: "another processor's key",
        headers: good,
        token: other.apiKey,
        code: 'signature_invalid',
      },
      { name: 'no signature headers', headers: {}, code: 'signature_invalid' },
      {
        name: 'signature header missing',
        headers: { 'webhook-id': good['webhook-id']!, 'webhook-timestamp': good['webhook-timestamp']! },
        code: 'signature_invalid',
      },
      {
        name: 'signed with another secret',
        headers: signedHeaders(processor, body, { secret: other.signingSecret }),
        code: 'signature_invalid',
      },
      {
        name: 'body changed after signing',
        headers: good,
        raw: body.replace('"amount":475', '"amount":476'),
        code: 'signature_invalid',
      },
      {
        name: 'stale timestamp',
        headers: signedHeaders(processor, body, { at: sixMinutesAgo }),
        code: 'signature_invalid',
      },
      {
        name: 'timestamp in the future',
        headers: signedHeaders(processor, body, { at: new Date(Date.now() + 6 * 60 * 1000) }),
        code: 'signature_invalid',
      },
      {
        name: 'id in the signature differs from the header',
        headers: { ...signedHeaders(processor, body, { id: 'msg_a' }), 'webhook-id': 'msg_b' },
        code: 'signature_invalid',
      },
      {
        name: 'timestamp not a number',
        headers: { ...good, 'webhook-timestamp': 'yesterday' },
        code: 'signature_invalid',
      },
    ];
    for (const c of cases) {
      const res = await send(
        processor,
        c.raw ?? body,
        c.headers,
        c.token === undefined ? processor.apiKey : c.token,
      );
      expect(res.status, c.name).toBe(401);
      expect(res.headers.get('content-type'), c.name).toContain('application/problem+json');
      expect(res.body.code, c.name).toBe(c.code);
      expect(res.body.status, c.name).toBe(401);
    }
    expect(await storedCounts()).toEqual({ events: 0, keys: 0, tokens: 0 });

    // The same body, correctly signed, goes through.
    const ok = await send(processor, body, signedHeaders(processor, body));
    expect(ok.status).toBe(200);
    expect(ok.body.results[0].status).toBe('accepted');
  });

  test('card token links are refused without a valid signature', async () => {
    const processor = await createTestProcessor(platform);
    const body = JSON.stringify({ token: 'tok_1', pan: testPan(12) });
    const res = await platform.request('POST', '/v1/card_tokens', {
      raw: body,
      token: processor.apiKey,
      headers: signedHeaders(processor, body, { at: new Date(Date.now() - 10 * 60 * 1000) }),
    });
    expect(res.status).toBe(401);
    expect(res.body.code).toBe('signature_invalid');
    expect((await storedCounts()).tokens).toBe(0);
  });

  test('a disabled processor is refused', async () => {
    const processor = await createTestProcessor(platform, 'Soon disabled');
    const patched = await platform.admin('PATCH', `/v1/processors/${processor.id}`, {
      body: { status: 'disabled' },
    });
    expect(patched.status).toBe(200);
    const before = await storedCounts();
    const res = await postEvents(platform, processor, authorization({ pan: testPan(13) }));
    expect(res.status).toBe(403);
    expect(res.body.code).toBe('forbidden');
    expect(await storedCounts()).toEqual(before);
  });

  test('during a rotation both the previous and the new secret verify', async () => {
    const processor = await createTestProcessor(platform, 'Rotating');
    const rotated = await platform.admin('POST', `/v1/processors/${processor.id}/rotate_secret`, {
      body: { expire_previous_in_seconds: 3600 },
    });
    expect(rotated.status).toBe(200);
    const body = JSON.stringify(authorization({ pan: testPan(14) }));
    const withOld = await send(processor, body, signedHeaders(processor, body));
    expect(withOld.status).toBe(200);
    const body2 = JSON.stringify(authorization({ pan: testPan(14) }));
    const withNew = await send(
      processor,
      body2,
      signedHeaders(processor, body2, { secret: rotated.body.signing_secret }),
    );
    expect(withNew.status).toBe(200);
  });
});

describe('Standard Webhooks verifier', () => {
  const secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
  const keys = [webhookSigningKey(secret)];
  const body = '{"test": 2432232314}';

  test('agrees with the official library, including several signatures in one header', () => {
    const at = new Date();
    const library = new Webhook(secret).sign('msg_p5jXN8AQM9LWM0D4loKWxJek', at, body);
    const seconds = Math.floor(at.getTime() / 1000);
    expect(signStandardWebhook(secret, 'msg_p5jXN8AQM9LWM0D4loKWxJek', seconds, body)).toBe(library);
    const headers = {
      id: 'msg_p5jXN8AQM9LWM0D4loKWxJek',
      timestamp: String(seconds),
      signature: `v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc= ${library}`,
    };
    expect(verifyStandardWebhook(keys, headers, new TextEncoder().encode(body))).toEqual({ ok: true });
    // And the library accepts what we accept.
    expect(() =>
      new Webhook(secret).verify(body, {
        'webhook-id': headers.id,
        'webhook-timestamp': headers.timestamp,
        'webhook-signature': library,
      }),
    ).not.toThrow();
  });

  test('refuses what the library refuses', () => {
    const seconds = Math.floor(Date.now() / 1000);
    const signature = signStandardWebhook(secret, 'msg_1', seconds, body);
    const bytes = new TextEncoder().encode(body);
    expect(
      verifyStandardWebhook(
        keys,
        { id: 'msg_1', timestamp: String(seconds), signature: signature.replace('v1,', 'v2,') },
        bytes,
      ).ok,
    ).toBe(false);
    expect(
      verifyStandardWebhook(keys, { id: 'msg_1', timestamp: String(seconds - 301), signature }, bytes),
    ).toEqual({ ok: false, reason: 'stale_timestamp' });
    expect(
      verifyStandardWebhook(keys, { id: 'msg_1', timestamp: String(seconds), signature: 'v1,' }, bytes).ok,
    ).toBe(false);
    expect(
      verifyStandardWebhook(
        keys,
        { id: 'msg_1', timestamp: String(seconds), signature: `${signature}x` },
        bytes,
      ).ok,
    ).toBe(false);
  });
});
