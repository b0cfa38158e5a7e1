import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { usePlatform } from '../helpers/platform.ts';

const platform = usePlatform();

/** What operator requests can create: a refused one must leave every count as it was. */
const stored = async () => {
  const [row] = await platform.deps.sql`
    select (select count(*)::int from processors) as processors,
           (select count(*)::int from merchants) as merchants,
           (select count(*)::int from merchant_mids) as mids,
           (select count(*)::int from idempotency_keys) as idempotency_keys`;
  return row;
};

describe('operator: processors', () => {
  it('creates a processor, showing its secrets once and storing them only hashed or sealed', async () => {
    const res = await platform.admin('POST', '/v1/processors', { body: { name: 'First Data' } });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ object: 'processor', name: 'First Data', status: 'active' });
    expect(res.body.id).toMatch(/^prc_[0-9a-z]{26}$/);
    expect(res.body.api_key).toMatch(/^clk_/);
    expect(res.body.signing_secret).toMatch(/^whsec_/);
    expect(res.body.stripe_webhook_url).toBe(`http://cardlink.test/v1/events/stripe/${res.body.id}`);

    const fetched = await platform.admin('GET', `/v1/processors/${res.body.id}`);
    expect(fetched.status).toBe(200);
    expect(fetched.body).not.toHaveProperty('api_key');
    expect(fetched.body).not.toHaveProperty('signing_secret');
    expect(fetched.body.api_key_last4).toBe(res.body.api_key.slice(-4));

    const rows = await platform.deps.sql`select * from processors where id = ${res.body.id}`;
    const stored = JSON.stringify(rows);
    expect(stored).not.toContain(res.body.api_key);
    expect(stored).not.toContain(res.body.signing_secret);
    expect(stored).not.toContain(res.body.signing_secret.slice(6));
  });

  it('updates, disables and rotates the signing secret', async () => {
    const { body: created } = await platform.admin('POST', '/v1/processors', { body: { name: 'VeriFone' } });
    const patched = await platform.admin('PATCH', `/v1/processors/${created.id}`, {
      body: { name: 'VeriFone NA', status: 'disabled', stripe_endpoint_secret: 'whsec_abcdefghijkl' },
    });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({
      name: 'VeriFone NA',
      status: 'disabled',
      has_stripe_endpoint_secret: true,
    });
    // A PATCH changes only the fields it names.
    const renamed = await platform.admin('PATCH', `/v1/processors/${created.id}`, { body: { name: 'VF' } });
    expect(renamed.body).toMatchObject({ name: 'VF', status: 'disabled', has_stripe_endpoint_secret: true });

    const rotated = await platform.admin('POST', `/v1/processors/${created.id}/rotate_secret`, {
      body: { expire_previous_in_seconds: 3600 },
    });
    expect(rotated.status).toBe(200);
    expect(rotated.body.signing_secret).toMatch(/^whsec_/);
    expect(rotated.body.signing_secret).not.toBe(created.signing_secret);
    expect(Date.parse(rotated.body.previous_signing_secret_expires_at)).toBeGreaterThan(Date.now());

    const immediate = await platform.admin('POST', `/v1/processors/${created.id}/rotate_secret`);
    expect(immediate.status).toBe(200);
    expect(immediate.body.previous_signing_secret_expires_at).toBeNull();
  });

  it('pages through the list newest first', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      ids.push((await platform.admin('POST', '/v1/processors', { body: { name: `p${i}` } })).body.id);
    }
    const first = await platform.admin('GET', '/v1/processors?limit=2');
    expect(first.status).toBe(200);
    expect(first.body.data.map((p: { id: string }) => p.id)).toEqual([ids[4], ids[3]]);
    expect(first.body.has_more).toBe(true);
    const second = await platform.admin('GET', `/v1/processors?limit=2&starting_after=${ids[3]}`);
    expect(second.body.data.map((p: { id: string }) => p.id)).toEqual([ids[2], ids[1]]);
  });

  it('is 404 problem+json for an unknown id', async () => {
    const res = await platform.admin('GET', '/v1/processors/prc_nope');
    expect(res.status).toBe(404);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
    expect(res.body).toMatchObject({ code: 'not_found', status: 404 });
  });
});

