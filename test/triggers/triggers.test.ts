import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { sql } from 'drizzle-orm';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Executor } from '../../src/db/client.ts';
import { currentChangeSeq, TRIGGERS_CHANNEL, type TriggerChangeNotice } from '../../src/triggers/changes.ts';
import { archiveTrigger, listTriggerVersions, patchTrigger } from '../../src/triggers/triggers.ts';
import { databaseUrl } from '../helpers/pg.ts';
import { type RequestOptions, usePlatform } from '../helpers/platform.ts';
import { appToken as appTokenOf, authorize, registerApp, signUp, type TestApp } from '../oauth/support.ts';

const platform = usePlatform();

const COFFEE = {
  name: 'Fifth coffee on us',
  match: {
    event_types: ['authorization'],
    mccs: ['5814'],
    currencies: ['USD'],
    amount_min: 300,
    amount_max: 5000,
    days_of_week: [1, 2, 3, 4, 5],
    local_time: { from: '22:00', to: '02:00' },
    nth_purchase: { n: 5, window_days: 30, repeat: true },
  },
  limits: { per_card: 10, total_redemptions: 10000, budget: { amount: 500000, currency: 'USD' } },
  action: { type: 'cashback', percent_bps: 500, max: 1000 },
};

let appA: TestApp;
let appB: TestApp;
let tokenA: string;
let tokenB: string;

const appToken = (app: TestApp) => appTokenOf(platform, app);

const as = (token: string) => ({
  post: (path: string, body: unknown, options: RequestOptions = {}) =>
    platform.request('POST', path, { ...options, body, token }),
  get: (path: string) => platform.request('GET', path, { token }),
  patch: (path: string, body: unknown) => platform.request('PATCH', path, { body, token }),
  delete: (path: string) => platform.request('DELETE', path, { token }),
});

const countTriggers = async (appId: string) => {
  const [row] = await platform.deps.sql<{ triggers: number; versions: number }[]>`
    select (select count(*)::int from triggers where app_id = ${appId}) as triggers,
           (select count(*)::int from trigger_versions v join triggers t on t.id = v.trigger_id
             where t.app_id = ${appId}) as versions`;
  return row!;
};

beforeAll(async () => {
  appA = await registerApp(platform, {
    name: 'Coffee Rewards',
    scopes: ['transactions', 'cashback', 'receipts'],
  });
  appB = await registerApp(platform, { name: 'Other App', scopes: ['transactions', 'cashback'] });
  tokenA = await appToken(appA);
  tokenB = await appToken(appB);
});

