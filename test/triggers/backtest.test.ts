import { beforeAll, describe, expect, it } from 'vitest';
import { cardIdForApp } from '../../src/cards/pseudonyms.ts';
import { backtestTrigger } from '../../src/triggers/backtest.ts';
import { usePlatform } from '../helpers/platform.ts';
import { authorization, createTestProcessor, follower, postEvents, testPan } from '../ingest/fixtures.ts';
import {
  appToken as appTokenOf,
  registerApp,
  signUp,
  type TestApp,
  type TestUser,
} from '../oauth/support.ts';

const platform = usePlatform();

// Thirteen days of November 2026 in Oakland (UTC-8): [from, to) as the backtests ask for them.
const FROM = '2026-11-01T00:00:00Z';
const TO = '2026-11-14T00:00:00Z';
const at = (date: string, time: string) => `2026-${date}T${time}:00-08:00`;

const GROCERY = { mid: '000999', name: 'CORNER GROCERY', mcc: '5411', country: 'US' };

let appA: TestApp;
let appB: TestApp;
let tokenA: string;
let tokenB: string;
/** Platform card ids by name (c1 … c6), to work out what each app should see. */
const cards: Record<string, string> = {};

const appToken = (app: TestApp) => appTokenOf(platform, app);

async function enroll(user: TestUser, name: string, pan: string) {
  const res = await platform.request('POST', '/v1/me/cards', {
    token: user.token,
    body: { pan, exp_month: 12, exp_year: 2030 },
  });
  if (res.status !== 201) throw new Error(`card: ${res.status} ${res.text}`);
  cards[name] = res.body.id;
}

async function grant(user: TestUser, app: TestApp, scopes: string[]) {
  const res = await platform.request('POST', '/v1/me/grants', {
    token: user.token,
    body: { app_id: app.id, scopes },
  });
  if (res.status !== 201) throw new Error(`grant: ${res.status} ${res.text}`);
}

async function createTrigger(token: string, trigger: Record<string, unknown>): Promise<string> {
  const res = await platform.request('POST', '/v1/triggers', { token, body: trigger });
  if (res.status !== 201) throw new Error(`trigger: ${res.status} ${res.text}`);
  return res.body.id;
}

const backtest = (token: string, id: string, body: unknown = { from: FROM, to: TO }) =>
  platform.request('POST', `/v1/triggers/${id}/backtest`, { token, body });

async function send(events: unknown[]) {
  const res = await postEvents(platform, processor, { events });
  expect(res.status).toBe(200);
  expect(res.body.results.map((r: { status: string }) => r.status)).toEqual(events.map(() => 'accepted'));
}

let processor: Awaited<ReturnType<typeof createTestProcessor>>;

// Coffee with a stamp card: every third coffee between 07:00 and 11:00 earns 10% back, once per card, from a
// budget of 7.00 USD.
let stampCard: string;
// Points on every coffee, once per user and local day.
let dailyPoints: string;
// A dollar on the first purchase at the café's MID; paused, and backtested all the same.
let firstVisit: string;
// App B: a webhook on every coffee.
let coffeeWebhook: string;

