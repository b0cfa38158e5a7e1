import type { WorkerOptions } from 'bullmq';
import type { Config } from '../../src/config.ts';
import { deliveryBackoff } from '../../src/deliveries/schedule.ts';

/** What a job that found its endpoint's slots all taken waits at first, and at most (doubling in between). */
export const SLOT_WAIT_FIRST_MS = 25;
export const SLOT_WAIT_MAX_MS = 10_000;

/** The deliveries worker: many sends at once (each mostly waits on the network), retried per the schedule. */
export const deliveriesWorkerOptions = (config: Config): Omit<WorkerOptions, 'connection'> => ({
  concurrency: config.deliveries.concurrency,
  lockDuration: config.dispatch.jobLockMs,
  stalledInterval: config.dispatch.jobLockMs,
  settings: { backoffStrategy: deliveryBackoff(config.deliveries.retryScheduleMs) },
});

/**
 * How long an endpoint slot is held at most: the attempt's timeout and room for the reads and writes around
 * it. Only a crashed worker's slots live this long.
 */
export const endpointSlotLeaseMs = (config: Config) => config.deliveries.timeoutMs * 2 + 5_000;
