import { beforeAll, describe, expect, it } from 'vitest';
import { actions, triggerCounters } from '../../src/db/schema/index.ts';
import { newId } from '../../src/lib/ids.ts';
import { usePlatform } from '../helpers/platform.ts';
import { appToken as appTokenOf, registerApp, type TestApp } from '../oauth/support.ts';

const platform = usePlatform();

let appA: TestApp;
let appB: TestApp;
let tokenA: string;
let tokenB: string;

const appToken = (app: TestApp) => appTokenOf(platform, app);

async function createTrigger(token: string, trigger: Record<string, unknown>): Promise<string> {
  const res = await platform.request('POST', '/v1/triggers', { token, body: trigger });
  if (res.status !== 201) throw new Error(`trigger: ${res.status} ${res.text}`);
  return res.body.id;
}

const stats = (token: string, id: string) => platform.request('GET', `/v1/triggers/${id}/stats`, { token });

interface Fired {
  type: 'cashback' | 'points';
  purchase?: { amount: number; currency: string };
  reward?: number;
  points?: number;
  budgetSpend?: number;
  budgetGivenBack?: number;
  /** Taken back by refunds, in minor units of the purchase (all of it: `givenBack` too). */
  refunded?: number;
  givenBack?: boolean;
}

/** Actions as the ingest transaction writes them (one per purchase that fired the trigger). */
async function fired(app: TestApp, triggerId: string, rows: Fired[]) {
  await platform.deps.db.insert(actions).values(
    rows.map((row) => {
      const purchase = row.purchase ?? { amount: 5000, currency: 'USD' };
      return {
        id: newId('act'),
        triggerId,
        triggerVersion: 1,
        appId: app.id,
        userId: newId('usr'),
        cardId: newId('crd'),
        purchaseId: newId('evt'),
        purchaseReceivedAt: new Date(),
        purchaseAmount: purchase.amount,
        purchaseCurrency: purchase.currency,
        type: row.type,
        rewardAmount: row.type === 'cashback' ? (row.reward ?? 0) : null,
        rewardCurrency: row.type === 'cashback' ? purchase.currency : null,
        points: row.type === 'points' ? (row.points ?? 0) : null,
        budgetSpend: row.budgetSpend ?? 0,
        budgetGivenBack: row.budgetGivenBack ?? 0,
        refundedAmount: row.refunded ?? 0,
        localDay: '2026-11-24',
        givenBackAt: row.givenBack ? new Date() : null,
      };
    }),
  );
}

let budgeted: string;
let points: string;
let twoCurrencies: string;
let idle: string;
let otherApps: string;
let unbudgeted: string;

beforeAll(async () => {
  appA = await registerApp(platform, {
    name: 'Coffee Club',
    scopes: ['transactions', 'cashback', 'loyalty'],
  });
  appB = await registerApp(platform, { name: 'Other App', scopes: ['transactions', 'cashback'] });
  [tokenA, tokenB] = await Promise.all([appToken(appA), appToken(appB)]);

  budgeted = await createTrigger(tokenA, {
    name: '10% back',
    match: { mccs: ['5814'] },
    limits: { total_redemptions: 5, budget: { amount: 1000, currency: 'USD' } },
    action: { type: 'cashback', percent_bps: 1000 },
  });
  points = await createTrigger(tokenA, {
    name: 'Points',
    action: { type: 'points', fixed: 10, per_unit: 1 },
  });
  twoCurrencies = await createTrigger(tokenA, {
    name: 'A euro or a dollar back',
    action: { type: 'cashback', fixed: 50 },
  });
  idle = await createTrigger(tokenA, { name: 'Never fired', action: { type: 'webhook' } });
  otherApps = await createTrigger(tokenB, { name: 'Theirs', action: { type: 'cashback', fixed: 100 } });

  await fired(appA, budgeted, [
    { type: 'cashback', reward: 100, budgetSpend: 100 },
    // Reversed: the redemption and its budget given back.
    { type: 'cashback', reward: 200, budgetSpend: 200, budgetGivenBack: 200, givenBack: true },
    // Half refunded: half its budget given back, the redemption kept.
    { type: 'cashback', reward: 300, budgetSpend: 300, budgetGivenBack: 150, refunded: 2500 },
  ]);
  await platform.deps.db
    .insert(triggerCounters)
    .values({ triggerId: budgeted, redemptions: 2, budgetSpent: 250 });
  await fired(appA, points, [
    { type: 'points', points: 15 },
    { type: 'points', points: 60 },
    { type: 'points', points: 15, givenBack: true },
  ]);
  await fired(appA, twoCurrencies, [
    { type: 'cashback', reward: 50, purchase: { amount: 400, currency: 'EUR' } },
    { type: 'cashback', reward: 50, purchase: { amount: 900, currency: 'EUR' } },
    { type: 'cashback', reward: 50, purchase: { amount: 300, currency: 'EUR' } },
    { type: 'cashback', reward: 500, purchase: { amount: 9000, currency: 'USD' } },
  ]);
  await fired(appB, otherApps, [{ type: 'cashback', reward: 100 }]);
  unbudgeted = await createTrigger(tokenA, {
    name: '10% back, no budget',
    action: { type: 'cashback', percent_bps: 1000 },
  });
  await fired(appA, unbudgeted, [
    { type: 'cashback', reward: 100 },
    { type: 'cashback', reward: 200, givenBack: true, refunded: 5000 },
    // Half refunded, with no budget to give back to: its cashback still counts whole.
    { type: 'cashback', reward: 300, refunded: 2500 },
  ]);
});

