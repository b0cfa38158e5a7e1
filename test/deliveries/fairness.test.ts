// One app's stuck endpoint must not hold up other apps' deliveries: it gets its cap of the worker, no more.
import { describe, expect, it } from 'vitest';
import { usePlatform } from '../helpers/platform.ts';
import { useWebhookSink } from '../helpers/webhook-sink.ts';
import { appOnSink, deliveryRow, queueDeliveries, settled } from './support.ts';

// Four deliveries at once in all, two at most to one endpoint; the stuck endpoint would hold all four
// slots for the whole time limit without the cap.
const platform = usePlatform({
  workers: true,
  env: { DELIVERY_CONCURRENCY: '4', DELIVERY_PER_ENDPOINT_CONCURRENCY: '2', DELIVERY_TIMEOUT_MS: '25000' },
});
const sink = useWebhookSink();

describe('fairness between endpoints', () => {
  it("delivers every one of app B's webhooks while app A's endpoint hangs", async () => {
    const stuck = await appOnSink(platform, sink, 'stuck');
    const healthy = await appOnSink(platform, sink, 'healthy');
    let unstick: () => void = () => undefined;
    const hanging = new Promise<void>((resolve) => {
      unstick = resolve;
    });
    sink.answer(stuck.path, () => ({ after: hanging }));

    const stuckIds = await queueDeliveries(platform, stuck.id, 12);
    await expect.poll(() => sink.at(stuck.path).length).toBe(2);
    const healthyIds = await queueDeliveries(platform, healthy.id, 30);

    await expect.poll(() => sink.at(healthy.path).length, { timeout: 10_000 }).toBe(30);
    // B is through while A's endpoint still holds its first two: none of A's has been answered.
    expect(sink.at(stuck.path)).toHaveLength(2);
    const stuckRows = await Promise.all(stuckIds.map((id) => deliveryRow(platform, id)));
    expect(stuckRows.every((row) => row.status === 'pending' && row.attempts === 0)).toBe(true);
    for (const id of healthyIds) await settled(platform, id, 'succeeded');

    unstick();
    for (const id of stuckIds) await settled(platform, id, 'succeeded');
    const received = new Set(sink.at(stuck.path).map((r) => r.headers['webhook-id']));
    expect(received.size).toBe(12);
  });
});