describe('the trigger API', () => {
  it('creates a trigger as version 1 and reads it back', async () => {
    const created = await as(tokenA).post('/v1/triggers', COFFEE);
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      object: 'trigger',
      app_id: appA.id,
      name: COFFEE.name,
      status: 'active',
      version: 1,
      match: COFFEE.match,
      limits: COFFEE.limits,
      action: { type: 'cashback', percent_bps: 500, max: 1000, fixed: 0, available_after_days: 0 },
      archived_at: null,
    });
    expect(created.body.id).toMatch(/^trg_[0-9a-z]{26}$/);
    expect(Date.parse(created.body.created_at)).not.toBeNaN();

    const read = await as(tokenA).get(`/v1/triggers/${created.body.id}`);
    expect(read.status).toBe(200);
    expect(read.body).toEqual(created.body);

    const versions = await listTriggerVersions(platform.deps.db, { appId: appA.id, id: created.body.id });
    expect(versions).toEqual([
      expect.objectContaining({
        version: 1,
        status: 'active',
        name: COFFEE.name,
        action: created.body.action,
      }),
    ]);
  });

  it('keeps a MID that holds a card number only as its keyed hash, as events and merchants do', async () => {
    const pan = '4000056655665556';
    const created = await as(tokenA).post('/v1/triggers', {
      ...COFFEE,
      match: { mids: ['000123', pan], mccs: ['5814'] },
    });
    expect(created.status).toBe(201);
    const mids: string[] = created.body.match.mids;
    expect(mids[0]).toBe('000123');
    expect(mids[1]).toMatch(/^hmac_/);
    const patched = await as(tokenA).patch(`/v1/triggers/${created.body.id}`, { match: { mids: [pan] } });
    expect(patched.body.match.mids).toEqual([mids[1]]);
    const stored = await platform.deps.sql`
      select t.match::text as t, v.match::text as v from triggers t
      join trigger_versions v on v.trigger_id = t.id where t.id = ${created.body.id}`;
    for (const row of stored) expect(`${row.t} ${row.v}`).not.toContain(pan);
  });

  it('lists the app’s triggers newest first, by pages, and by status', async () => {
    const ids: string[] = [];
    for (const name of ['one', 'two', 'three']) {
      const res = await as(tokenB).post('/v1/triggers', { name, action: { type: 'webhook' } });
      expect(res.status).toBe(201);
      ids.push(res.body.id);
    }
    await as(tokenB).patch(`/v1/triggers/${ids[1]}`, { status: 'paused' });

    const first = await as(tokenB).get('/v1/triggers?limit=2');
    expect(first.status).toBe(200);
    expect(first.body.data.map((t: { id: string }) => t.id)).toEqual([ids[2], ids[1]]);
    expect(first.body.has_more).toBe(true);
    const second = await as(tokenB).get(`/v1/triggers?limit=2&starting_after=${ids[1]}`);
    expect(second.body.data.map((t: { id: string }) => t.id)).toEqual([ids[0]]);
    expect(second.body.has_more).toBe(false);

    const paused = await as(tokenB).get('/v1/triggers?status=paused');
    expect(paused.body.data.map((t: { id: string }) => t.id)).toEqual([ids[1]]);
    const bad = await as(tokenB).get('/v1/triggers?status=deleted&limit=0');
    expect(bad.status).toBe(422);
    expect(bad.body.code).toBe('validation_failed');
    expect(bad.body.errors.map((e: { path: string }) => e.path).sort()).toEqual([
      'query.limit',
      'query.status',
    ]);
  });

  it('patches parts whole as new versions and keeps every version’s definition', async () => {
    const created = await as(tokenA).post('/v1/triggers', COFFEE);
    const id = created.body.id;

    const renamed = await as(tokenA).patch(`/v1/triggers/${id}`, {
      name: 'Coffee, cheaper',
      match: { mccs: ['5812'] },
    });
    expect(renamed.status).toBe(200);
    expect(renamed.body).toMatchObject({ version: 2, name: 'Coffee, cheaper', match: { mccs: ['5812'] } });
    expect(renamed.body.match).not.toHaveProperty('amount_min');
    expect(renamed.body.limits).toEqual(COFFEE.limits);

    const paused = await as(tokenA).patch(`/v1/triggers/${id}`, {
      status: 'paused',
      limits: { per_card: 10 }, // a receipt spends nothing: it cannot keep the budget
      action: { type: 'receipt' },
    });
    expect(paused.body).toMatchObject({ version: 3, status: 'paused', action: { type: 'receipt' } });
    expect(Date.parse(paused.body.updated_at)).toBeGreaterThanOrEqual(Date.parse(created.body.updated_at));

    const unchanged = await as(tokenA).patch(`/v1/triggers/${id}`, {});
    expect(unchanged.body).toEqual(paused.body);

    const versions = await listTriggerVersions(platform.deps.db, { appId: appA.id, id });
    expect(versions.map((v) => [v.version, v.name, v.status, v.action.type])).toEqual([
      [1, COFFEE.name, 'active', 'cashback'],
      [2, 'Coffee, cheaper', 'active', 'cashback'],
      [3, 'Coffee, cheaper', 'paused', 'receipt'],
    ]);
    expect(versions[0]!.match).toEqual(COFFEE.match);
    expect(versions[1]!.match).toEqual({ mccs: ['5812'] });
  });

  it('numbers concurrent changes one after another, none lost', async () => {
    const { body: trigger } = await as(tokenA).post('/v1/triggers', COFFEE);
    const names = Array.from({ length: 12 }, (_, i) => `Name ${i}`);
    const answers = await Promise.all(
      names.map((name) => as(tokenA).patch(`/v1/triggers/${trigger.id}`, { name })),
    );
    expect(answers.map((a) => a.status)).toEqual(names.map(() => 200));
    expect(answers.map((a) => a.body.version).sort((a, b) => a - b)).toEqual(names.map((_, i) => i + 2));
    const versions = await listTriggerVersions(platform.deps.db, { appId: appA.id, id: trigger.id });
    expect(versions.map((v) => v.version)).toEqual([1, ...names.map((_, i) => i + 2)]);
    expect(new Set(versions.slice(1).map((v) => v.name))).toEqual(new Set(names));
    const last = await as(tokenA).get(`/v1/triggers/${trigger.id}`);
    expect(last.body).toMatchObject({ version: 13, name: versions.at(-1)!.name });
  });

  it('dates each version no earlier than the one before, even for a change whose transaction began first', async () => {
    const { body: trigger } = await as(tokenA).post('/v1/triggers', COFFEE);
    const deps = { db: platform.deps.db, cardKeys: platform.deps.cardKeys };
    // A transaction that began before another change committed, then changes the trigger after it.
    const lateChange = async (change: (tx: Executor) => Promise<unknown>, name: string) => {
      let began!: () => void;
      const beganP = new Promise<void>((resolve) => {
        began = resolve;
      });
      let release!: () => void;
      const released = new Promise<void>((resolve) => {
        release = resolve;
      });
      const late = platform.deps.db.transaction(async (tx) => {
        await tx.execute(sql`select 1`);
        began();
        await released;
        await change(tx);
      });
      await beganP;
      const other = await as(tokenA).patch(`/v1/triggers/${trigger.id}`, { name });
      expect(other.status).toBe(200);
      release();
      await late;
    };
    await lateChange(
      (tx) =>
        patchTrigger({ ...deps, db: tx }, { appId: appA.id, id: trigger.id, patch: { status: 'paused' } }),
      'First',
    );
    await lateChange((tx) => archiveTrigger({ db: tx }, { appId: appA.id, id: trigger.id }), 'Second');

    const versions = await listTriggerVersions(platform.deps.db, { appId: appA.id, id: trigger.id });
    expect(versions.map((v) => v.version)).toEqual([1, 2, 3, 4, 5]);
    const times = versions.map((v) => v.createdAt.getTime());
    expect(times).toEqual([...times].sort((a, b) => a - b));
    const read = await as(tokenA).get(`/v1/triggers/${trigger.id}`);
    expect(read.body).toMatchObject({ status: 'archived', version: 5 });
    expect(Date.parse(read.body.updated_at)).toBe(times[4]);
    expect(Date.parse(read.body.archived_at)).toBe(times[4]);
  });

  it('archives on DELETE: still readable, never changed again', async () => {
    const { body: trigger } = await as(tokenA).post('/v1/triggers', COFFEE);
    const deleted = await as(tokenA).delete(`/v1/triggers/${trigger.id}`);
    expect(deleted.status).toBe(204);
    expect(deleted.text).toBe('');

    const read = await as(tokenA).get(`/v1/triggers/${trigger.id}`);
    expect(read.body).toMatchObject({ status: 'archived', version: 2, match: COFFEE.match });
    expect(Date.parse(read.body.archived_at)).not.toBeNaN();

    for (const body of [{ status: 'active' }, { name: 'Back again' }]) {
      const refused = await as(tokenA).patch(`/v1/triggers/${trigger.id}`, body);
      expect(refused.status).toBe(409);
      expect(refused.body.code).toBe('conflict');
      expect(refused.body.detail).toMatch(/archived/);
    }
    const archivedByPatch = await as(tokenA).patch(`/v1/triggers/${trigger.id}`, { status: 'archived' });
    expect(archivedByPatch.status).toBe(422);
    expect(archivedByPatch.body.code).toBe('validation_failed');
    expect(archivedByPatch.body.errors).toEqual([{ path: 'status', message: expect.any(String) }]);

    expect((await as(tokenA).delete(`/v1/triggers/${trigger.id}`)).status).toBe(204);
    expect((await as(tokenA).get(`/v1/triggers/${trigger.id}`)).body).toEqual(read.body);
    expect(
      (await listTriggerVersions(platform.deps.db, { appId: appA.id, id: trigger.id })).map((v) => v.status),
    ).toEqual(['active', 'archived']);
    const archived = await as(tokenA).get('/v1/triggers?status=archived');
    expect(archived.body.data.map((t: { id: string }) => t.id)).toContain(trigger.id);
  });

  it('keeps an app’s triggers and their versions: deleting the app or a trigger row is refused', async () => {
    const app = await registerApp(platform, { name: 'Short-lived', scopes: ['transactions'] });
    const { body: trigger } = await as(await appToken(app)).post('/v1/triggers', {
      name: 'Raw',
      action: { type: 'webhook' },
    });
    const seq = await currentChangeSeq(platform.deps.db);
    // Apps are disabled, never deleted: a cascade would drop triggers with no version, counter bump or NOTIFY.
    await expect(platform.deps.sql`delete from apps where id = ${app.id}`).rejects.toMatchObject({
      code: '23503',
    });
    await expect(platform.deps.sql`delete from triggers where id = ${trigger.id}`).rejects.toMatchObject({
      code: '23503',
    });
    expect(await countTriggers(app.id)).toEqual({ triggers: 1, versions: 1 });
    expect(await currentChangeSeq(platform.deps.db)).toBe(seq);
  });

  it('honours Idempotency-Key on create', async () => {
    const key = { headers: { 'idempotency-key': 'create-coffee-1' } };
    const before = await countTriggers(appA.id);
    const first = await as(tokenA).post('/v1/triggers', COFFEE, key);
    const again = await as(tokenA).post('/v1/triggers', COFFEE, key);
    expect(first.status).toBe(201);
    expect(again.status).toBe(201);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.body).toEqual(first.body);

    const reused = await as(tokenA).post('/v1/triggers', { ...COFFEE, name: 'Another' }, key);
    expect(reused.status).toBe(409);
    expect(reused.body.code).toBe('idempotency_key_reused');
    expect(await countTriggers(appA.id)).toEqual({
      triggers: before.triggers + 1,
      versions: before.versions + 1,
    });

    // Keys are per app: the same key from another app creates its own trigger.
    const other = await as(tokenB).post('/v1/triggers', COFFEE, key);
    expect(other.status).toBe(201);
    expect(other.body.app_id).toBe(appB.id);
  });
});