beforeAll(async () => {
  processor = await createTestProcessor(platform);
  appA = await registerApp(platform, {
    name: 'Coffee Club',
    scopes: ['transactions', 'cashback', 'loyalty'],
  });
  appB = await registerApp(platform, { name: 'Other App', scopes: ['transactions'] });
  [tokenA, tokenB] = await Promise.all([appToken(appA), appToken(appB)]);

  const [u1, u2, u3, u4, u5, u6] = await Promise.all(
    ['u1', 'u2', 'u3', 'u4', 'u5', 'u6'].map((label) => signUp(platform, label)),
  );
  const pans = Object.fromEntries(
    ['c1', 'c2', 'c2b', 'c3', 'c4', 'c5', 'c6'].map((name, i) => [name, testPan(7100 + i)]),
  ) as Record<string, string>;
  await enroll(u1!, 'c1', pans.c1!);
  await enroll(u2!, 'c2', pans.c2!);
  await enroll(u2!, 'c2b', pans.c2b!);
  await enroll(u3!, 'c3', pans.c3!);
  await enroll(u4!, 'c4', pans.c4!);
  await enroll(u5!, 'c5', pans.c5!);
  await enroll(u6!, 'c6', pans.c6!);
  await grant(u1!, appA, ['transactions', 'cashback', 'loyalty']);
  await grant(u1!, appB, ['transactions']);
  await grant(u2!, appA, ['transactions', 'cashback', 'loyalty']);
  await grant(u3!, appA, ['transactions']); // neither cashback nor loyalty
  await grant(u4!, appA, ['cashback', 'loyalty']);
  expect((await platform.request('DELETE', `/v1/me/grants/${appA.id}`, { token: u4!.token })).status).toBe(
    204,
  );
  await grant(u5!, appB, ['transactions']);
  await grant(u6!, appA, ['cashback', 'loyalty']);

  const coffee = (card: string, date: string, time: string, amount = 500) =>
    authorization({ pan: pans[card], occurred_at: at(date, time), amount });
  const e3 = coffee('c1', '11-04', '08:00');
  const e4 = coffee('c1', '11-05', '08:00');
  await send([
    coffee('c1', '10-20', '08:00'), // before the range
    coffee('c1', '11-02', '08:00'),
    coffee('c1', '11-03', '08:00'),
    e3,
    e4,
    coffee('c1', '11-06', '08:00'),
    coffee('c1', '11-07', '08:00'),
    coffee('c1', '11-08', '12:30'),
    authorization({ pan: pans.c1, occurred_at: at('11-08', '08:30'), amount: 900, merchant: GROCERY }),
    coffee('c1', '11-13', '16:00'), // 2026-11-14T00:00:00Z: the end of the range, excluded
    coffee('c2', '11-02', '09:00', 5000),
    coffee('c2', '11-03', '09:00', 5000),
    coffee('c2', '11-04', '09:00', 5000),
    coffee('c2b', '11-04', '15:00', 5000),
    coffee('c2b', '11-12', '09:00', 5000),
    coffee('c2b', '11-13', '09:00', 5000),
    coffee('c3', '11-02', '08:00'),
    coffee('c3', '11-03', '12:30'),
    coffee('c4', '11-02', '08:00'),
    coffee('c4', '11-03', '08:00'),
    coffee('c4', '11-04', '08:00'),
    coffee('c5', '11-05', '08:00'),
    coffee('c5', '11-06', '08:00'),
    coffee('c6', '11-08', '10:00', 5000),
    coffee('c6', '11-09', '10:00', 5000),
    coffee('c6', '11-10', '10:00', 5000),
  ]);
  await send([
    // Followers of a purchase are not purchases of their own.
    follower('clearing', { pan: pans.c1, original_id: e3.id, occurred_at: at('11-05', '02:00') }),
    follower('refund', { pan: pans.c1, original_id: e4.id, occurred_at: at('11-09', '08:00') }),
    // A clearing no authorization was seen for is the purchase.
    follower('clearing', {
      pan: pans.c2b,
      occurred_at: at('11-11', '09:00'),
      amount: 4990,
      auth_code: 'CLR001',
    }),
  ]);

  stampCard = await createTrigger(tokenA, {
    name: 'Third coffee, 10% back',
    match: {
      mccs: ['5814'],
      local_time: { from: '07:00', to: '11:00' },
      nth_purchase: { n: 3, repeat: true },
    },
    limits: { per_card: 1, budget: { amount: 700, currency: 'USD' } },
    action: { type: 'cashback', percent_bps: 1000 },
  });
  dailyPoints = await createTrigger(tokenA, {
    name: 'Points on coffee',
    match: { merchant_name_contains: 'coffee' },
    limits: { per_user_per_day: 1 },
    action: { type: 'points', fixed: 10, per_unit: 1 },
  });
  firstVisit = await createTrigger(tokenA, {
    name: 'First visit',
    status: 'paused',
    match: { mids: ['000123'], first_purchase: true },
    action: { type: 'cashback', fixed: 100 },
  });
  coffeeWebhook = await createTrigger(tokenB, {
    name: 'Coffee',
    match: { mccs: ['5814'] },
    action: { type: 'webhook' },
  });
});