describe('GET /v1/triggers/{id}/stats', () => {
  it('tells fires, cashback less the budget share refunds gave back, redemptions and the budget left', async () => {
    const res = await stats(tokenA, budgeted);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      object: 'trigger_stats',
      trigger_id: budgeted,
      version: 1,
      status: 'active',
      fires: 2,
      given_back: 1,
      redemptions: 2,
      redemptions_left: 3,
      reward: { amount: 100 + 300 - 150, currency: 'USD' },
      reward_other_currencies: [],
      points: 0,
      budget: { amount: 1000, currency: 'USD', spent: 250, left: 750 },
    });
  });

  it('takes a partial refund off the cashback only as the budget share it gave back: none without a budget', async () => {
    const res = await stats(tokenA, unbudgeted);
    expect(res.body).toMatchObject({
      fires: 2,
      given_back: 1,
      reward: { amount: 100 + 300, currency: 'USD' },
      budget: null,
    });
  });

  it('counts points, and redemptions as fires when the trigger keeps no counter', async () => {
    const res = await stats(tokenA, points);
    expect(res.body).toMatchObject({
      fires: 2,
      given_back: 1,
      redemptions: 2,
      redemptions_left: null,
      points: 75,
      reward: { amount: 0, currency: null },
      budget: null,
    });
  });

  it('never adds cashback paid in different currencies together', async () => {
    const res = await stats(tokenA, twoCurrencies);
    expect(res.body).toMatchObject({
      fires: 4,
      reward: { amount: 150, currency: 'EUR' },
      reward_other_currencies: [{ amount: 500, currency: 'USD' }],
    });
  });

  it('answers zeros for a trigger that never fired, and stays readable once archived', async () => {
    expect((await platform.request('DELETE', `/v1/triggers/${idle}`, { token: tokenA })).status).toBe(204);
    const res = await stats(tokenA, idle);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      trigger_id: idle,
      version: 2,
      status: 'archived',
      fires: 0,
      given_back: 0,
      redemptions: 0,
      points: 0,
      reward: { amount: 0, currency: null },
      budget: null,
    });
  });

  it('treats another app’s trigger like an unknown one', async () => {
    for (const [token, id] of [
      [tokenA, otherApps],
      [tokenB, budgeted],
      [tokenA, 'trg_00000000000000000000000000'],
    ] as const) {
      const res = await stats(token, id);
      expect(res.status).toBe(404);
      expect(res.body.code).toBe('not_found');
    }
    expect((await stats(tokenB, otherApps)).body).toMatchObject({ fires: 1, reward: { amount: 100 } });
  });

  it('is in the OpenAPI document', async () => {
    const { body: doc } = await platform.request('GET', '/openapi.json');
    expect(Object.keys(doc.paths['/v1/triggers/{id}/stats'])).toEqual(['get']);
    expect(
      doc.paths['/v1/triggers/{id}/stats'].get.responses['200'].content['application/json'].schema,
    ).toEqual({ $ref: '#/components/schemas/TriggerStats' });
  });
});
