import { beforeAll, describe, expect, it } from 'vitest';
import { usePlatform } from '../helpers/platform.ts';
import {
  authorization,
  createTestProcessor,
  follower,
  postEvents,
  type TestProcessor,
  testPan,
} from '../ingest/fixtures.ts';
import { registerApp, signUp, type TestApp, type TestUser, tokenRequest } from '../oauth/support.ts';

// Ingestion does not write `actions` or `trigger_misses` yet: the tests record those rows as it will, and create
// the triggers they fire or miss after the event, so that a wired-in engine cannot decide the same pair itself.

const platform = usePlatform();
const nextYear = new Date().getUTCFullYear() + 1;

let processor: TestProcessor;
let panSeed = 7100;

/** A fresh app per test, so that no test sees another's triggers. */
const newApp = (name: string) =>
  registerApp(platform, { name, scopes: ['transactions', 'cashback', 'loyalty'] });

interface Cardholder {
  user: TestUser;
  cardId: string;
  pan: string;
}

async function cardholder(connect: TestApp[]): Promise<Cardholder> {
  const user = await signUp(platform, 'activity');
  const pan = testPan(panSeed++);
  const card = await platform.request('POST', '/v1/me/cards', {
    token: user.token,
    body: { pan, exp_month: 5, exp_year: nextYear },
  });
  if (card.status !== 201) throw new Error(`card: ${card.status} ${card.text}`);
  for (const app of connect) {
    const grant = await platform.request('POST', '/v1/me/grants', {
      token: user.token,
      body: { app_id: app.id, scopes: ['transactions', 'cashback'] },
    });
    if (grant.status !== 201) throw new Error(`grant: ${grant.status} ${grant.text}`);
  }
  return { user, cardId: card.body.id, pan };
}

async function ingest(...events: Record<string, unknown>[]): Promise<string[]> {
  const res = await postEvents(platform, processor, { events });
  if (res.status !== 200) throw new Error(`ingest: ${res.status} ${res.text}`);
  return res.body.results.map((r: { event_id: string; status: string }) => {
    expect(r.status).toBe('accepted');
    return r.event_id;
  });
}

async function createTrigger(app: TestApp, body: Record<string, unknown>): Promise<string> {
  const token = await tokenRequest(platform, app, '/oauth/token', { grant_type: 'client_credentials' });
  const res = await platform.request('POST', '/v1/triggers', { token: token.body.access_token, body });
  if (res.status !== 201) throw new Error(`trigger: ${res.status} ${res.text}`);
  return res.body.id;
}

/** What ingestion records when a trigger fires for a purchase. */
async function recordFired(
  eventId: string,
  triggerId: string,
  reward: { amount?: number; points?: number } = { amount: 24 },
) {
  const id = `act_${eventId.slice(4)}${triggerId.slice(-4)}`;
  await platform.deps.sql`
    insert into actions (id, trigger_id, trigger_version, app_id, user_id, card_id, purchase_id,
      purchase_received_at, purchase_amount, purchase_currency, type, reward_amount, reward_currency, points,
      local_day)
    select ${id}, t.id, t.version, t.app_id, e.user_id, e.card_id, e.id, e.received_at, e.amount, e.currency,
      t.action->>'type', ${reward.amount ?? null}::bigint,
      case when ${reward.amount ?? null}::bigint is null then null else e.currency end,
      ${reward.points ?? null}::bigint, e.local_at::date
    from events e, triggers t where e.id = ${eventId} and t.id = ${triggerId}`;
  return id;
}

/** What ingestion records when a trigger matched a purchase but a stateful condition held it back. */
async function recordMiss(eventId: string, triggerId: string, reason: string, progress?: [number, number]) {
  await platform.deps.sql`
    insert into trigger_misses (event_id, trigger_id, trigger_version, app_id, user_id, reason, progress_have,
      progress_need)
    select e.id, t.id, t.version, t.app_id, e.user_id, ${reason}, ${progress?.[0] ?? null}::int,
      ${progress?.[1] ?? null}::int
    from events e, triggers t where e.id = ${eventId} and t.id = ${triggerId}`;
}