describe('isolation and authentication', () => {
  it('another app’s trigger is 404 on get, patch and delete, and absent from its list', async () => {
    const { body: trigger } = await as(tokenA).post('/v1/triggers', COFFEE);
    for (const res of [
      await as(tokenB).get(`/v1/triggers/${trigger.id}`),
      await as(tokenB).patch(`/v1/triggers/${trigger.id}`, { status: 'paused' }),
      await as(tokenB).delete(`/v1/triggers/${trigger.id}`),
    ]) {
      expect(res.status).toBe(404);
      expect(res.body.code).toBe('not_found');
    }
    const list = await as(tokenB).get('/v1/triggers?limit=500');
    expect(list.body.data.every((t: { app_id: string }) => t.app_id === appB.id)).toBe(true);
    expect(list.body.data.map((t: { id: string }) => t.id)).not.toContain(trigger.id);
    // Untouched by the other app's attempts.
    expect((await as(tokenA).get(`/v1/triggers/${trigger.id}`)).body).toEqual(trigger);
    expect(await listTriggerVersions(platform.deps.db, { appId: appA.id, id: trigger.id })).toHaveLength(1);
    // Its versions are read only through its own app.
    expect(await listTriggerVersions(platform.deps.db, { appId: appB.id, id: trigger.id })).toEqual([]);
  });

  it('refuses no token, a session token and a user-delegated token', async () => {
    const none = await platform.request('GET', '/v1/triggers');
    expect(none.status).toBe(401);
    expect(none.body.code).toBe('unauthorized');

    const user = await signUp(platform, 'trigger-user');
    const session = await platform.request('GET', '/v1/triggers', { token: user.token });
    expect(session.status).toBe(401);

    const { access_token } = await authorize(platform, user, appA, 'transactions cashback');
    const before = await countTriggers(appA.id);
    const delegated = await as(access_token).post('/v1/triggers', { name: '' });
    expect(delegated.status).toBe(403);
    expect(delegated.body.code).toBe('forbidden');
    expect(delegated.body.detail).toMatch(/client_credentials/);
    expect((await as(access_token).get('/v1/triggers')).status).toBe(403);
    expect(await countTriggers(appA.id)).toEqual(before);
  });
});

