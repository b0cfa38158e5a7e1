import Stripe from 'stripe';
import { describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, usePlatform } from '../helpers/platform.ts';
import {
  authorization,
  createTestProcessor,
  postEvents,
  processorRequest,
  signedHeaders,
  testPan,
} from '../ingest/fixtures.ts';

const platform = usePlatform({ env: { ALLOW_PRIVATE_WEBHOOKS: 'false' } });
const stripe = new Stripe('sk_test_unused');

interface Case {
  name: string;
  method?: string;
  path: string;
  body?: unknown;
  raw?: string;
  contentType?: string;
  status: number;
  code: string;
  /** A field path the problem's `errors` must name. */
  field?: string;
}

const goodApp = { name: 'A', webhook_url: 'https://93.184.215.14/hooks' };

const cases: Case[] = [
  { name: 'invalid JSON', path: '/v1/processors', raw: '{"name":', status: 400, code: 'bad_request' },
  { name: 'JSON null', path: '/v1/processors', raw: 'null', status: 422, code: 'validation_failed' },
  {
    name: 'JSON array',
    path: '/v1/processors',
    body: [{ name: 'x' }],
    status: 422,
    code: 'validation_failed',
  },
  { name: 'JSON string', path: '/v1/processors', body: 'name', status: 422, code: 'validation_failed' },
  { name: 'empty JSON body', path: '/v1/processors', raw: '', status: 400, code: 'bad_request' },
  { name: 'no body at all', path: '/v1/processors', status: 422, code: 'validation_failed', field: 'name' },
  {
    name: 'missing name',
    path: '/v1/processors',
    body: {},
    status: 422,
    code: 'validation_failed',
    field: 'name',
  },
  {
    name: 'numeric name',
    path: '/v1/processors',
    body: { name: 42 },
    status: 422,
    code: 'validation_failed',
    field: 'name',
  },
  {
    name: 'blank name',
    path: '/v1/processors',
    body: { name: '   ' },
    status: 422,
    code: 'validation_failed',
    field: 'name',
  },
  {
    name: 'name too long',
    path: '/v1/processors',
    body: { name: 'x'.repeat(201) },
    status: 422,
    code: 'validation_failed',
    field: 'name',
  },
  {
    name: 'unknown field',
    path: '/v1/processors',
    body: { name: 'x', admin: true },
    status: 422,
    code: 'validation_failed',
  },
  {
    name: 'bad stripe secret',
    path: '/v1/processors',
    body: { name: 'x', stripe_endpoint_secret: 'sk_live_123' },
    status: 422,
    code: 'validation_failed',
    field: 'stripe_endpoint_secret',
  },
  {
    name: 'text/plain',
    path: '/v1/processors',
    raw: 'name=x',
    contentType: 'text/plain',
    status: 415,
    code: 'unsupported_media_type',
  },
  {
    name: 'form body',
    path: '/v1/processors',
    raw: 'name=x',
    contentType: 'application/x-www-form-urlencoded',
    status: 415,
    code: 'unsupported_media_type',
  },
  {
    name: 'deeply nested',
    path: '/v1/processors',
    raw: `${'['.repeat(5000)}${']'.repeat(5000)}`,
    status: 400,
    code: 'bad_request',
  },
  {
    name: 'app without webhook',
    path: '/v1/apps',
    body: { name: 'A' },
    status: 422,
    code: 'validation_failed',
    field: 'webhook_url',
  },
  {
    name: 'webhook not a URL',
    path: '/v1/apps',
    body: { ...goodApp, webhook_url: 'not a url' },
    status: 422,
    code: 'validation_failed',
    field: 'webhook_url',
  },
  {
    name: 'webhook ftp',
    path: '/v1/apps',
    body: { ...goodApp, webhook_url: 'ftp://93.184.215.14/x' },
    status: 422,
    code: 'validation_failed',
    field: 'webhook_url',
  },
  {
    name: 'webhook plain http',
    path: '/v1/apps',
    body: { ...goodApp, webhook_url: 'http://93.184.215.14/x' },
    status: 422,
    code: 'validation_failed',
    field: 'webhook_url',
  },
  {
    name: 'webhook on loopback',
    path: '/v1/apps',
    body: { ...goodApp, webhook_url: 'https://127.0.0.1/x' },
    status: 422,
    code: 'validation_failed',
    field: 'webhook_url',
  },
  {
    name: 'webhook on localhost',
    path: '/v1/apps',
    body: { ...goodApp, webhook_url: 'https://localhost/x' },
    status: 422,
    code: 'validation_failed',
    field: 'webhook_url',
  },
  {
    name: 'webhook private 10/8',
    path: '/v1/apps',
    body: { ...goodApp, webhook_url: 'https://10.1.2.3/x' },
    status: 422,
    code: 'validation_failed',
    field: 'webhook_url',
  },
  {
    name: 'webhook link-local metadata',
    path: '/v1/apps',
    body: { ...goodApp, webhook_url: 'https://169.254.169.254/latest' },
    status: 422,
    code: 'validation_failed',
    field: 'webhook_url',
  },
  {
    name: 'webhook IPv6 loopback',
    path: '/v1/apps',
    body: { ...goodApp, webhook_url: 'https://[::1]/x' },
    status: 422,
    code: 'validation_failed',
    field: 'webhook_url',
  },
  {
    name: 'webhook IPv4-mapped private',
    path: '/v1/apps',
    body: { ...goodApp, webhook_url: 'https://[::ffff:192.168.0.1]/x' },
    status: 422,
    code: 'validation_failed',
    field: 'webhook_url',
  },
  {
    name: 'webhook with credentials',
    path: '/v1/apps',
    body: { ...goodApp, webhook_url: 'https://u:p@93.184.215.14/x' },
    status: 422,
    code: 'validation_failed',
    field: 'webhook_url',
  },
  {
    name: 'redirect with fragment',
    path: '/v1/apps',
    body: { ...goodApp, redirect_uris: ['https://a.example/cb#x'] },
    status: 422,
    code: 'validation_failed',
    field: 'redirect_uris.0',
  },
  {
    name: 'redirect http non-loopback',
    path: '/v1/apps',
    body: { ...goodApp, redirect_uris: ['http://a.example/cb'] },
    status: 422,
    code: 'validation_failed',
    field: 'redirect_uris.0',
  },
  {
    name: 'redirect_uris not array',
    path: '/v1/apps',
    body: { ...goodApp, redirect_uris: 'https://a.example/cb' },
    status: 422,
    code: 'validation_failed',
    field: 'redirect_uris',
  },
  {
    name: 'unknown scope',
    path: '/v1/apps',
    body: { ...goodApp, scopes: ['transactions', 'pan'] },
    status: 422,
    code: 'validation_failed',
    field: 'scopes.1',
  },
  {
    name: 'fee bps > 100%',
    path: '/v1/apps',
    body: { ...goodApp, fee: { bps: 20000, currency: 'USD' } },
    status: 422,
    code: 'validation_failed',
    field: 'fee.bps',
  },
  {
    name: 'fee negative',
    path: '/v1/apps',
    body: { ...goodApp, fee: { fixed: -1, currency: 'USD' } },
    status: 422,
    code: 'validation_failed',
    field: 'fee.fixed',
  },
  {
    name: 'fee fractional',
    path: '/v1/apps',
    body: { ...goodApp, fee: { fixed: 1.5, currency: 'USD' } },
    status: 422,
    code: 'validation_failed',
    field: 'fee.fixed',
  },
  {
    name: 'fee unknown currency',
    path: '/v1/apps',
    body: { ...goodApp, fee: { currency: 'XYZ' } },
    status: 422,
    code: 'validation_failed',
    field: 'fee.currency',
  },
  {
    name: 'fee lowercase currency',
    path: '/v1/apps',
    body: { ...goodApp, fee: { currency: 'usd' } },
    status: 422,
    code: 'validation_failed',
    field: 'fee.currency',
  },
  {
    name: 'merchant without mids',
    path: '/v1/merchants',
    body: { name: 'M' },
    status: 422,
    code: 'validation_failed',
    field: 'mids',
  },
  {
    name: 'merchant empty mids',
    path: '/v1/merchants',
    body: { name: 'M', mids: [] },
    status: 422,
    code: 'validation_failed',
    field: 'mids',
  },
  {
    name: 'merchant repeated mid',
    path: '/v1/merchants',
    body: { name: 'M', mids: ['1', '1'] },
    status: 422,
    code: 'validation_failed',
    field: 'mids',
  },
  {
    name: 'merchant mid too long',
    path: '/v1/merchants',
    body: { name: 'M', mids: ['1234567890123456'] },
    status: 422,
    code: 'validation_failed',
    field: 'mids.0',
  },
  {
    name: 'merchant bad mcc',
    path: '/v1/merchants',
    body: { name: 'M', mids: ['1'], mcc: '58a4' },
    status: 422,
    code: 'validation_failed',
    field: 'mcc',
  },
  {
    name: 'merchant bad country',
    path: '/v1/merchants',
    body: { name: 'M', mids: ['1'], country: 'XX' },
    status: 422,
    code: 'validation_failed',
    field: 'country',
  },
  ...['USA', '1', 'U', ' ', '🇺🇸', 'us'].flatMap((country): Case[] => [
    {
      name: `merchant country ${JSON.stringify(country)}`,
      path: '/v1/merchants',
      body: { name: 'M', mids: ['1'], country },
      status: 422,
      code: 'validation_failed',
      field: 'country',
    },
    {
      name: `merchant patch country ${JSON.stringify(country)}`,
      method: 'PATCH',
      path: '/v1/merchants/mer_x',
      body: { country },
      status: 422,
      code: 'validation_failed',
      field: 'country',
    },
  ]),
  {
    name: 'merchant bad timezone',
    path: '/v1/merchants',
    body: { name: 'M', mids: ['1'], timezone: 'Mars/Base' },
    status: 422,
    code: 'validation_failed',
    field: 'timezone',
  },
  {
    name: 'limit zero',
    method: 'GET',
    path: '/v1/apps?limit=0',
    status: 422,
    code: 'validation_failed',
    field: 'query.limit',
  },
  {
    name: 'limit too big',
    method: 'GET',
    path: '/v1/merchants?limit=501',
    status: 422,
    code: 'validation_failed',
    field: 'query.limit',
  },
  {
    name: 'limit not a number',
    method: 'GET',
    path: '/v1/processors?limit=ten',
    status: 422,
    code: 'validation_failed',
    field: 'query.limit',
  },
  {
    name: 'patch bad status',
    method: 'PATCH',
    path: '/v1/apps/app_x',
    body: { status: 'deleted' },
    status: 422,
    code: 'validation_failed',
    field: 'status',
  },
  {
    name: 'patch unknown processor',
    method: 'PATCH',
    path: '/v1/processors/prc_x',
    body: { name: 'y' },
    status: 404,
    code: 'not_found',
  },
  {
    name: '2 MB body',
    path: '/v1/processors',
    raw: JSON.stringify({ name: 'x'.repeat(2 * 1024 * 1024) }),
    status: 413,
    code: 'payload_too_large',
  },
  {
    name: 'NUL in a name',
    path: '/v1/processors',
    body: { name: 'First\u0000Data' },
    status: 422,
    code: 'validation_failed',
    field: 'name',
  },
  {
    name: 'NUL in a MID',
    path: '/v1/merchants',
    body: { name: 'M', mids: ['12\u00003'] },
    status: 422,
    code: 'validation_failed',
    field: 'mids.0',
  },
  {
    name: 'NUL in a cursor',
    method: 'GET',
    path: '/v1/apps?starting_after=app_%00',
    status: 422,
    code: 'validation_failed',
    field: 'query.starting_after',
  },
  {
    name: 'NUL in a path id',
    method: 'GET',
    path: '/v1/merchants/mer_%00',
    status: 422,
    code: 'validation_failed',
    field: 'param.id',
  },
  { name: 'unknown route', method: 'GET', path: '/v1/nothing-here', status: 404, code: 'not_found' },
];