describe('POST /v1/triggers/{id}/backtest', () => {
  it('replays a stamp card with its window, per-card limit and budget over the users who grant the app today', async () => {
    const res = await backtest(tokenA, stampCard);
    expect(res.status).toBe(200);
    // Scanned: the purchases of u1, u2 (two cards), u3 and u6 in the range. Not u4 (revoked), not u5 (never
    // granted this app), not the clearing or refund following an authorization.
    expect(res.body).toMatchObject({
      object: 'trigger_backtest',
      trigger_id: stampCard,
      version: 1,
      from: '2026-11-01T00:00:00.000Z',
      to: '2026-11-14T00:00:00.000Z',
      events_scanned: 20,
      would_fire: 3,
      // 10% of 5.00 + 10% of 50.00 + the last 1.50 of the budget (10% of 50.00 cut to what was left).
      reward: { amount: 700, currency: 'USD' },
      reward_other_currencies: [],
      points: 0,
      complete: true,
      scanned_to: '2026-11-14T00:00:00.000Z',
    });
    expect(res.body.not_fired).toEqual({
      not_nth_purchase: 10,
      limit_per_card_reached: 1, // c1's sixth coffee: its third stamp again, but the card had its one
      outside_local_time: 2,
      mcc_mismatch: 1,
      scope_not_granted: 2, // u3 granted no cashback: both its coffees, the 12:30 one too, count as that alone
      budget_exhausted: 1, // c2b's third coffee, after c6 spent the rest
    });
    expect(
      res.body.sample.map((s: { amount: number; reward: unknown; occurred_at: string }) => [
        s.occurred_at,
        s.amount,
        s.reward,
      ]),
    ).toEqual([
      ['2026-11-04T16:00:00.000Z', 500, { amount: 50, currency: 'USD' }],
      ['2026-11-04T17:00:00.000Z', 5000, { amount: 500, currency: 'USD' }],
      ['2026-11-10T18:00:00.000Z', 5000, { amount: 150, currency: 'USD' }],
    ]);
    expect(res.body.sample[0]).toMatchObject({
      type: 'authorization',
      currency: 'USD',
      merchant: { name: 'BLUE BOTTLE COFFEE', mcc: '5814' },
      points: null,
    });
    expect(res.body.sample[0].event_id).toMatch(/^evt_/);
  });

  it('counts a purchase of a user whose grant lacks the action’s scope as scope_not_granted and nothing else', async () => {
    const grocery = await createTrigger(tokenA, {
      name: 'Groceries',
      match: { mccs: ['5411'] },
      action: { type: 'cashback', fixed: 100 },
    });
    const res = await backtest(tokenA, grocery);
    expect(res.status).toBe(200);
    // u3's two coffees are neither mcc_mismatch nor anything else the app could learn about them.
    expect(res.body).toMatchObject({ events_scanned: 20, would_fire: 1 });
    expect(res.body.not_fired).toEqual({ mcc_mismatch: 17, scope_not_granted: 2 });
  });

  it('counts points and the per-user-per-day limit in the merchant’s local day', async () => {
    const res = await backtest(tokenA, dailyPoints);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      events_scanned: 20,
      would_fire: 16,
      // 10 + 1 a dollar: seven 5.00 coffees of u1, five 50.00 and one 49.90 of u2, three 50.00 of u6.
      points: 7 * 15 + 5 * 60 + 59 + 3 * 60,
      reward: { amount: 0, currency: null },
    });
    expect(res.body.not_fired).toEqual({
      merchant_mismatch: 1,
      scope_not_granted: 2,
      limit_per_user_per_day_reached: 1, // u2's second card, the same day as its first
    });
    expect(res.body.sample).toHaveLength(16);
    expect(res.body.sample[0]).toMatchObject({ reward: null, points: 15 });
  });

  it('backtests a paused trigger as if it were active: a first purchase is the card’s first at the merchant', async () => {
    const res = await backtest(tokenA, firstVisit);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      events_scanned: 20,
      would_fire: 4, // c1, c2, c2b and c6, each on its first coffee
      reward: { amount: 400, currency: 'USD' },
    });
    expect(res.body.not_fired).toEqual({
      not_first_purchase: 13,
      merchant_mismatch: 1,
      scope_not_granted: 2,
    });
  });

  it('shows cards under the app’s own card ids, never the platform’s or another app’s', async () => {
    const [a, b] = await Promise.all([backtest(tokenA, stampCard), backtest(tokenB, coffeeWebhook)]);
    const forA = (name: string) => cardIdForApp(platform.config, appA.id, cards[name]!);
    const forB = (name: string) => cardIdForApp(platform.config, appB.id, cards[name]!);
    expect(a.body.sample.map((s: { card: { id: string } }) => s.card.id)).toEqual([
      forA('c1'),
      forA('c2'),
      forA('c6'),
    ]);
    // App B sees u1 (who granted it too) and u5: c1's seven coffees and c5's two.
    expect(b.body).toMatchObject({ events_scanned: 10, would_fire: 9, not_fired: { mcc_mismatch: 1 } });
    const idsForB = new Set(b.body.sample.map((s: { card: { id: string } }) => s.card.id));
    expect(idsForB).toEqual(new Set([forB('c1'), forB('c5')]));
    expect(forB('c1')).not.toBe(forA('c1'));
    const text = `${a.text}${b.text}`;
    for (const id of Object.values(cards)) expect(text).not.toContain(id);
  });

  it('acts on nothing', async () => {
    const count = async () => {
      const [row] = await platform.deps.sql`
        select (select count(*)::int from actions) as actions,
               (select count(*)::int from trigger_counters) as counters,
               (select count(*)::int from trigger_card_states) as card_states,
               (select count(*)::int from trigger_user_days) as user_days,
               (select count(*)::int from trigger_misses) as misses,
               (select count(*)::int from events) as events,
               (select count(*)::int from trigger_versions) as versions`;
      return row;
    };
    const before = await count();
    for (const id of [stampCard, dailyPoints, firstVisit])
      expect((await backtest(tokenA, id)).status).toBe(200);
    expect(await count()).toEqual(before);
    const trigger = await platform.request('GET', `/v1/triggers/${firstVisit}`, { token: tokenA });
    expect(trigger.body).toMatchObject({ status: 'paused', version: 1 });
  });

  it('answers what it scanned when its time runs out', async () => {
    const result = await backtestTrigger(
      { ...platform.deps, config: { ...platform.config, backtestTimeLimitMs: 0 } },
      { appId: appA.id, triggerId: stampCard, from: new Date(FROM), to: new Date(TO) },
    );
    expect(result).toMatchObject({
      complete: false,
      eventsScanned: 0,
      scannedTo: '2026-11-01T00:00:00.000Z',
    });
  });

  it('runs at most BACKTEST_MAX_CONCURRENT at once in a process, and answers 503 with Retry-After beyond', async () => {
    const slots = platform.deps.backtestSlots;
    // As if the process were running as many backtests as it may.
    const held = Array.from({ length: platform.config.backtestMaxConcurrent }, () => slots.tryTake());
    try {
      expect(held.every((release) => release !== null)).toBe(true);
      const refused = await backtest(tokenA, stampCard);
      expect(refused.status).toBe(503);
      expect(refused.headers.get('content-type')).toBe('application/problem+json');
      expect(refused.headers.get('retry-after')).toBe(
        String(Math.ceil(platform.config.backtestTimeLimitMs / 1000)),
      );
      expect(refused.body).toMatchObject({ status: 503, code: 'service_unavailable' });
    } finally {
      for (const release of held) release?.();
    }
    // Its slot given back, a backtest runs again; and one that ran gives its own back.
    expect((await backtest(tokenA, stampCard)).status).toBe(200);
    expect(slots.inUse).toBe(0);
  });

  it('treats another app’s trigger like an unknown one', async () => {
    for (const [token, id] of [
      [tokenB, stampCard],
      [tokenA, coffeeWebhook],
      [tokenA, 'trg_00000000000000000000000000'],
    ] as const) {
      const res = await backtest(token, id);
      expect(res.status).toBe(404);
      expect(res.body.code).toBe('not_found');
    }
    // A refused backtest gives its slot back.
    expect(platform.deps.backtestSlots.inUse).toBe(0);
  });

  it('refuses a range that is empty, backwards, longer than 90 days or not RFC 3339, naming the field', async () => {
    const cases: [unknown, { path: string; message: string }[]][] = [
      [{ from: FROM, to: FROM }, [{ path: 'to', message: 'must be after from' }]],
      [{ from: TO, to: FROM }, [{ path: 'to', message: 'must be after from' }]],
      [
        { from: '2026-08-01T00:00:00Z', to: '2026-10-30T00:00:01Z' },
        [{ path: 'to', message: 'must be at most 90 days after from' }],
      ],
      [
        { from: '2026-11-01', to: TO },
        [{ path: 'from', message: expect.stringContaining('RFC 3339') as unknown as string }],
      ],
      [{ from: FROM }, [{ path: 'to', message: expect.any(String) as unknown as string }]],
      [
        { from: FROM, to: TO, limit: 5 },
        [{ path: '(body)', message: expect.any(String) as unknown as string }],
      ],
    ];
    for (const [body, errors] of cases) {
      const res = await backtest(tokenA, stampCard, body);
      expect(res.status, JSON.stringify(body)).toBe(422);
      expect(res.body).toMatchObject({ code: 'validation_failed', errors });
    }
    // Exactly 90 days is allowed.
    const ninety = await backtest(tokenA, stampCard, {
      from: '2026-08-01T00:00:00Z',
      to: '2026-10-30T00:00:00Z',
    });
    expect(ninety.status).toBe(200);
    expect(ninety.body.events_scanned).toBe(1); // c1's coffee of October 20
  });

  it('is in the OpenAPI document', async () => {
    const { body: doc } = await platform.request('GET', '/openapi.json');
    expect(Object.keys(doc.paths['/v1/triggers/{id}/backtest'])).toEqual(['post']);
    expect(
      doc.paths['/v1/triggers/{id}/backtest'].post.requestBody.content['application/json'].schema,
    ).toEqual({
      $ref: '#/components/schemas/TriggerBacktestRequest',
    });
    expect(doc.components.schemas.TriggerBacktest.properties).toHaveProperty('not_fired');
  });
});