describe('refusals', () => {
  it('refuses an action whose scope the app did not register, storing nothing', async () => {
    const before = await countTriggers(appA.id);
    const refused = await as(tokenA).post(
      '/v1/triggers',
      { ...COFFEE, limits: {}, action: { type: 'points', per_unit: 10 } },
      { headers: { 'idempotency-key': 'points-1' } },
    );
    expect(refused.status).toBe(422);
    expect(refused.body.code).toBe('validation_failed');
    expect(refused.body.errors).toEqual([
      { path: 'action.type', message: expect.stringMatching(/"loyalty"/) },
    ]);
    expect(await countTriggers(appA.id)).toEqual(before);

    const { body: trigger } = await as(tokenA).post('/v1/triggers', COFFEE);
    const patched = await as(tokenA).patch(`/v1/triggers/${trigger.id}`, {
      name: 'Coupons now',
      action: { type: 'coupon', code_prefix: 'BB', value: { amount: 100, currency: 'USD' } },
    });
    expect(patched.status).toBe(422);
    expect(patched.body.code).toBe('validation_failed');
    expect(patched.body.errors).toEqual([
      { path: 'action.type', message: expect.stringMatching(/"coupons"/) },
    ]);
    expect((await as(tokenA).get(`/v1/triggers/${trigger.id}`)).body).toEqual(trigger);
    expect(await listTriggerVersions(platform.deps.db, { appId: appA.id, id: trigger.id })).toHaveLength(1);
  });

  it('refuses a budget on an action that cannot spend it, on create and on either half of a patch', async () => {
    const before = await countTriggers(appA.id);
    const created = await as(tokenA).post('/v1/triggers', { ...COFFEE, action: { type: 'receipt' } });
    expect(created.status).toBe(422);
    expect(created.body.code).toBe('validation_failed');
    expect(created.body.errors).toEqual([
      { path: 'limits.budget', message: expect.stringMatching(/receipt/) },
    ]);
    expect(await countTriggers(appA.id)).toEqual(before);

    const { body: cashback } = await as(tokenA).post('/v1/triggers', COFFEE);
    const { body: webhook } = await as(tokenA).post('/v1/triggers', {
      name: 'Raw',
      action: { type: 'webhook' },
    });
    for (const [trigger, patch] of [
      [cashback, { action: { type: 'receipt' } }],
      [webhook, { limits: COFFEE.limits }],
    ] as const) {
      const refused = await as(tokenA).patch(`/v1/triggers/${trigger.id}`, patch);
      expect(refused.status).toBe(422);
      expect(refused.body.code).toBe('validation_failed');
      expect(refused.body.errors).toEqual([{ path: 'limits.budget', message: expect.any(String) }]);
      expect((await as(tokenA).get(`/v1/triggers/${trigger.id}`)).body).toEqual(trigger);
      expect(await listTriggerVersions(platform.deps.db, { appId: appA.id, id: trigger.id })).toHaveLength(1);
    }
  });

  it('lists every problem of a nonsense trigger at once', async () => {
    const before = await countTriggers(appA.id);
    const res = await as(tokenA).post('/v1/triggers', {
      name: 'Nonsense',
      colour: 'blue',
      match: {
        amount_min: 900,
        amount_max: 100,
        currencies: ['XXY'],
        countries: ['ZZ'],
        schemes: ['diners'],
        entry_modes: ['telepathy'],
        days_of_week: [0, 8],
        local_time: { from: '25:00', to: '7am' },
        starts_at: '2026-12-31T00:00:00Z',
        ends_at: '2026-01-01T00:00:00Z',
        nth_purchase: { n: 1 },
        vibe: 'good',
      },
      limits: { per_card: 0 },
      action: { type: 'cashback', percent_bps: 20_000 },
    });
    expect(res.status).toBe(422);
    expect(res.body.code).toBe('validation_failed');
    const paths = res.body.errors.map((e: { path: string }) => e.path);
    for (const path of [
      'match.currencies.0',
      'match.countries.0',
      'match.schemes.0',
      'match.entry_modes.0',
      'match.days_of_week.0',
      'match.days_of_week.1',
      'match.local_time.from',
      'match.local_time.to',
      'match.nth_purchase.n',
      'limits.per_card',
      'action.percent_bps',
    ])
      expect(paths).toContain(path);
    // Unknown fields are named by the object that does not know them.
    expect(res.body.errors).toContainEqual({ path: '(body)', message: expect.stringMatching(/"colour"/) });
    expect(res.body.errors).toContainEqual({ path: 'match', message: expect.stringMatching(/"vibe"/) });
    expect(await countTriggers(appA.id)).toEqual(before);
  });

  it.each([
    ['amount_min above amount_max', { match: { amount_min: 900, amount_max: 100 } }, 'match.amount_max'],
    [
      'ends_at before starts_at',
      { match: { starts_at: '2026-12-31T00:00:00Z', ends_at: '2026-01-01T00:00:00Z' } },
      'match.ends_at',
    ],
    ['a coupon without code_prefix', { action: { type: 'coupon' } }, 'action.code_prefix'],
    ['an unknown action type', { action: { type: 'lottery' } }, 'action.type'],
    ['a NUL in the name', { name: 'Coffee\u0000' }, 'name'],
    [
      'a NUL deep in match',
      { match: { merchant_name_contains: 'BLUE\u0000BOTTLE' } },
      'match.merchant_name_contains',
    ],
    ['a huge list', { match: { mids: Array.from({ length: 5000 }, (_, i) => `M${i}`) } }, 'match.mids'],
    ['a wrong type', { limits: { budget: { amount: '5', currency: 'USD' } } }, 'limits.budget.amount'],
  ])('refuses %s with a 422 naming the field', async (_label, change, path) => {
    const body = { ...COFFEE, ...change };
    const before = await countTriggers(appA.id);
    const res = await as(tokenA).post('/v1/triggers', body);
    expect(res.status).toBe(422);
    expect(res.body.code).toBe('validation_failed');
    expect(res.body.errors.map((e: { path: string }) => e.path)).toContain(path);
    expect(await countTriggers(appA.id)).toEqual(before);
  });

  it.each([
    ['an array', '[]'],
    ['null', 'null'],
    ['a string', '"trigger"'],
    ['broken JSON', '{"name":'],
    ['deeply nested JSON', `{"name":"x","match":${'['.repeat(5000)}${']'.repeat(5000)}}`],
  ])('answers %s with a 4xx problem, never a 500', async (_label, raw) => {
    const before = await countTriggers(appA.id);
    for (const method of ['POST', 'PATCH']) {
      const res = await platform.request(method, method === 'POST' ? '/v1/triggers' : '/v1/triggers/trg_x', {
        raw,
        token: tokenA,
      });
      expect(res.status).toBeGreaterThanOrEqual(400);
      expect(res.status).toBeLessThan(500);
      expect(res.headers.get('content-type')).toMatch(/problem\+json/);
      expect(res.body.code).toEqual(expect.any(String));
    }
    expect(await countTriggers(appA.id)).toEqual(before);
  });

  it('is 404 for an unknown id', async () => {
    const before = await countTriggers(appA.id);
    for (const res of [
      await as(tokenA).get('/v1/triggers/trg_nope'),
      await as(tokenA).patch('/v1/triggers/trg_nope', { name: 'x' }),
      await as(tokenA).delete('/v1/triggers/trg_nope'),
    ]) {
      expect(res.status).toBe(404);
      expect(res.body.code).toBe('not_found');
    }
    expect(await countTriggers(appA.id)).toEqual(before);
  });
});