async function counts() {
  const [row] = await platform.deps.sql`
    select (select count(*) from processors)::int as p, (select count(*) from apps)::int as a,
           (select count(*) from merchants)::int as m, (select count(*) from merchant_mids)::int as mm`;
  return row;
}

describe('malformed operator requests', () => {
  it.each(cases)('$name → $status $code, nothing changed', async (c) => {
    const before = await counts();
    const res = await platform.admin(c.method ?? 'POST', c.path, {
      body: c.body,
      raw: c.raw,
      headers: c.contentType ? { 'content-type': c.contentType } : {},
    });
    expect(res.status).toBe(c.status);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
    expect(res.body).toMatchObject({ status: c.status, code: c.code });
    expect(res.body.type).toBe(`http://cardlink.test/problems/${c.code}`);
    expect(res.body.request_id).toBe(res.headers.get('x-request-id'));
    expect(res.body).not.toHaveProperty('stack');
    if (c.field) expect(res.body.errors.map((e: { path: string }) => e.path)).toContain(c.field);
    expect(await counts()).toEqual(before);
  });

  it('accepts a public https webhook once private targets are refused', async () => {
    const res = await platform.admin('POST', '/v1/apps', { body: goodApp });
    expect(res.status).toBe(201);
  });
});

describe('an unknown route', () => {
  it('is a 404 that does not echo the path, which may hold a card number', async () => {
    for (const path of ['/4242424242424242', '/v1/4242%204242%204242%204242', '/x/4242-4242-4242-4242']) {
      const res = await platform.http('GET', path);
      expect(res.status).toBe(404);
      expect(res.body).toMatchObject({ code: 'not_found', detail: 'No GET route matches this path.' });
      expect(res.text.replace(/[^0-9]/g, '')).not.toContain('4242424242424242');
    }
  });
});

