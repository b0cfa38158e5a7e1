// Fairness between apps. Open-source BullMQ has no per-group concurrency, so each app's endpoint has a
// counting semaphore in Redis: a sorted set of the attempts in flight to it, scored by when their lease
// expires. Taking a slot first drops expired leases (a worker that crashed mid-send gives its slots back by
// itself), then adds one only while fewer than the cap are in flight; both steps run as one Lua script, so
// every worker process shares the cap.
//
// A job refused a slot must not hold a worker slot for long, or a slow endpoint's backlog would fill the
// worker: it is put back as delayed (the processor's part). It waits here instead, briefly, only while this
// process is turning that endpoint's slots over quickly: then a slot given back is handed straight to the
// next waiter, so a single busy app still uses the whole worker at full speed. An endpoint that answers slowly
// gives back no slot for its waiters to take, and its jobs go back to delayed at once. A slot given back with
// no job waiting stays with this process for a few milliseconds, for the app's next job here to reuse without
// asking Redis again (with a steady stream, most attempts never do).
import type { Logger } from '../logger.ts';
import type { Redis } from '../redis.ts';

// Leases are scored by Redis's clock, so workers on hosts whose clocks disagree still agree on expiry.
const NOW = `local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)`;
const ACQUIRE = `${NOW}
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[1]) then return 0 end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1`;
// A slot handed to the next waiter keeps its place; its lease starts again.
const RENEW = `${NOW}
redis.call('ZADD', KEYS[1], 'XX', now + tonumber(ARGV[1]), ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[1])`;

/** Slots given back in the last window or two tell how fast an endpoint turns over. */
const WINDOW_MS = 100;
/** The longest a job waits here for a slot before it is put back as delayed. */
export const LOCAL_WAIT_MS = 250;
/** How long a slot given back with no job waiting is kept for the app's next job here. */
export const KEEP_IDLE_MS = 20;

/** One slot of an app's endpoint, held for one attempt at a time. */
export interface Lease {
  appId: string;
  member: string;
  /** When its lease in Redis was last started (this process's clock). */
  renewedAt: number;
}

export interface EndpointSlots {
  /** One of the app's slots for an attempt named `holder`, or null when none came free soon. */
  acquire(appId: string, holder: string): Promise<Lease | null>;
  /** Gives the slot back (to a job waiting for it here, if one is); never throws. */
  release(lease: Lease): void;
  /** Gives back the slots kept idle (before the process stops). */
  drain(): Promise<void>;
}

export interface EndpointSlotOptions {
  /** Keys live under the queue prefix, beside the queues they serve. */
  prefix: string;
  perEndpoint: number;
  /** How long a slot is held at most: longer than any attempt (its timeout and the writes around it). */
  leaseMs: number;
  logger: Logger;
}

interface Waiter {
  resolve: (lease: Lease | null) => void;
  timer: NodeJS.Timeout;
}

/** What this process knows of one endpoint: its slots in use and kept idle, jobs waiting, recent turnover. */
interface Local {
  inUse: number;
  idle: { lease: Lease; timer: NodeJS.Timeout }[];
  waiters: Waiter[];
  windowStart: number;
  released: number;
  releasedBefore: number;
}

export function createEndpointSlots(redis: Redis, options: EndpointSlotOptions): EndpointSlots {
  const key = (appId: string) => `${options.prefix}:deliveries:endpoint-slots:${appId}`;
  const locals = new Map<string, Local>();
  const report = (appId: string) => (error: unknown) =>
    options.logger.warn({ err: { message: String(error) }, app_id: appId }, 'endpoint slot not given back');

  const localOf = (appId: string): Local => {
    let local = locals.get(appId);
    if (!local) {
      local = { inUse: 0, idle: [], waiters: [], windowStart: Date.now(), released: 0, releasedBefore: 0 };
      locals.set(appId, local);
    }
    return local;
  };
  /** Slots given back here over the last one to two windows. */
  const turnover = (local: Local, now: number) => {
    const elapsed = now - local.windowStart;
    if (elapsed >= 2 * WINDOW_MS) {
      local.releasedBefore = 0;
      local.released = 0;
      local.windowStart = now;
    } else if (elapsed >= WINDOW_MS) {
      local.releasedBefore = local.released;
      local.released = 0;
      local.windowStart += WINDOW_MS;
    }
    return local.releasedBefore + local.released;
  };
  const forgetIfIdle = (appId: string, local: Local) => {
    if (local.inUse === 0 && local.idle.length === 0 && local.waiters.length === 0) locals.delete(appId);
  };
  /** A slot passing to another attempt here: its lease is started again once it has run a third. */
  const reuse = (lease: Lease): Lease => {
    const now = Date.now();
    if (now - lease.renewedAt < options.leaseMs / 3) return lease;
    redis.eval(RENEW, 1, key(lease.appId), options.leaseMs, lease.member).catch(report(lease.appId));
    return { ...lease, renewedAt: now };
  };
  const giveBack = (lease: Lease) => redis.zrem(key(lease.appId), lease.member).catch(report(lease.appId));

  return {
    async acquire(appId, holder) {
      const kept = locals.get(appId)?.idle.pop();
      if (kept) {
        clearTimeout(kept.timer);
        localOf(appId).inUse++;
        return reuse(kept.lease);
      }
      const taken = await redis.eval(ACQUIRE, 1, key(appId), options.perEndpoint, options.leaseMs, holder);
      const local = localOf(appId);
      if (taken === 1) {
        local.inUse++;
        return { appId, member: holder, renewedAt: Date.now() };
      }
      // Wait only for slots this process will hand over soon: as many waiters as it gave back lately.
      if (local.inUse === 0 || local.waiters.length >= turnover(local, Date.now())) {
        forgetIfIdle(appId, local);
        return null;
      }
      return new Promise<Lease | null>((resolve) => {
        const waiter: Waiter = {
          resolve,
          timer: setTimeout(() => {
            local.waiters.splice(local.waiters.indexOf(waiter), 1);
            forgetIfIdle(appId, local);
            resolve(null);
          }, LOCAL_WAIT_MS),
        };
        local.waiters.push(waiter);
      });
    },
    release(lease) {
      const local = localOf(lease.appId);
      turnover(local, Date.now());
      local.released++;
      const next = local.waiters.shift();
      if (next) {
        clearTimeout(next.timer);
        next.resolve(reuse(lease));
        return;
      }
      local.inUse = Math.max(0, local.inUse - 1);
      const kept = {
        lease,
        timer: setTimeout(() => {
          local.idle.splice(local.idle.indexOf(kept), 1);
          void giveBack(lease);
          forgetIfIdle(lease.appId, local);
        }, KEEP_IDLE_MS),
      };
      kept.timer.unref();
      local.idle.push(kept);
    },
    async drain() {
      const kept = [...locals.values()].flatMap((local) => local.idle.splice(0));
      for (const { timer } of kept) clearTimeout(timer);
      await Promise.all(kept.map(({ lease }) => giveBack(lease)));
    },
  };
}