describe('operator: apps', () => {
  it('registers an app with client credentials, webhook secret and fee', async () => {
    const res = await platform.admin('POST', '/v1/apps', {
      body: {
        name: 'Coffee Rewards',
        webhook_url: 'http://127.0.0.1:9/hooks',
        redirect_uris: ['https://coffee.example/cb', 'http://localhost:8080/cb'],
        fee: { fixed: 5, bps: 150, currency: 'USD' },
      },
    });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      object: 'app',
      name: 'Coffee Rewards',
      fee: { fixed: 5, bps: 150, currency: 'USD' },
      scopes: ['transactions', 'receipts', 'loyalty', 'cashback', 'coupons', 'social'],
    });
    expect(res.body.id).toMatch(/^app_/);
    expect(res.body.client_id).toMatch(/^cli_/);
    expect(res.body.client_secret).toMatch(/^cls_/);
    expect(res.body.webhook_secret).toMatch(/^whsec_/);

    const stored = JSON.stringify(await platform.deps.sql`select * from apps where id = ${res.body.id}`);
    expect(stored).not.toContain(res.body.client_secret);
    expect(stored).not.toContain(res.body.webhook_secret.slice(6));

    const patched = await platform.admin('PATCH', `/v1/apps/${res.body.id}`, {
      body: { fee: null, status: 'disabled' },
    });
    expect(patched.body).toMatchObject({
      fee: null,
      status: 'disabled',
      name: 'Coffee Rewards',
      webhook_url: res.body.webhook_url,
      redirect_uris: res.body.redirect_uris,
      scopes: res.body.scopes,
    });
    const listed = await platform.admin('GET', '/v1/apps');
    expect(listed.body.data.map((a: { id: string }) => a.id)).toContain(res.body.id);
    expect(listed.body.data[0]).not.toHaveProperty('client_secret');
  });
});

describe('operator: merchants', () => {
  it('creates a brand with MIDs and refuses a MID another brand holds', async () => {
    const res = await platform.admin('POST', '/v1/merchants', {
      body: {
        name: 'Blue Bottle',
        mids: ['000123', '000124'],
        mcc: '5814',
        country: 'US',
        timezone: 'America/Los_Angeles',
      },
    });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      object: 'merchant',
      mids: ['000123', '000124'],
      timezone: 'America/Los_Angeles',
    });

    const clash = await platform.admin('POST', '/v1/merchants', {
      body: { name: 'Other', mids: ['000124', '999'] },
    });
    expect(clash.status).toBe(409);
    expect(clash.body.code).toBe('conflict');
    expect(clash.body.detail).toContain('000124');
    const count = await platform.deps.sql`select count(*)::int as n from merchants where name = 'Other'`;
    expect(count[0]!.n).toBe(0);

    const patched = await platform.admin('PATCH', `/v1/merchants/${res.body.id}`, {
      body: { mids: ['000124', '000125'] },
    });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({
      mids: ['000124', '000125'],
      name: 'Blue Bottle',
      mcc: '5814',
      country: 'US',
      timezone: 'America/Los_Angeles',
    });
    const freed = await platform.admin('POST', '/v1/merchants', {
      body: { name: 'Reuses 123', mids: ['000123'] },
    });
    expect(freed.status).toBe(201);
  });

  it.each(['Asia/Kolkata', 'Asia/Calcutta', 'UTC', 'Etc/GMT+5'])(
    'accepts the IANA zone %s, aliases included',
    async (tz) => {
      const res = await platform.admin('POST', '/v1/merchants', {
        body: { name: tz, mids: [`tz-${tz.length}-${tz.charCodeAt(0)}`], timezone: tz },
      });
      expect(res.status).toBe(201);
      expect(res.body.timezone).toBe(tz);
    },
  );
});

describe('operator auth', () => {
  it.each([
    ['no header', undefined],
    ['wrong token', 'Bearer not-the-admin-token-at-all-xxxx'],
    ['wrong scheme', 'Token test-admin-token-0123456789abcdef'],
  ])('refuses %s with 401 problem+json', async (_label, authorization) => {
    const before = await stored();
    const res = await platform.request('POST', '/v1/processors', {
      body: { name: 'x' },
      headers: authorization ? { authorization } : {},
    });
    expect(res.status).toBe(401);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
    expect(res.body.code).toBe('unauthorized');
    expect(res.headers.get('x-request-id')).toBe(res.body.request_id);
    expect(await stored()).toEqual(before);
  });
});