describe('complete error lists', () => {
  const messagesAt = (body: { errors?: { path: string; message: string }[] }, path: string) =>
    (body.errors ?? []).filter((e) => e.path === path).map((e) => e.message);

  it.each([
    ['a scheme the schema lets through', 'ftp://93.184.215.14/x'],
    ['an address only the network check refuses', 'https://10.1.2.3/x'],
  ])('lists the webhook_url refusal (%s) beside the schema errors, at once', async (_name, webhookUrl) => {
    const before = await counts();
    const res = await platform.admin('POST', '/v1/apps', {
      body: { name: 'A', webhook_url: webhookUrl, fee: { bps: 20000, currency: 'USD' } },
    });
    expect(res.status).toBe(422);
    expect(res.body.code).toBe('validation_failed');
    expect(messagesAt(res.body, 'fee.bps')).toHaveLength(1);
    expect(messagesAt(res.body, 'webhook_url')).toHaveLength(1);
    expect(await counts()).toEqual(before);
  });

  it('lists the webhook_url refusal of a PATCH beside the schema errors', async () => {
    const created = await platform.admin('POST', '/v1/apps', { body: goodApp });
    const res = await platform.admin('PATCH', `/v1/apps/${created.body.id}`, {
      body: { webhook_url: 'https://127.0.0.1/x', status: 'deleted' },
    });
    expect(res.status).toBe(422);
    expect(res.body.code).toBe('validation_failed');
    expect(res.body.errors.map((e: { path: string }) => e.path).sort()).toEqual(['status', 'webhook_url']);
    const after = await platform.admin('GET', `/v1/apps/${created.body.id}`);
    expect(after.body.webhook_url).toBe(goodApp.webhook_url);
  });

  it('gives one message for a lower-case fee currency', async () => {
    const before = await counts();
    const res = await platform.admin('POST', '/v1/apps', { body: { ...goodApp, fee: { currency: 'usd' } } });
    expect(res.status).toBe(422);
    expect(res.body.code).toBe('validation_failed');
    expect(await counts()).toEqual(before);
    expect(messagesAt(res.body, 'fee.currency')).toHaveLength(1);
  });

  it.each([
    ['occurred_at', { occurred_at: 'yesterday' }],
    ['currency', { currency: 'usd' }],
  ])('gives one message for a bad event %s', async (field, overrides) => {
    const processor = await createTestProcessor(platform);
    const res = await postEvents(platform, processor, authorization({ pan: testPan(1), ...overrides }));
    expect(res.status).toBe(422);
    expect(res.body.code).toBe('validation_failed');
    expect(res.body.errors).toEqual([{ path: field, message: expect.any(String) }]);
    const [row] = await platform.deps.sql`
      select count(*)::int as n from events where processor_id = ${processor.id}`;
    expect(row!.n).toBe(0);
  });

  it('says which content types a 415 accepts', async () => {
    const before = await counts();
    const post = await platform.admin('POST', '/v1/processors', {
      raw: 'name=x',
      headers: { 'content-type': 'text/plain' },
    });
    expect(post.status).toBe(415);
    expect(post.body.code).toBe('unsupported_media_type');
    expect(post.body.detail).toBe('The body must be sent as application/json.');
    const patch = await platform.admin('PATCH', '/v1/merchants/mer_x', {
      raw: 'name=x',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(patch.status).toBe(415);
    expect(patch.body.code).toBe('unsupported_media_type');
    expect(patch.body.detail).toBe('The body must be sent as application/json.');
    expect(await counts()).toEqual(before);
  });
});

describe('deeply nested JSON', () => {
  const nested = (depth: number) => `${'['.repeat(depth - 1)}{"a":1}${']'.repeat(depth - 1)}`;
  const STRIPE_SECRET = 'whsec_stripe_endpoint_secret_deep_0123456789';

  async function eventCount() {
    const [row] = await platform.deps.sql`select count(*)::int as n from events`;
    return row!.n as number;
  }

  /**
   * A body nesting `depth` arrays and objects in all, through every way a body reaches a JSON parser: the
   * operator routes, the three event routes, both servers.
   */
  async function sendEverywhere(depth: number) {
    const value = (outer: number) => nested(depth - outer);
    const processor = await createTestProcessor(platform);
    const stripeProcessor = await platform.admin('POST', '/v1/processors', {
      body: { name: 'Stripe', stripe_endpoint_secret: STRIPE_SECRET },
    });
    const stripeBody = `{"id":"evt_1","object":"event","type":"issuing_authorization.created","data":{"object":{"metadata":{"x":${value(4)}}}}}`;
    const single = `{"id":"a-1","type":"authorization","deep":${value(1)}}`;
    const batch = `{"events":[{"id":"a-1","type":"authorization","deep":${value(3)}}]}`;
    return {
      'POST /v1/processors': await platform.admin('POST', '/v1/processors', { raw: `{"name":${value(1)}}` }),
      'PATCH /v1/merchants/{id}': await platform.admin('PATCH', '/v1/merchants/mer_x', {
        raw: `{"country":${value(1)}}`,
      }),
      'POST /v1/apps over the socket': await platform.http('POST', '/v1/apps', {
        raw: `{"name":${value(1)}}`,
        token: ADMIN_TOKEN,
      }),
      'POST /v1/events (fast path)': await postEvents(platform, processor, single),
      'POST /v1/events (batch, in-process)': await platform.request('POST', '/v1/events', {
        raw: batch,
        token: processor.apiKey,
        headers: signedHeaders(processor, batch),
      }),
      'POST /v1/events/iso8583': await processorRequest(
        platform,
        processor,
        '/v1/events/iso8583',
        `{"mti":"0100","2":${value(1)}}`,
      ),
      'POST /v1/events/stripe/{id}': await platform.http(
        'POST',
        `/v1/events/stripe/${stripeProcessor.body.id}`,
        {
          raw: stripeBody,
          headers: {
            'stripe-signature': stripe.webhooks.generateTestHeaderString({
              payload: stripeBody,
              secret: STRIPE_SECRET,
            }),
          },
        },
      ),
    };
  }

  it.each([65, 10_000])('refuses %i levels with a 400 on every route, storing nothing', async (depth) => {
    const before = { ...(await counts()), events: await eventCount() } as Record<string, number>;
    const answers = await sendEverywhere(depth);
    const seen = Object.entries(answers).map(([route, res]) => [route, res.status, res.body?.detail]);
    expect(seen).toEqual(
      Object.keys(answers).map((route) => [
        route,
        400,
        'The JSON body nests deeper than 64 arrays and objects.',
      ]),
    );
    for (const res of Object.values(answers)) expect(res.body.code).toBe('bad_request');
    // The two processors sendEverywhere created are the only rows added.
    expect({ ...(await counts()), events: await eventCount() }).toEqual({ ...before, p: before.p! + 2 });
  });

  it('parses a body nesting 64 levels, the most allowed, and judges its fields as usual', async () => {
    const answers = await sendEverywhere(64);
    const seen = Object.entries(answers).map(([route, res]) => [route, res.status, res.body?.detail]);
    for (const [route, status, detail] of seen) {
      expect({ route, status, detail }).not.toMatchObject({ status: 400 });
      expect({ route, status }).not.toMatchObject({ status: expect.toSatisfy((s: number) => s >= 500) });
    }
  });
});