describe('change notifications', () => {
  let listener: postgres.Sql;
  const notices: TriggerChangeNotice[] = [];

  beforeAll(async () => {
    listener = postgres(databaseUrl(platform.databaseName), { max: 1, onnotice: () => {} });
    await listener.listen(TRIGGERS_CHANNEL, (payload) => notices.push(JSON.parse(payload)));
  });
  afterAll(async () => {
    await listener?.end({ timeout: 5 });
  });

  const noticeOf = async (id: string, version: number) => {
    await expect.poll(() => notices.some((n) => n.id === id && n.version === version)).toBe(true);
    return notices.find((n) => n.id === id && n.version === version)!;
  };

  it('announces create, patch, pause and archive with the counter', async () => {
    const { body: trigger } = await as(tokenA).post('/v1/triggers', COFFEE);
    const created = await noticeOf(trigger.id, 1);
    expect(created).toEqual({ id: trigger.id, app_id: appA.id, version: 1, seq: expect.any(Number) });
    await as(tokenA).patch(`/v1/triggers/${trigger.id}`, { name: 'Renamed' });
    await as(tokenA).patch(`/v1/triggers/${trigger.id}`, { status: 'paused' });
    await as(tokenA).delete(`/v1/triggers/${trigger.id}`);
    const seqs = [created.seq];
    for (const version of [2, 3, 4]) seqs.push((await noticeOf(trigger.id, version)).seq);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    expect(new Set(seqs).size).toBe(4);
    expect(await currentChangeSeq(platform.deps.db)).toBeGreaterThanOrEqual(seqs[3]!);
  });

  it('writes, counts and announces nothing for a patch equal to the current trigger', async () => {
    const pan = '4000056655665556';
    const match = { ...COFFEE.match, mids: ['000123', pan] };
    const { body: trigger } = await as(tokenA).post('/v1/triggers', { ...COFFEE, match });
    await noticeOf(trigger.id, 1);
    const seq = await currentChangeSeq(platform.deps.db);
    // Each part as the app would send it again: defaults left out, the card-number MID in the clear.
    for (const patch of [
      { status: 'active' },
      { name: COFFEE.name },
      { match },
      { limits: COFFEE.limits },
      { action: COFFEE.action },
      { name: COFFEE.name, status: 'active', match, limits: COFFEE.limits, action: COFFEE.action },
    ]) {
      const res = await as(tokenA).patch(`/v1/triggers/${trigger.id}`, patch);
      expect(res.status).toBe(200);
      expect(res.body).toEqual(trigger);
    }
    expect(await listTriggerVersions(platform.deps.db, { appId: appA.id, id: trigger.id })).toHaveLength(1);
    expect(await currentChangeSeq(platform.deps.db)).toBe(seq);
    // A part that differs still makes a version.
    const renamed = await as(tokenA).patch(`/v1/triggers/${trigger.id}`, { status: 'active', name: 'New' });
    expect(renamed.body).toMatchObject({ version: 2, name: 'New' });
    expect((await noticeOf(trigger.id, 2)).seq).toBe(seq + 1);
    expect(notices.filter((n) => n.id === trigger.id).map((n) => n.version)).toEqual([1, 2]);
  });

  it('sends nothing for a refused change', async () => {
    const { body: trigger } = await as(tokenA).post('/v1/triggers', COFFEE);
    await noticeOf(trigger.id, 1);
    const seq = await currentChangeSeq(platform.deps.db);
    const refused = await as(tokenA).patch(`/v1/triggers/${trigger.id}`, {
      action: { type: 'social_post', template: 'hi' },
    });
    expect(refused.status).toBe(422);
    expect(refused.body.code).toBe('validation_failed');
    expect(await listTriggerVersions(platform.deps.db, { appId: appA.id, id: trigger.id })).toHaveLength(1);
    const { body: marker } = await as(tokenA).post('/v1/triggers', {
      name: 'marker',
      action: { type: 'webhook' },
    });
    const markerNotice = await noticeOf(marker.id, 1);
    // Notices arrive in commit order: the marker's came after anything the refused patch could have sent.
    expect(notices.filter((n) => n.id === trigger.id)).toHaveLength(1);
    expect(markerNotice.seq).toBe(seq + 1);
  });

  it('delivers a change only when its transaction commits, and never when it rolls back', async () => {
    const { body: trigger } = await as(tokenA).post('/v1/triggers', COFFEE);
    await noticeOf(trigger.id, 1);
    const seqBefore = await currentChangeSeq(platform.deps.db);

    const rolledBack = platform.deps.db.transaction(async (tx) => {
      await patchTrigger(
        { db: tx, cardKeys: platform.deps.cardKeys },
        { appId: appA.id, id: trigger.id, patch: { name: 'Never seen' } },
      );
      throw new Error('roll back');
    });
    await expect(rolledBack).rejects.toThrow('roll back');

    let release!: () => void;
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    let patched!: () => void;
    const patchDone = new Promise<void>((resolve) => {
      patched = resolve;
    });
    const committed = platform.deps.db.transaction(async (tx) => {
      await patchTrigger(
        { db: tx, cardKeys: platform.deps.cardKeys },
        { appId: appA.id, id: trigger.id, patch: { name: 'Seen after commit' } },
      );
      patched();
      await released;
    });
    await patchDone;
    // While it is open, a notice committed elsewhere arrives, and the open change's has not: notices arrive
    // in commit order. (Another trigger change would wait: the open one holds the change counter's row.)
    const marker = { id: 'marker', app_id: 'none', version: 1, seq: 0 };
    await platform.deps.sql`select pg_notify(${TRIGGERS_CHANNEL}, ${JSON.stringify(marker)})`;
    await noticeOf('marker', 1);
    expect(notices.filter((n) => n.id === trigger.id).map((n) => n.version)).toEqual([1]);

    release();
    await committed;
    const notice = await noticeOf(trigger.id, 2);
    expect(notices.filter((n) => n.id === trigger.id).map((n) => n.version)).toEqual([1, 2]);
    // The rolled-back change used no counter value.
    expect(notice.seq).toBe(seqBefore + 1);
    expect(await currentChangeSeq(platform.deps.db)).toBe(seqBefore + 1);
    expect((await as(tokenA).get(`/v1/triggers/${trigger.id}`)).body).toMatchObject({
      name: 'Seen after commit',
      version: 2,
    });
  });
});

