import { DelayedError, type Job, UnrecoverableError } from 'bullmq';
import { deliver, signingKeyCache } from '../../src/deliveries/deliver.ts';
import { createEndpointSlots } from '../../src/deliveries/endpoint-slots.ts';
import { DeliveryRetry } from '../../src/deliveries/schedule.ts';
import { createWebhookSender } from '../../src/deliveries/send.ts';
import { createDeliveryStore } from '../../src/deliveries/store.ts';
import type { Deps } from '../../src/deps.ts';
import { DELIVER_JOB } from '../../src/dispatch/dispatcher.ts';
import { createRedis } from '../../src/redis.ts';
import { endpointSlotLeaseMs, SLOT_WAIT_FIRST_MS, SLOT_WAIT_MAX_MS } from './options.ts';

export interface DeliverJobData {
  deliveryId: string;
  /** Set once the job found its endpoint's slots taken, so its next try asks for a slot before anything else. */
  appId?: string;
}

/**
 * A job refused a slot waits longer each time it is refused again (starts beyond attempts are refusals), with
 * jitter, so the jobs queued behind a saturated endpoint do not spin.
 */
function slotWaitMs(job: Job): number {
  const refusals = Math.max(0, job.attemptsStarted - job.attemptsMade - 1);
  const ceiling = Math.min(SLOT_WAIT_FIRST_MS * 2 ** Math.min(refusals, 20), SLOT_WAIT_MAX_MS);
  return Math.round(ceiling * (0.5 + Math.random() / 2));
}

/**
 * The deliveries worker's processor and what it owns (keep-alive connections, signing keys): one attempt per
 * job run. A retry is a thrown `DeliveryRetry` (BullMQ waits what it says), a delivery given up an
 * `UnrecoverableError`; a job whose endpoint has no free slot goes back to delayed without using an attempt.
 */
export function deliveriesProcessor(deps: Deps) {
  const { config } = deps;
  const sender = createWebhookSender({
    allowPrivate: config.allowPrivateWebhooks,
    timeoutMs: config.deliveries.timeoutMs,
  });
  // Its own connection, pipelining the slot commands that concurrent jobs send in the same turn of the loop.
  const slotsRedis = createRedis(config.redisUrl, deps.logger, 'queue', { enableAutoPipelining: true });
  const slots = createEndpointSlots(slotsRedis, {
    prefix: config.queuePrefix,
    perEndpoint: config.deliveries.perEndpointConcurrency,
    leaseMs: endpointSlotLeaseMs(config),
    logger: deps.logger,
  });
  const deliverDeps = {
    store: createDeliveryStore(deps.sql),
    logger: deps.logger,
    sender,
    slots,
    signingKey: signingKeyCache(deps.secretBox),
    retryScheduleMs: config.deliveries.retryScheduleMs,
    disableAfterMs: config.deliveries.disableAfterMs,
  };

  const process = async (job: Job<DeliverJobData>, token?: string) => {
    if (job.name !== DELIVER_JOB) throw new UnrecoverableError(`Unknown deliveries job ${job.name}`);
    const result = await deliver(deliverDeps, {
      deliveryId: job.data.deliveryId,
      attemptIndex: job.attemptsMade,
      holder: `${job.id}:${token}`,
      appId: job.data.appId,
    });
    switch (result.outcome) {
      case 'no_slot':
        if (job.data.appId !== result.appId) await job.updateData({ ...job.data, appId: result.appId });
        await job.moveToDelayed(Date.now() + slotWaitMs(job), token);
        throw new DelayedError();
      case 'retry':
        throw new DeliveryRetry(result.reason, result.delayMs);
      case 'failed':
        throw new UnrecoverableError(result.reason);
      default:
        return result;
    }
  };
  return {
    process,
    /** After the worker closed (no attempt in flight): gives back kept slots, drops connections. */
    close: async () => {
      sender.close();
      await slots.drain();
      slotsRedis.disconnect();
    },
  };
}