describe('Idempotency-Key', () => {
  it('replays the first response, secrets included, and creates once', async () => {
    const headers = { 'idempotency-key': 'create-proc-1' };
    const [a, b] = await Promise.all([
      platform.admin('POST', '/v1/processors', { body: { name: 'Idem' }, headers }),
      platform.admin('POST', '/v1/processors', { body: { name: 'Idem' }, headers }),
    ]);
    expect(a.status).toBe(201);
    expect(b.status).toBe(201);
    expect(b.body).toEqual(a.body);
    expect([a.headers.get('idempotent-replayed'), b.headers.get('idempotent-replayed')].sort()).toEqual([
      null,
      'true',
    ]);
    const rows = await platform.deps.sql`select count(*)::int as n from processors where name = 'Idem'`;
    expect(rows[0]!.n).toBe(1);
    const stored = JSON.stringify(await platform.deps.sql`select * from idempotency_keys`);
    expect(stored).not.toContain(a.body.api_key);
  });

  it('stores the key only as a keyed hash (it may hold a card number) and still replays on it', async () => {
    const key = '4242 4242 4242 4242';
    const headers = { 'idempotency-key': key };
    const first = await platform.admin('POST', '/v1/processors', { body: { name: 'Keyed' }, headers });
    const replay = await platform.admin('POST', '/v1/processors', { body: { name: 'Keyed' }, headers });
    expect(first.status).toBe(201);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(replay.body.id).toBe(first.body.id);
    const keys = (await platform.deps.sql`select key from idempotency_keys`).map((row) => row.key as string);
    expect(keys.length).toBeGreaterThan(0);
    for (const stored of keys) expect(stored).toMatch(/^hmac_[A-Za-z0-9_-]{43}$/);
  });

  it('keeps only a keyed digest of the request, whose body may hold a card number', async () => {
    const body = { name: 'Keyed body', mids: ['378282246310005'] };
    const headers = { 'idempotency-key': 'keyed-body-1' };
    const first = await platform.admin('POST', '/v1/merchants', { body, headers });
    expect(first.status).toBe(201);
    const [row] = await platform.deps.sql`select request_hash from idempotency_keys`;
    // An unkeyed digest of the request could be matched by trying every card number of a BIN.
    const unkeyed = createHash('sha256')
      .update(`POST /v1/merchants\n${JSON.stringify(body)}`)
      .digest('hex');
    expect(row!.request_hash).not.toBe(unkeyed);
    const replay = await platform.admin('POST', '/v1/merchants', { body, headers });
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    const before = await stored();
    const reused = await platform.admin('POST', '/v1/merchants', {
      body: { ...body, name: 'Other' },
      headers,
    });
    expect(reused.status).toBe(409);
    expect(reused.body.code).toBe('idempotency_key_reused');
    expect(await stored()).toEqual(before);
  });

  it('refuses the same key with a different body with 409 idempotency_key_reused', async () => {
    const headers = { 'idempotency-key': 'merchant-key' };
    const first = await platform.admin('POST', '/v1/merchants', {
      body: { name: 'M1', mids: ['777001'] },
      headers,
    });
    expect(first.status).toBe(201);
    const before = await stored();
    const second = await platform.admin('POST', '/v1/merchants', {
      body: { name: 'M2', mids: ['777002'] },
      headers,
    });
    expect(second.status).toBe(409);
    expect(second.body.code).toBe('idempotency_key_reused');
    expect(await stored()).toEqual(before);
  });

  it('does not keep a key whose request failed, so a corrected retry works', async () => {
    const headers = { 'idempotency-key': 'clash-then-fix' };
    const holder = await platform.admin('POST', '/v1/merchants', {
      body: { name: 'Holder', mids: ['888001'] },
    });
    const before = await stored();
    const clash = await platform.admin('POST', '/v1/merchants', {
      body: { name: 'New', mids: ['888001'] },
      headers,
    });
    expect(clash.status).toBe(409);
    expect(clash.body.code).toBe('conflict');
    expect(await stored()).toEqual(before);
    await platform.admin('PATCH', `/v1/merchants/${holder.body.id}`, { body: { mids: ['888002'] } });
    const retry = await platform.admin('POST', '/v1/merchants', {
      body: { name: 'New', mids: ['888001'] },
      headers,
    });
    expect(retry.status).toBe(201);
    expect(retry.headers.get('idempotent-replayed')).toBeNull();
  });
});