describe('the OpenAPI document', () => {
  it('describes the trigger routes and the DSL', async () => {
    const { body: doc } = await platform.request('GET', '/openapi.json');
    for (const name of [
      'Trigger',
      'TriggerInput',
      'TriggerPatch',
      'TriggerMatch',
      'TriggerLimits',
      'TriggerAction',
    ])
      expect(doc.components.schemas).toHaveProperty(name);
    expect(Object.keys(doc.paths['/v1/triggers']).sort()).toEqual(['get', 'post']);
    expect(Object.keys(doc.paths['/v1/triggers/{id}']).sort()).toEqual(['delete', 'get', 'patch']);
    expect(doc.paths['/v1/triggers'].post.requestBody.content['application/json'].schema).toEqual({
      $ref: '#/components/schemas/TriggerInput',
    });
    expect(doc.components.schemas.TriggerMatch.properties).toHaveProperty('days_of_week');
  });
});

describe('the README', () => {
  it('creates a trigger with the curl example, as the app', async () => {
    const base = await platform.listen();
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const blocks = [...readme.matchAll(/```sh\n([\s\S]*?)```/g)]
      .map((match) => match[1] ?? '')
      .filter((text) => text.includes('Idempotency-Key: fifth-coffee'));
    expect(blocks).toHaveLength(1);
    const script = blocks[0]!
      .replaceAll('localhost:3000', base.replace('http://', ''))
      .split('\n')
      .filter((line) => !line.startsWith('CLIENT_ID=')) // the placeholders; the test sets both
      .join('\n');
    const { stdout } = await promisify(execFile)('bash', ['-c', `set -euo pipefail\n${script}`], {
      env: { PATH: process.env.PATH, CLIENT_ID: appA.client_id, CLIENT_SECRET: appA.client_secret },
    });
    const created = JSON.parse(stdout);
    expect(created).toMatchObject({ object: 'trigger', app_id: appA.id, status: 'active', version: 1 });
    expect((await as(tokenA).get(`/v1/triggers/${created.id}`)).body).toEqual(created);
  });
});
