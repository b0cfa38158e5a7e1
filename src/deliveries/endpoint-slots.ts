// Fairness between apps. Open-source BullMQ has no per-group concurrency, so each app's endpoint has a
// counting semaphore in Redis: a sorted set of the deliveries in flight to it, scored by when their lease
// expires. Taking a slot first drops expired leases (a worker that crashed mid-send gives its slots back by
// itself), then adds one only while fewer than the cap are in flight; both steps run as one Lua script, so
// every worker process shares the cap. A job that finds no slot is put back as delayed and frees its worker
// slot at once: a slow or dead endpoint holds at most its cap of the worker's concurrency, never all of it.
import type { Redis } from '../redis.ts';

// Leases are scored by Redis's clock, so workers on hosts whose clocks disagree still agree on expiry.
const ACQUIRE = `
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[1]) then return 0 end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
`;

export interface EndpointSlots {
  /** Takes one of the app's slots for `holder` (unique per attempt); false when all are taken. */
  acquire(appId: string, holder: string): Promise<boolean>;
  release(appId: string, holder: string): Promise<void>;
}

export interface EndpointSlotOptions {
  /** Keys live under the queue prefix, beside the queues they serve. */
  prefix: string;
  perEndpoint: number;
  /** How long a slot is held at most: longer than any attempt (its timeout and the writes around it). */
  leaseMs: number;
}

export function createEndpointSlots(redis: Redis, options: EndpointSlotOptions): EndpointSlots {
  const key = (appId: string) => `${options.prefix}:deliveries:endpoint-slots:${appId}`;
  return {
    async acquire(appId, holder) {
      const taken = await redis.eval(ACQUIRE, 1, key(appId), options.perEndpoint, options.leaseMs, holder);
      return taken === 1;
    },
    async release(appId, holder) {
      await redis.zrem(key(appId), holder);
    },
  };
}
