// A revocation stops everything for that app and user at once: actions already queued are cancelled at dispatch,
// nothing of them is delivered, and the app is told with `grant.revoked`.
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { type RunningWorkers, startWorkers } from '../../workers/main.ts';
import { rewardsScene } from '../actions/support.ts';
import { usePlatform } from '../helpers/platform.ts';
import { authorization } from '../ingest/fixtures.ts';
import { actionStatuses, Sink } from './support.ts';

// No workers at first: the actions wait in the queue while the user revokes.
const platform = usePlatform({ env: { DISPATCH_RELAY_GRACE_MS: '200' } });
const sink = new Sink();
let workers: RunningWorkers | undefined;

beforeAll(() => sink.listen());
afterAll(async () => {
  await workers?.close();
  await sink.close();
});

it('actions queued before a revocation are cancelled, never performed or delivered, and give back their limits; the app receives grant.revoked', async () => {
  const scene = await rewardsScene(platform, { webhookUrl: sink.url });
  sink.verifyWith(scene.app.webhook_secret);
  const cashback = await scene.createTrigger({
    name: 'Cashback',
    limits: { total_redemptions: 100, budget: { amount: 100_000, currency: 'USD' } },
    action: { type: 'cashback', percent_bps: 500 },
  });
  const counters = async () => {
    const [row] = await platform.deps.sql<{ redemptions: number; budget_spent: number }[]>`
      select redemptions::int, budget_spent::int from trigger_counters where trigger_id = ${cashback.id}`;
    return row;
  };
  await scene.createTrigger({ name: 'Receipts', action: { type: 'receipt' } });
  const holder = await scene.cardholder();
  const results = await scene.send(
    ...Array.from({ length: 5 }, (_, i) => authorization({ pan: holder.pan, amount: 1_000 + i })),
  );
  expect(results.reduce((n, r) => n + r.actions, 0)).toBe(10);
  expect(await platform.deps.queues.actions.count()).toBeGreaterThan(0);
  // 5% of 1,000 to 1,004, rounded down: 50 each.
  expect(await counters()).toEqual({ redemptions: 5, budget_spent: 250 });

  await scene.revoke(holder.userId);
  workers = await startWorkers(platform.deps);

  await vi.waitFor(
    async () => {
      expect(await actionStatuses(platform, scene.app.id)).toEqual({ cancelled: 10 });
      expect(sink.received.map((r) => JSON.parse(r.body).type)).toContain('grant.revoked');
    },
    { timeout: 15_000 },
  );
  const [effects] = await platform.deps.sql<{ rewards: number; receipts: number; entries: number }[]>`
    select (select count(*)::int from rewards where app_id = ${scene.app.id}) as rewards,
      (select count(*)::int from receipts where app_id = ${scene.app.id}) as receipts,
      (select count(*)::int from ledger_entries where app_id = ${scene.app.id}) as entries`;
  expect(effects).toEqual({ rewards: 0, receipts: 0, entries: 0 });
  // Firings never performed do not count against the trigger's limits.
  expect(await counters()).toEqual({ redemptions: 0, budget_spent: 0 });
  // Only the revocation reached the app: the consent's own grant.created was pending when it was revoked.
  await vi.waitFor(
    async () => {
      const [pending] = await platform.deps.sql<{ n: number }[]>`
      select count(*)::int as n from deliveries where app_id = ${scene.app.id} and status = 'pending'`;
      expect(pending!.n).toBe(0);
    },
    { timeout: 10_000 },
  );
  expect(sink.received.map((r) => JSON.parse(r.body).type)).toEqual(['grant.revoked']);
});
