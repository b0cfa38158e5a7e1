import { describe, expect, it } from 'vitest';
import { usePlatform } from '../helpers/platform.ts';
import { registerApp, signUp } from '../oauth/support.ts';

const platform = usePlatform();

describe('responses that carry a secret or token are never cached', () => {
  it('creations, their idempotent replays, rotations and sign-in answer Cache-Control: no-store', async () => {
    const headers = { 'idempotency-key': 'no-store-processor' };
    const created = await platform.admin('POST', '/v1/processors', { body: { name: 'Adyen' }, headers });
    const replayed = await platform.admin('POST', '/v1/processors', { body: { name: 'Adyen' }, headers });
    expect(replayed.headers.get('idempotent-replayed')).toBe('true');
    expect(replayed.body.api_key).toBe(created.body.api_key);
    const rotated = await platform.admin('POST', `/v1/processors/${created.body.id}/rotate_secret`);
    const app = await platform.admin('POST', '/v1/apps', {
      body: {
        name: 'Cache Test',
        webhook_url: 'http://127.0.0.1:9/hooks',
        redirect_uris: ['https://a.example/cb'],
      },
    });
    const user = await signUp(platform, 'no-store');
    const session = await platform.request('POST', '/v1/sessions', {
      body: { email: user.email, password: user.password },
    });
    const clientApp = await registerApp(platform);
    const token = await platform.request('POST', '/oauth/token', {
      raw: new URLSearchParams({
        grant_type: 'client_credentials',
        client_id: clientApp.client_id,
        client_secret: clientApp.client_secret,
      }).toString(),
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });

    const answers = { created, replayed, rotated, app, session, token };
    for (const [name, res] of Object.entries(answers)) {
      expect([name, res.status < 300]).toEqual([name, true]);
      expect([name, res.headers.get('cache-control')]).toEqual([name, 'no-store']);
    }
  });

  it('keeps the caching that public documents ask for', async () => {
    const jwks = await platform.request('GET', '/.well-known/jwks.json');
    expect(jwks.headers.get('cache-control')).toBe('public, max-age=60');
  });
});
