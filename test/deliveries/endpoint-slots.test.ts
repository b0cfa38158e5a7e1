// The per-endpoint cap on real Redis: shared by every process, healed by lease expiry, handed over in-process.
import { afterAll, describe, expect, it } from 'vitest';
import { createEndpointSlots, type Lease, LOCAL_WAIT_MS } from '../../src/deliveries/endpoint-slots.ts';
import { createLogger } from '../../src/logger.ts';
import { createRedis } from '../../src/redis.ts';
import { TEST_REDIS_URL, uniqueName } from '../helpers/pg.ts';

const logger = createLogger('silent');
const redis = createRedis(TEST_REDIS_URL, logger, 'queue');
const prefix = uniqueName('slots');
afterAll(async () => {
  const keys = await redis.keys(`${prefix}:*`);
  if (keys.length > 0) await redis.del(...keys);
  redis.disconnect();
});

/** A worker process's view of the slots. */
const processSlots = (leaseMs = 10_000) =>
  createEndpointSlots(redis, { prefix, perEndpoint: 2, leaseMs, logger });

describe('endpoint slots', () => {
  it('caps attempts in flight to one endpoint across processes, not across endpoints', async () => {
    const [one, two] = [processSlots(), processSlots()];
    const first = await one.acquire('app_a', 'h1');
    const second = await two.acquire('app_a', 'h2');
    expect(first).not.toBeNull();
    expect(second).not.toBeNull();
    expect(await one.acquire('app_a', 'h3')).toBeNull();
    expect(await two.acquire('app_b', 'h4')).not.toBeNull();
    two.release(second!);
    await expect.poll(() => one.acquire('app_a', 'h5')).not.toBeNull();
  });

  it("frees a crashed worker's slots when their lease expires", async () => {
    const crashed = processSlots(200);
    expect(await crashed.acquire('app_c', 'h1')).not.toBeNull();
    expect(await crashed.acquire('app_c', 'h2')).not.toBeNull();
    const survivor = processSlots();
    expect(await survivor.acquire('app_c', 'h3')).toBeNull();
    // Nothing released: only time frees them.
    await expect.poll(() => survivor.acquire('app_c', 'h4'), { timeout: 2000, interval: 50 }).not.toBeNull();
  });

  it('hands a slot given back straight to a job waiting here once the endpoint turns over quickly', async () => {
    const slots = processSlots();
    const held = [(await slots.acquire('app_d', 'h1'))!, (await slots.acquire('app_d', 'h2'))!];
    // No slot given back yet: nothing to wait for, the job goes back to delayed.
    expect(await slots.acquire('app_d', 'h3')).toBeNull();
    slots.release(held.pop()!);
    held.push((await slots.acquire('app_d', 'h4'))!);
    // Now slots come back here: a refused job waits for the next one and gets it on release.
    const waiting = slots.acquire('app_d', 'h5');
    // Replies come in order on the connection: once this one is back, the refusal has been read and the job waits.
    await redis.ping();
    slots.release(held[0]!);
    const handed = (await waiting) as Lease;
    expect(handed).toMatchObject({ appId: 'app_d' });
    // Still two in flight in Redis: the waiter took over the given-back slot.
    expect(await redis.zcard(`${prefix}:deliveries:endpoint-slots:app_d`)).toBe(2);
  });

  it("keeps a slot given back for the app's next attempt here for a moment, then gives it back", async () => {
    const slots = processSlots();
    const zcard = () => redis.zcard(`${prefix}:deliveries:endpoint-slots:app_f`);
    const first = (await slots.acquire('app_f', 'h1'))!;
    slots.release(first);
    // Reused without asking Redis: the same slot, the same entry.
    const again = (await slots.acquire('app_f', 'h2'))!;
    expect(again.member).toBe('h1');
    expect(await redis.zrange(`${prefix}:deliveries:endpoint-slots:app_f`, '0', '-1')).toEqual(['h1']);
    slots.release(again);
    await expect.poll(zcard).toBe(0);

    slots.release((await slots.acquire('app_f', 'h3'))!);
    expect(await zcard()).toBe(1);
    await slots.drain();
    expect(await zcard()).toBe(0);
  });

  it('gives up waiting after a short while when no slot comes back', async () => {
    const slots = processSlots();
    const held = [(await slots.acquire('app_e', 'h1'))!, (await slots.acquire('app_e', 'h2'))!];
    slots.release(held.pop()!);
    held.push((await slots.acquire('app_e', 'h3'))!);
    const started = Date.now();
    expect(await slots.acquire('app_e', 'h4')).toBeNull();
    expect(Date.now() - started).toBeGreaterThanOrEqual(LOCAL_WAIT_MS - 5);
  });
});
