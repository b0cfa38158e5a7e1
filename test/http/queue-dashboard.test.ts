import { describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, usePlatform } from '../helpers/platform.ts';

const platform = usePlatform();
const OWN = 'http://cardlink.test';
const basic = `Basic ${Buffer.from(`operator:${ADMIN_TOKEN}`).toString('base64')}`;
const ADD = '/admin/queues/api/queues/maintenance/add';
const job = JSON.stringify({ name: 'probe', data: {} });
const queued = () => platform.deps.queues.maintenance.count();

/** What a browser holding the cached Basic credentials sends when another site's page posts to the API. */
const crossSite = {
  'a foreign Origin, as text/plain': { origin: 'https://evil.example', 'content-type': 'text/plain' },
  'a foreign Origin, as JSON': { origin: 'https://evil.example', 'content-type': 'application/json' },
  'a null Origin': { origin: 'null', 'content-type': 'text/plain' },
  'no Origin, Sec-Fetch-Site cross-site': { 'sec-fetch-site': 'cross-site', 'content-type': 'text/plain' },
} satisfies Record<string, Record<string, string>>;

describe('the queue dashboard', () => {
  it.each(Object.entries(crossSite))(
    'refuses a change sent from another site with %s (403, nothing queued)',
    async (_, headers) => {
      const before = await queued();
      const res = await platform.request('POST', ADD, {
        raw: job,
        headers: { authorization: basic, ...headers },
      });
      expect(res.status).toBe(403);
      expect(res.body.code).toBe('forbidden');
      expect(res.body.detail).toContain(OWN);
      expect(await queued()).toBe(before);
    },
  );

  it.each(['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x'])(
    'refuses a body declared %s even from its own page (415, nothing queued)',
    async (type) => {
      const before = await queued();
      const res = await platform.request('POST', ADD, {
        raw: job,
        headers: { authorization: basic, origin: OWN, 'content-type': type },
      });
      expect(res.status).toBe(415);
      expect(res.body.code).toBe('unsupported_media_type');
      expect(await queued()).toBe(before);
    },
  );

  it('accepts JSON from its own page, and its bodiless buttons', async () => {
    const before = await queued();
    const add = await platform.request('POST', ADD, {
      raw: job,
      headers: { authorization: basic, origin: OWN, 'content-type': 'application/json' },
    });
    expect(add.status).toBe(200);
    expect(await queued()).toBe(before + 1);
    const retry = await platform.request('PUT', '/admin/queues/api/queues/maintenance/retry/failed', {
      headers: { authorization: basic, origin: OWN },
    });
    expect(retry.status).toBeLessThan(300);
    // A script with the token (no browser, no Origin) is not affected.
    const scripted = await platform.admin('POST', ADD, { raw: job });
    expect(scripted.status).toBe(200);
    expect(await queued()).toBe(before + 2);
  });

  it.each(['text/plain', 'application/octet-stream'])(
    'refuses a deeply nested body declared %s with 400 before anything parses it',
    async (type) => {
      const before = await queued();
      const deep = `{"name":"x","data":${'['.repeat(20_000)}${']'.repeat(20_000)}}`;
      const res = await platform.request('POST', ADD, {
        raw: deep,
        headers: { origin: OWN, authorization: basic, 'content-type': type },
      });
      expect(res.status).toBe(400);
      expect(res.body.code).toBe('bad_request');
      expect(res.body.detail).toContain('nests deeper than');
      expect(await queued()).toBe(before);
    },
  );

  it('a form body is not measured as JSON: brackets in its fields are text', async () => {
    const res = await platform.request('POST', '/oauth/token', {
      raw: `grant_type=client_credentials&client_id=${'['.repeat(200)}&client_secret=x`,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(res.status).toBe(401);
    expect(res.body.error).toBe('invalid_client');
  });

  it('opens at /admin/queues/ as at /admin/queues', async () => {
    const bare = await platform.request('GET', '/admin/queues', { headers: { authorization: basic } });
    expect(bare.status).toBe(200);
    expect(bare.text).toContain('<html');
    const slash = await platform.request('GET', '/admin/queues/', { headers: { authorization: basic } });
    expect(slash.status).toBe(301);
    expect(slash.headers.get('location')).toBe('/admin/queues');
    expect((await platform.request('GET', '/admin/queues/')).status).toBe(401);
  });
});