async function activity(holder: Cardholder, query = '') {
  const res = await platform.request('GET', `/v1/me/activity${query}`, { token: holder.user.token });
  expect(res.status).toBe(200);
  return res.body as { data: any[]; has_more: boolean };
}

const eventIn = async (holder: Cardholder, eventId: string) => {
  const found = (await activity(holder, '?limit=500')).data.find((e) => e.id === eventId);
  if (!found) throw new Error(`event ${eventId} not in the activity`);
  return found;
};

const cashback = (name: string, match: Record<string, unknown>) => ({
  name,
  match,
  action: { type: 'cashback', percent_bps: 500 },
});

beforeAll(async () => {
  processor = await createTestProcessor(platform);
});

describe('GET /v1/me/activity', () => {
  it('lists an event with the action it fired, its reward, card and merchant', async () => {
    const coffee = await newApp('Coffee Rewards');
    const holder = await cardholder([coffee]);
    const [eventId] = await ingest(authorization({ pan: holder.pan, amount: 480 }));
    const triggerId = await createTrigger(coffee, cashback('Coffee 5% back', { mccs: ['5814'] }));
    const actionId = await recordFired(eventId!, triggerId, { amount: 24 });

    const page = await activity(holder);
    expect(page.has_more).toBe(false);
    expect(page.data).toEqual([
      {
        id: eventId,
        object: 'event',
        type: 'authorization',
        occurred_at: '2026-11-23T16:15:02.000Z',
        amount: 480,
        currency: 'USD',
        merchant: { name: 'BLUE BOTTLE COFFEE', mcc: '5814', city: 'Oakland', country: 'US' },
        card: { id: holder.cardId, last4: holder.pan.slice(-4), scheme: 'visa' },
        fired: [
          {
            id: actionId,
            app: { id: coffee.id, name: 'Coffee Rewards' },
            trigger: { id: triggerId, name: 'Coffee 5% back', version: 1 },
            action: 'cashback',
            reward: { amount: 24, currency: 'USD' },
            given_back: false,
          },
        ],
        not_fired: [],
      },
    ]);
    expect(JSON.stringify(page)).not.toContain(holder.pan);
  });

  it('shows points, and a redemption a reversal gave back', async () => {
    const coffee = await newApp('Coffee Rewards');
    const holder = await cardholder([coffee]);
    const [eventId] = await ingest(authorization({ pan: holder.pan }));
    const triggerId = await createTrigger(coffee, {
      name: 'Beans for coffee',
      match: { mccs: ['5814'] },
      action: { type: 'points', per_unit: 10 },
    });
    await recordFired(eventId!, triggerId, { points: 40 });
    await platform.deps.sql`update actions set given_back_at = now() where purchase_id = ${eventId!}`;

    const [fired] = (await eventIn(holder, eventId!)).fired;
    expect(fired).toMatchObject({ action: 'points', reward: { points: 40 }, given_back: true });
  });

  it('explains a trigger that named the merchant but not the amount: amount_above_max', async () => {
    const coffee = await newApp('Coffee Rewards');
    const holder = await cardholder([coffee]);
    const triggerId = await createTrigger(
      coffee,
      cashback('Small coffees', { mids: ['000123'], amount_max: 300 }),
    );
    await createTrigger(coffee, cashback('Somewhere else', { mccs: ['5411'], amount_max: 300 }));
    const [eventId] = await ingest(authorization({ pan: holder.pan, amount: 475 }));

    const event = await eventIn(holder, eventId!);
    expect(event.fired).toEqual([]);
    expect(event.not_fired).toEqual([
      {
        app: { id: coffee.id, name: 'Coffee Rewards' },
        trigger: { id: triggerId, name: 'Small coffees', version: 1 },
        reasons: ['amount_above_max'],
      },
    ]);
  });

  it('shows a recorded stamp-card miss with its progress: not_nth_purchase, 2 of 5', async () => {
    const beans = await newApp('Bean Club');
    const holder = await cardholder([beans]);
    const [eventId] = await ingest(authorization({ pan: holder.pan }));
    const triggerId = await createTrigger(
      beans,
      cashback('Fifth coffee on us', { mccs: ['5814'], nth_purchase: { n: 5, window_days: 30 } }),
    );
    await recordMiss(eventId!, triggerId, 'not_nth_purchase', [2, 5]);

    const event = await eventIn(holder, eventId!);
    expect(event.not_fired).toEqual([
      {
        app: { id: beans.id, name: 'Bean Club' },
        trigger: { id: triggerId, name: 'Fifth coffee on us', version: 1 },
        reasons: ['not_nth_purchase'],
        progress: { have: 2, need: 5 },
      },
    ]);
  });

  it('explains a trigger by the definition it had when the event arrived, not a later one', async () => {
    const coffee = await newApp('Coffee Rewards');
    const holder = await cardholder([coffee]);
    const [before] = await ingest(authorization({ pan: holder.pan, amount: 475 }));
    await createTrigger(coffee, cashback('Born later', { mccs: ['5814'], amount_max: 100 }));
    const [after] = await ingest(authorization({ pan: holder.pan, amount: 475 }));

    expect((await eventIn(holder, before!)).not_fired).toEqual([]);
    expect((await eventIn(holder, after!)).not_fired).toEqual([
      expect.objectContaining({ reasons: ['amount_above_max'] }),
    ]);
  });

  it('never lists the triggers of an app the cardholder did not connect', async () => {
    const coffee = await newApp('Coffee Rewards');
    const stranger = await newApp('Stranger Offers');
    const holder = await cardholder([coffee]);
    const unseen = await createTrigger(
      stranger,
      cashback('Stranger coffee', { mccs: ['5814'], amount_max: 1 }),
    );
    const [eventId] = await ingest(authorization({ pan: holder.pan }));
    await recordMiss(eventId!, unseen, 'budget_exhausted');

    const page = await activity(holder);
    expect(page.data.map((e) => e.id)).toEqual([eventId]);
    expect(JSON.stringify(page)).not.toContain(unseen);
    expect(JSON.stringify(page)).not.toContain(stranger.id);
  });

  it('stops explaining a revoked app’s triggers and keeps what it fired', async () => {
    const coffee = await newApp('Coffee Rewards');
    const beans = await newApp('Bean Club');
    const holder = await cardholder([coffee, beans]);
    const explained = await createTrigger(
      beans,
      cashback('Beans, small', { mccs: ['5814'], amount_max: 100 }),
    );
    const [eventId] = await ingest(authorization({ pan: holder.pan }));
    const missed = await createTrigger(beans, cashback('Beans, limited', { mccs: ['5814'] }));
    await recordMiss(eventId!, missed, 'limit_per_card_reached');
    const fired = await createTrigger(beans, cashback('Beans, fired', { mccs: ['5814'] }));
    await recordFired(eventId!, fired);

    const connected = await eventIn(holder, eventId!);
    expect(connected.not_fired.map((x: any) => [x.trigger.id, x.reasons]).sort()).toEqual(
      [
        [explained, ['amount_above_max']],
        [missed, ['limit_per_card_reached']],
      ].sort(),
    );

    const revoked = await platform.request('DELETE', `/v1/me/grants/${beans.id}`, {
      token: holder.user.token,
    });
    expect(revoked.status).toBe(204);
    const after = await eventIn(holder, eventId!);
    expect(after.not_fired).toEqual([]);
    expect(after.fired.map((x: any) => x.trigger.id)).toEqual([fired]);
  });

  it('stops explaining a disabled app’s triggers and keeps what it fired', async () => {
    const beans = await newApp('Bean Club');
    const holder = await cardholder([beans]);
    const explained = await createTrigger(
      beans,
      cashback('Beans, small', { mccs: ['5814'], amount_max: 100 }),
    );
    const [eventId] = await ingest(authorization({ pan: holder.pan }));
    const missed = await createTrigger(beans, cashback('Beans, limited', { mccs: ['5814'] }));
    await recordMiss(eventId!, missed, 'limit_per_card_reached');
    const fired = await createTrigger(beans, cashback('Beans, fired', { mccs: ['5814'] }));
    await recordFired(eventId!, fired);
    expect((await eventIn(holder, eventId!)).not_fired.map((x: any) => x.trigger.id).sort()).toEqual(
      [explained, missed].sort(),
    );

    const disabled = await platform.admin('PATCH', `/v1/apps/${beans.id}`, { body: { status: 'disabled' } });
    expect(disabled.status).toBe(200);
    const after = await eventIn(holder, eventId!);
    expect(after.not_fired).toEqual([]);
    expect(after.fired.map((x: any) => x.trigger.id)).toEqual([fired]);
  });

  it('never shows another cardholder’s events, nor pages from one', async () => {
    const coffee = await newApp('Coffee Rewards');
    const mine = await cardholder([coffee]);
    const theirs = await cardholder([coffee]);
    const [myEvent] = await ingest(authorization({ pan: mine.pan }));
    const [theirEvent] = await ingest(authorization({ pan: theirs.pan }));

    expect((await activity(mine)).data.map((e) => e.id)).toEqual([myEvent]);
    expect((await activity(theirs)).data.map((e) => e.id)).toEqual([theirEvent]);
    const foreign = await platform.request('GET', `/v1/me/activity?starting_after=${theirEvent}`, {
      token: mine.user.token,
    });
    expect(foreign.status).toBe(422);
    expect(foreign.body.errors).toEqual([{ path: 'query.starting_after', message: expect.any(String) }]);
  });

  it('lists refunds and reversals with nothing fired or explained', async () => {
    const coffee = await newApp('Coffee Rewards');
    const holder = await cardholder([coffee]);
    await createTrigger(coffee, cashback('Tiny coffees', { mccs: ['5814'], amount_max: 1 }));
    const purchase = authorization({ pan: holder.pan });
    const [authId] = await ingest(purchase);
    const [refundId] = await ingest(
      follower('refund', { pan: holder.pan, original_id: purchase.id, amount: 100 }),
    );
    const [reversalId] = await ingest(follower('reversal', { pan: holder.pan, original_id: purchase.id }));

    const page = await activity(holder);
    expect(page.data.map((e) => [e.id, e.type])).toEqual([
      [reversalId, 'reversal'],
      [refundId, 'refund'],
      [authId, 'authorization'],
    ]);
    for (const event of page.data.slice(0, 2)) {
      expect(event.fired).toEqual([]);
      expect(event.not_fired).toEqual([]);
    }
    expect(page.data[2].not_fired).toHaveLength(1);
  });

  it('pages newest first with limit and starting_after', async () => {
    const holder = await cardholder([]);
    const ids = [
      ...(await ingest(authorization({ pan: holder.pan }))),
      ...(await ingest(authorization({ pan: holder.pan }), authorization({ pan: holder.pan }))),
      ...(await ingest(authorization({ pan: holder.pan }))),
      ...(await ingest(authorization({ pan: holder.pan }))),
    ];
    const newestFirst = [...ids].reverse();

    const seen: string[] = [];
    let cursor = '';
    for (const expected of [newestFirst.slice(0, 2), newestFirst.slice(2, 4), newestFirst.slice(4)]) {
      const page = await activity(holder, `?limit=2${cursor}`);
      expect(page.data.map((e) => e.id)).toEqual(expected);
      seen.push(...expected);
      expect(page.has_more).toBe(seen.length < ids.length);
      cursor = `&starting_after=${expected.at(-1)}`;
    }

    const bad = await platform.request('GET', '/v1/me/activity?limit=0', { token: holder.user.token });
    expect(bad.status).toBe(422);
    expect(bad.body.errors.map((e: { path: string }) => e.path)).toEqual(['query.limit']);
  });

  it('refuses a request without a session: 401', async () => {
    const res = await platform.request('GET', '/v1/me/activity');
    expect(res.status).toBe(401);
    expect(res.body.code).toBe('unauthorized');
    const wrong = await platform.request('GET', '/v1/me/activity', { token: 'ses_not-a-session' });
    expect(wrong.status).toBe(401);
  });
});
