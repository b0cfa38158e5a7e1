// Dispatch under faults, with the API (this process) and the worker as separate processes over real Postgres and
// a Redis of the test's own: a worker killed mid-run, Redis restarted mid-run (every job lost), an app endpoint
// failing for a spell. After each, every effect exists once and every webhook arrived.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { rewardsScene } from '../actions/support.ts';
import { usePlatform } from '../helpers/platform.ts';
import { type OwnRedis, startOwnRedis } from '../helpers/redis-server.ts';
import { useWorkerProcesses } from '../helpers/worker-process.ts';
import { authorization, follower } from '../ingest/fixtures.ts';
import { actionStatuses, expectSettled, Sink } from './support.ts';

let redis: OwnRedis;
beforeAll(async () => {
  redis = await startOwnRedis();
});
afterAll(async () => {
  await redis?.stop();
});

// Retries and the relay compressed from hours and seconds to tens of milliseconds.
const platform = usePlatform({
  env: () => ({
    REDIS_URL: redis.url,
    DELIVERY_RETRY_SCHEDULE: '50ms,100ms,200ms,400ms,400ms,400ms,400ms,400ms,400ms,400ms',
    DISPATCH_RELAY_INTERVAL_MS: '100',
    DISPATCH_RELAY_GRACE_MS: '500',
    DISPATCH_JOB_LOCK_MS: '1000',
  }),
});
const workers = useWorkerProcesses(platform);

const sinks: Sink[] = [];
afterAll(async () => {
  await Promise.all(sinks.map((sink) => sink.close()));
});

/**
 * An app (cashback and receipts) whose endpoint is a fresh sink, 40 cardholders, and a feed of 240 purchases in
 * waves of 20, a quarter of them cleared and one in ten reversed; `midway` runs once half the waves are in.
 */
async function runFeed(midway: (sink: Sink) => Promise<void>) {
  const sink = new Sink();
  sinks.push(sink);
  await sink.listen();
  const scene = await rewardsScene(platform, { name: `Faults ${sinks.length}`, webhookUrl: sink.url });
  sink.verifyWith((scene.app as { webhook_secret: string }).webhook_secret);
  await scene.createTrigger({ name: 'Cashback', action: { type: 'cashback', percent_bps: 500 } });
  await scene.createTrigger({ name: 'Receipts', action: { type: 'receipt' } });
  const holders = await scene.cardholders(40);
  const waves = 12;
  for (let wave = 0; wave < waves; wave++) {
    if (wave === waves / 2) await midway(sink);
    const purchases = Array.from({ length: 20 }, (_, i) => {
      const holder = holders[(wave * 20 + i) % holders.length]!;
      return authorization({ pan: holder.pan, amount: 1000 + wave * 20 + i });
    });
    await scene.send(...purchases);
    const followers = purchases.flatMap((p, i) =>
      i % 10 === 0
        ? [follower('reversal', { card: p.card, original_id: p.id, amount: p.amount })]
        : i % 4 === 1
          ? [follower('clearing', { card: p.card, original_id: p.id, amount: p.amount })]
          : [],
    );
    await scene.send(...followers);
  }
  return { scene, sink };
}

/** Waits until nothing of the app is queued or pending, then checks the end state. */
async function expectAllDone(appId: string, sink: Sink) {
  await vi.waitFor(
    async () => {
      const actions = await actionStatuses(platform, appId);
      expect(actions.queued ?? 0).toBe(0);
      const [pending] = await platform.deps.sql<{ n: number }[]>`
        select (select count(*)::int from deliveries where app_id = ${appId} and status = 'pending')
          + (select count(*)::int from purchase_changes) as n`;
      expect(pending!.n).toBe(0);
      // The relay may have enqueued again what was done meanwhile: such jobs find it done and leave.
      for (const queue of [platform.deps.queues.actions, platform.deps.queues.deliveries])
        expect(await queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized')).toEqual({
          waiting: 0,
          active: 0,
          delayed: 0,
          prioritized: 0,
        });
    },
    { timeout: 60_000, interval: 200 },
  );
  expect(sink.unverified).toBe(0);
  await expectSettled(platform, appId, sink.received);
}

describe('dispatch under faults', () => {
  it('a worker killed mid-run and started again: every effect once, every webhook delivered', async () => {
    let worker = workers.start();
    const { scene, sink } = await runFeed(async (s) => {
      // Killed while it has work in hand: wait until it has done some.
      await vi.waitFor(() => expect(s.received.length).toBeGreaterThan(10), { timeout: 30_000 });
      await worker.kill();
      worker = workers.start();
    });
    await expectAllDone(scene.app.id, sink);
    await worker.kill();
  }, 120_000);

  it('Redis restarted mid-run, losing every job: the relay finds the work in Postgres again', async () => {
    const worker = workers.start();
    const { scene, sink } = await runFeed(async (s) => {
      await vi.waitFor(() => expect(s.received.length).toBeGreaterThan(10), { timeout: 30_000 });
      await redis.restart();
    });
    await expectAllDone(scene.app.id, sink);
    await worker.kill();
  }, 120_000);

  it('an endpoint answering 500s for a spell: retried with the same webhook-id until it recovers', async () => {
    const worker = workers.start();
    const { scene, sink } = await runFeed(async (s) => {
      s.failing = true;
    });
    // The spell lasts until a few dozen attempts failed: shorter than the (compressed) retry schedule.
    await vi.waitFor(
      async () => {
        const [failed] = await platform.deps.sql<{ n: number }[]>`
          select count(*)::int as n from delivery_attempts t join deliveries d on d.id = t.delivery_id
          where d.app_id = ${scene.app.id} and t.status_code = 500`;
        expect(failed!.n).toBeGreaterThan(30);
      },
      { timeout: 30_000, interval: 100 },
    );
    sink.failing = false;
    await expectAllDone(scene.app.id, sink);
    await worker.kill();
  }, 120_000);
});
